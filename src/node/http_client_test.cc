// The apps' HTTP client against loopback servers (plain and TLS, certificates made by the
// openssl command line tool): the request that reaches the origin, refused URLs and headers,
// the deadline, the response size limit, and certificate verification.
#include "node/http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

namespace aether::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Serves exactly one connection on 127.0.0.1 (an ephemeral port) from a thread. The handler's
// nullopt means "never answer": the server then waits until the client hangs up.
class OneShotServer {
 public:
  using Handler = std::function<std::optional<Response>(const Request&)>;

  explicit OneShotServer(Handler handler, asio::ssl::context* tls = nullptr)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), handler_(std::move(handler)), tls_(tls) {
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() { finish(); }
  // What the server received; waits for its thread (call after the client returned).
  const std::optional<Request>& seen() {
    finish();
    return seen_;
  }
  std::string origin(bool https = false) const {
    return std::string(https ? "https" : "http") + "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
 private:
  void finish() {
    if (!thread_.joinable()) return;
    // Unblocks an accept that never got a connection (a client refused before dialing).
    boost::system::error_code ec;
    { asio::ip::tcp::socket poke(io_); poke.connect(acceptor_.local_endpoint(), ec); }
    thread_.join();
  }

  template <class Stream>
  void talk(Stream& s) {
    beast::flat_buffer buf;
    Request req;
    beast::error_code ec;
    http::read(s, buf, req, ec);
    if (ec) return;
    seen_ = req;
    auto res = handler_(req);
    if (!res) {
      char c;
      while (!ec) s.read_some(asio::buffer(&c, 1), ec);  // until the client gives up
      return;
    }
    if (!res->chunked()) res->prepare_payload();
    http::response_serializer<http::string_body> sr{*res};
    if (req.method() == http::verb::head) {
      http::write_header(s, sr, ec);  // Content-Length of the GET, no body
    } else {
      http::write(s, sr, ec);
    }
  }
  void serve() {
    asio::ip::tcp::socket sock(io_);
    boost::system::error_code ec;
    acceptor_.accept(sock, ec);
    if (ec) return;
    if (tls_) {
      asio::ssl::stream<asio::ip::tcp::socket&> s(sock, *tls_);
      s.handshake(asio::ssl::stream_base::server, ec);
      if (!ec) talk(s);
    } else {
      talk(sock);
    }
    sock.close(ec);
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  Handler handler_;
  asio::ssl::context* tls_;
  std::optional<Request> seen_;
  std::thread thread_;
};

Response reply(unsigned status, std::string body) {
  Response r{static_cast<http::status>(status), 11};
  r.set("X-Served-By", "test");
  r.body() = std::move(body);
  return r;
}

sandbox::HttpRequest get(std::string url) { return sandbox::HttpRequest{"GET", std::move(url), {}, {}}; }

TEST(HttpClient, RequestReachesTheNormalizedOriginAndPathWithItsQuery) {
  OneShotServer server([](const Request&) { return reply(201, "made"); });
  sandbox::HttpRequest req{"POST", server.origin() + "/a/./b%7E/?q=1&r=%20", {{"X-App", "yes"}}, toBytes("payload")};
  auto res = httpFetch(req, {});
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(std::string(res->body.begin(), res->body.end()), "made");
  bool served_by = false;
  for (const auto& [n, v] : res->headers) served_by |= n == "X-Served-By" && v == "test";
  EXPECT_TRUE(served_by);
  ASSERT_TRUE(server.seen());
  EXPECT_EQ(server.seen()->method_string(), "POST");
  EXPECT_EQ(server.seen()->target(), "/a/b~/?q=1&r=%20");  // "." dropped, %7E is "~"; query as written
  EXPECT_EQ((*server.seen())[http::field::host], server.origin().substr(7));
  EXPECT_EQ((*server.seen())["X-App"], "yes");
  EXPECT_EQ(server.seen()->body(), "payload");
}

TEST(HttpClient, HeadResponseHasNoBody) {
  OneShotServer server([](const Request&) { return reply(200, "twelve bytes"); });
  auto res = httpFetch(sandbox::HttpRequest{"HEAD", server.origin() + "/h", {}, {}}, {});
  ASSERT_TRUE(res) << res.error().toString();  // not a wait for 12 bytes that never come
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(res->body.empty());
  bool length = false;
  for (const auto& [n, v] : res->headers) length |= n == "Content-Length" && v == "12";
  EXPECT_TRUE(length);
}

TEST(HttpClient, RefusesUrlsTheGateWouldNotCheckAsWritten) {
  for (const char* url : {"http://user@127.0.0.1:9/x", "http://127.0.0.1:9/x#frag", "ftp://127.0.0.1/x",
                          "http://127.0.0.1:9/a/../b", "http://127.0.0.1:9/a/%2e%2e/b", "http://127.0.0.1:9/a/b%2Fc",
                          "http://127.0.0.1:9/a/*", "http://127.0.0.1:99999/", "http:///x", "http://127.0.0.1:9/?a b"}) {
    auto res = httpFetch(get(url), {});
    ASSERT_FALSE(res) << url;
    EXPECT_NE(res.error().code, Errc::kIo) << url << ": " << res.error().toString();  // refused before dialing
  }
}

TEST(HttpClient, RefusesHeadersTheNodeOwns) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Host", "evil.example"}, {"content-length", "1"}, {"Transfer-Encoding", "chunked"}, {"Connection", "keep-alive"},
           {"X-Ok", "a\r\nHost: evil.example"}, {"Bad Name", "x"}, {"", "x"}}) {
    sandbox::HttpRequest req = get("http://127.0.0.1:9/");
    req.headers.emplace_back(name, value);
    auto res = httpFetch(req, {});
    ASSERT_FALSE(res) << name;
    EXPECT_EQ(res.error().code, Errc::kInvalidArgument) << name << ": " << res.error().toString();
  }
}

TEST(HttpClient, DeadlineStopsAServerThatNeverAnswers) {
  OneShotServer server([](const Request&) -> std::optional<Response> { return std::nullopt; });
  HttpClientOptions o;
  o.timeout = std::chrono::milliseconds(300);
  auto res = httpFetch(get(server.origin() + "/slow"), o);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::kIo);
  EXPECT_NE(res.error().message.find("timed out"), std::string::npos) << res.error().message;
}

TEST(HttpClient, OversizedResponseIsALimitError) {
  OneShotServer server([](const Request&) { return reply(200, std::string(5000, 'x')); });
  HttpClientOptions o;
  o.max_response_bytes = 4096;
  auto res = httpFetch(get(server.origin() + "/big"), o);
  ASSERT_FALSE(res) << res->status << " " << res->body.size();
  EXPECT_EQ(res.error().code, Errc::kLimitExceeded) << res.error().toString();
}

TEST(HttpClient, OversizedChunkedResponseIsALimitError) {
  OneShotServer server([](const Request&) {
    Response r = reply(200, std::string(5000, 'x'));
    r.chunked(true);
    return r;
  });
  HttpClientOptions o;
  o.max_response_bytes = 4096;
  auto res = httpFetch(get(server.origin() + "/big"), o);
  ASSERT_FALSE(res) << res->status << " " << res->body.size();
  EXPECT_EQ(res.error().code, Errc::kLimitExceeded) << res.error().toString();
}

TEST(HttpClient, ConnectionRefusedIsAnIoError) {
  // Bind and close a port so that (most likely) nothing listens on it.
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  auto res = httpFetch(get("http://127.0.0.1:" + std::to_string(port) + "/"), {});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, Errc::kIo);
}

// A CA and two leaf certificates made by the openssl tool: one for 127.0.0.1, one for a name.
class HttpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "aether-tls-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    const std::string d = dir_.string();
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    std::ofstream(dir_ / "ip.ext") << "subjectAltName=IP:127.0.0.1\n";
    std::ofstream(dir_ / "name.ext") << "subjectAltName=DNS:service.example\n";
    const std::string script =
        "cd '" + d + "' && (openssl req -x509" + ec + "-keyout ca.key -out ca.pem -days 2 -subj /CN=aether-test-ca"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
        " && for n in ip name; do openssl req" + ec + "-keyout $n.key -out $n.csr -subj /CN=leaf"
        " && openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $n.ext"
        " -out $n.pem || exit 1; done) > openssl.log 2>&1";
    ok_ = std::system(script.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::error_code e;
    fs::remove_all(dir_, e);
  }
  void SetUp() override {
    if (!ok_) GTEST_SKIP() << "the openssl tool could not make test certificates (see " << dir_ << "/openssl.log)";
  }
  static std::unique_ptr<asio::ssl::context> serverContext(const std::string& leaf) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file((dir_ / (leaf + ".pem")).string());
    ctx->use_private_key_file((dir_ / (leaf + ".key")).string(), asio::ssl::context::pem);
    return ctx;
  }
  static HttpClientOptions trustingTestCa() {
    HttpClientOptions o;
    o.ca_file = (dir_ / "ca.pem").string();
    o.timeout = std::chrono::milliseconds(5000);
    return o;
  }
  static inline fs::path dir_;
  static inline bool ok_ = false;
};

TEST_F(HttpsTest, VerifiedServerAnswers) {
  auto tls = serverContext("ip");
  OneShotServer server([](const Request&) { return reply(200, "secret"); }, tls.get());
  auto res = httpFetch(get(server.origin(true) + "/x?y=1"), trustingTestCa());
  ASSERT_TRUE(res) << res.error().toString();
  EXPECT_EQ(std::string(res->body.begin(), res->body.end()), "secret");
  ASSERT_TRUE(server.seen());
  EXPECT_EQ(server.seen()->target(), "/x?y=1");
}

TEST_F(HttpsTest, UnknownRootIsRefused) {
  auto tls = serverContext("ip");
  OneShotServer server([](const Request&) { return reply(200, "secret"); }, tls.get());
  HttpClientOptions o;  // the system's roots do not include the test CA
  o.timeout = std::chrono::milliseconds(5000);
  auto res = httpFetch(get(server.origin(true) + "/"), o);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("TLS handshake"), std::string::npos) << res.error().toString();
  EXPECT_FALSE(server.seen());  // no request went out
}

TEST_F(HttpsTest, CertificateForAnotherNameIsRefused) {
  auto tls = serverContext("name");
  OneShotServer server([](const Request&) { return reply(200, "secret"); }, tls.get());
  auto res = httpFetch(get(server.origin(true) + "/"), trustingTestCa());
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("TLS handshake"), std::string::npos) << res.error().toString();
  EXPECT_FALSE(server.seen());
}

}  // namespace
}  // namespace aether::node
