// did:web: identifier -> URL, and resolution over real HTTPS against a loopback server this test
// runs (Boost.Beast, TLS with a self-signed certificate used as the test's only trust root).
#include <gtest/gtest.h>

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>

#include "api/api.h"
#include "api/internal.h"
#include "identity/identity.h"

namespace aether::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using nlohmann::json;

fs::path makeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "aether-didweb-test-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  return fs::path(tmpl);
}

TEST(DidWebLocation, MapsTheMethodSpecificIdToAnHttpsUrl) {
  auto a = didWebLocation("did:web:w3c-ccg.github.io");
  ASSERT_TRUE(a) << a.error().toString();
  EXPECT_EQ(a->url(), "https://w3c-ccg.github.io/.well-known/did.json");
  auto b = didWebLocation("did:web:w3c-ccg.github.io:user:alice");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->url(), "https://w3c-ccg.github.io/user/alice/did.json");
  auto c = didWebLocation("did:web:Example.COM%3A3000:a");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "example.com");
  EXPECT_EQ(c->port, 3000);
  EXPECT_EQ(c->url(), "https://example.com:3000/a/did.json");
  auto d = didWebLocation("did:web:127.0.0.1%3A8443");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->url(), "https://127.0.0.1:8443/.well-known/did.json");
  EXPECT_EQ(didWebLocation("did:web:example.com%3A443")->url(), "https://example.com/.well-known/did.json");

  for (const char* bad : {"did:key:z6Mk", "did:web:", "did:web:exa_mple.com", "did:web:-a.com", "did:web:a..com",
                          "did:web:example.com%3A", "did:web:example.com%3A0", "did:web:example.com%3A65536",
                          "did:web:example.com%3Ax", "did:web:example.com:..", "did:web:example.com:.",
                          "did:web:example.com:a%2Fb", "did:web:example.com:a%3Fq", "did:web:example.com:a%23f",
                          "did:web:example.com:%2E%2E", "did:web:example.com%40evil.com", "did:web:%5B%3A%3A1%5D",
                          "did:web:example.com:a%20b", "did:web:example.com:a%00", "did:web:example.com:a%2"}) {
    auto r = didWebLocation(bad);
    EXPECT_FALSE(r) << bad << " -> " << (r ? r->url() : "");
  }
}

TEST(DidWebLocation, ResolveRouteDetection) {
  EXPECT_EQ(didWebOfResolveTarget("GET", "/v1/identity/did:web:example.com"), "did:web:example.com");
  EXPECT_EQ(didWebOfResolveTarget("HEAD", "/v1/identity/did%3Aweb%3Aexample.com?x=1"), "did:web:example.com");
  // Decoded once: did:web's own %3A travels as %253A.
  EXPECT_EQ(didWebOfResolveTarget("GET", "/v1/identity/did:web:localhost%253A8443"), "did:web:localhost%3A8443");
  EXPECT_EQ(didWebOfResolveTarget("POST", "/v1/identity/did:web:example.com"), std::nullopt);
  EXPECT_EQ(didWebOfResolveTarget("GET", "/v1/identity/did:key:z6Mk"), std::nullopt);
  EXPECT_EQ(didWebOfResolveTarget("GET", "/v1/identity/challenge"), std::nullopt);
  EXPECT_EQ(didWebOfResolveTarget("GET", "/v1/identity/did:web:a%zz"), std::nullopt);
}

// A loopback HTTPS server: fixed answers by path, the Host headers it saw.
class LoopbackHttps {
 public:
  struct Answer {
    unsigned status = 200;
    std::string body;
    std::string location;
  };

  LoopbackHttps(asio::io_context& ioc, const TlsCertificate& tls)
      : ctx_(ssl::context::tls_server), acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain(asio::buffer(tls.certPem));
    ctx_.use_private_key(asio::buffer(tls.keyPem), ssl::context::pem);
    asio::co_spawn(ioc, accept(), asio::detached);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void stop() { acceptor_.close(); }

  std::map<std::string, Answer> answers;
  std::vector<std::string> hosts;

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    boost::system::error_code ec;
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), ctx_);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // e.g. the client refused our certificate
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    hosts.emplace_back(req[http::field::host]);
    Answer a{404, "{}", ""};
    if (auto it = answers.find(std::string(req.target())); it != answers.end()) a = it->second;
    http::response<http::string_body> res{static_cast<http::status>(a.status), 11};
    res.set(http::field::content_type, "application/did+json");
    if (!a.location.empty()) res.set(http::field::location, a.location);
    res.body() = a.body;
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }

  ssl::context ctx_;
  tcp::acceptor acceptor_;
};

class DidWebResolve : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = makeTempDir();
    other_ = makeTempDir();
    auto tls = ensureTlsCertificate(home_);  // self-signed, SAN 127.0.0.1 and localhost
    ASSERT_TRUE(tls) << tls.error().toString();
    ASSERT_TRUE(ensureTlsCertificate(other_));
    server_.emplace(ioc_, *tls);
    port_ = std::to_string(server_->port());
  }
  void TearDown() override {
    server_->stop();
    fs::remove_all(home_);
    fs::remove_all(other_);
  }

  DidWebOptions trusting(const fs::path& home) {
    DidWebOptions o;
    o.caFile = home / "tls" / "cert.pem";
    o.allowPrivateAddresses = true;
    o.timeoutMs = 3000;
    return o;
  }
  Result<json> resolve(DidWebResolver& resolver, const std::string& did) {
    std::optional<Result<json>> out;
    asio::co_spawn(
        ioc_, [&resolver, &did, &out]() -> asio::awaitable<void> { out = co_await resolver.resolve(did); },
        asio::detached);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!out && std::chrono::steady_clock::now() < deadline) ioc_.run_one_for(std::chrono::milliseconds(100));
    if (!out) return fail(Errc::kInternal, "test: resolution did not finish");
    return std::move(*out);
  }
  json docFor(const std::string& did) {
    return {{"@context", json::array({"https://www.w3.org/ns/did/v1"})},
            {"id", did},
            {"verificationMethod", json::array({{{"id", did + "#k1"},
                                                  {"type", "Multikey"},
                                                  {"controller", did},
                                                  {"publicKeyMultibase",
                                                   "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}}})},
            {"authentication", json::array({"#k1"})}};
  }

  asio::io_context ioc_;
  fs::path home_;
  fs::path other_;
  std::optional<LoopbackHttps> server_;
  std::string port_;
};

TEST_F(DidWebResolve, FetchesVerifiedDocumentsByHostNameAndIpLiteral) {
  const std::string wellKnown = "did:web:localhost%3A" + port_;
  const std::string alice = "did:web:127.0.0.1%3A" + port_ + ":user:alice";
  server_->answers["/.well-known/did.json"] = {200, docFor(wellKnown).dump(), ""};
  server_->answers["/user/alice/did.json"] = {200, docFor(alice).dump(), ""};
  auto resolver = DidWebResolver::create(trusting(home_));
  ASSERT_TRUE(resolver) << resolver.error().toString();

  auto a = resolve(**resolver, wellKnown);
  ASSERT_TRUE(a) << a.error().toString();
  EXPECT_EQ(*a, docFor(wellKnown));
  auto b = resolve(**resolver, alice);
  ASSERT_TRUE(b) << b.error().toString();
  EXPECT_EQ((*b)["id"], alice);
  ASSERT_EQ(server_->hosts.size(), 2u);
  EXPECT_EQ(server_->hosts[0], "localhost:" + port_);
  EXPECT_EQ(server_->hosts[1], "127.0.0.1:" + port_);
  // The document is the resolver's product: usable for authentication like a registered one.
  auto keys = authenticationKeys(*b);
  ASSERT_TRUE(keys) << keys.error().toString();
  EXPECT_EQ(keys->size(), 1u);
}

TEST_F(DidWebResolve, RefusesWhatTheHostCannotProve) {
  const std::string base = "did:web:localhost%3A" + port_;
  server_->answers["/other/did.json"] = {200, docFor("did:web:evil.example").dump(), ""};
  server_->answers["/big/did.json"] = {200, std::string(70 * 1024, ' ') + "{}", ""};
  server_->answers["/moved/did.json"] = {301, "", "https://evil.example/did.json"};
  server_->answers["/broken/did.json"] = {200, R"({"id": "x", "id": "y"})", ""};
  server_->answers["/error/did.json"] = {500, "oops", ""};
  // A name that does not exist (RFC 6761 .invalid): notFound, not an upstream failure.
  {
    auto r = resolve(**DidWebResolver::create(trusting(home_)), "did:web:no-such-host.invalid");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kNotFound) << r.error().toString();
  }
  auto resolver = DidWebResolver::create(trusting(home_));
  ASSERT_TRUE(resolver);

  struct Case {
    std::string did;
    Errc code;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {base + ":other", Errc::kIntegrity, "has an \"id\" other than"},
           {base + ":big", Errc::kLimitExceeded, "larger than 65536 bytes"},
           {base + ":moved", Errc::kIo, "redirects are not followed"},
           {base + ":broken", Errc::kIntegrity, "duplicate"},
           {base + ":error", Errc::kIo, "answered HTTP 500"},
           {base + ":missing", Errc::kNotFound, "no document at https://localhost:" + port_ + "/missing/did.json"},
       }) {
    auto r = resolve(**resolver, c.did);
    ASSERT_FALSE(r) << c.did;
    EXPECT_EQ(r.error().code, c.code) << c.did << ": " << r.error().toString();
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
}

TEST_F(DidWebResolve, VerifiesTheCertificateAndRefusesPrivateDestinationsByDefault) {
  const std::string did = "did:web:localhost%3A" + port_;
  server_->answers["/.well-known/did.json"] = {200, docFor(did).dump(), ""};

  // Another trust root: the server's certificate does not chain to it.
  auto stranger = DidWebResolver::create(trusting(other_));
  ASSERT_TRUE(stranger);
  auto r = resolve(**stranger, did);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kAuthFailed) << r.error().toString();
  EXPECT_NE(r.error().message.find("not trusted"), std::string::npos) << r.error().message;

  // The system's trust roots (the default) do not know a self-signed certificate either.
  DidWebOptions system;
  system.allowPrivateAddresses = true;
  system.timeoutMs = 3000;
  auto sys = DidWebResolver::create(system);
  ASSERT_TRUE(sys);
  r = resolve(**sys, did);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kAuthFailed) << r.error().toString();

  // Default options: loopback is not a destination at all (nothing is sent).
  auto defaults = DidWebResolver::create(DidWebOptions{});
  ASSERT_TRUE(defaults);
  r = resolve(**defaults, did);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kPermissionDenied);
  EXPECT_NE(r.error().message.find("loopback, private or link-local"), std::string::npos) << r.error().message;
  EXPECT_TRUE(server_->hosts.empty());  // no request reached the server in any of the three
}

TEST_F(DidWebResolve, ProblemAnswers) {
  EXPECT_EQ(didWebAnswer(json{{"id", "did:web:a"}}).status, 200);
  EXPECT_EQ(didWebAnswer(json{{"id", "did:web:a"}}).contentType, "application/did+json");
  EXPECT_EQ(didWebAnswer(fail(Errc::kMalformed, "did:web domain: bad")).status, 400);
  EXPECT_EQ(didWebAnswer(fail(Errc::kIntegrity, "did:web document: duplicate")).status, 502);
  EXPECT_EQ(didWebAnswer(fail(Errc::kNotFound, "did:web: no document")).status, 404);
  EXPECT_EQ(didWebAnswer(fail(Errc::kAuthFailed, "did:web: not trusted")).status, 502);
  EXPECT_EQ(didWebAnswer(fail(Errc::kPermissionDenied, "did:web: only private addresses")).status, 403);
  EXPECT_EQ(didWebAnswer(fail(Errc::kNotFound, "did:web: cannot resolve the host")).status, 404);
  EXPECT_EQ(didWebAnswer(fail(Errc::kLimitExceeded, "too many did:web resolutions")).status, 503);
  const auto p = didWebAnswer(fail(Errc::kIo, "did:web: x answered HTTP 500"));
  EXPECT_EQ(p.status, 502);
  EXPECT_EQ(p.contentType, "application/problem+json");
  EXPECT_NE(p.body.find("Bad Gateway"), std::string::npos) << p.body;
}

TEST(DidWebRegistry, DidWebDocumentsAreNotRegistered) {
  const fs::path home = makeTempDir();
  crypto::SeededRng rng(7);
  auto nodeKey = crypto::Ed25519KeyPair::generate(rng);
  auto key = crypto::Ed25519KeyPair::generate(rng);
  ASSERT_TRUE(nodeKey && key);
  SystemClock clock;
  ServiceOptions options;
  options.home = home;
  options.nodeDid = identity::didKeyFromEd25519(nodeKey->publicKey());
  auto service = IdentityService::create(options, *nodeKey, clock, rng);
  ASSERT_TRUE(service) << service.error().toString();
  const std::string did = "did:web:example.com:alice";
  const json doc = {{"id", did},
                    {"verificationMethod", json::array({{{"id", did + "#k1"},
                                                         {"type", "Multikey"},
                                                         {"controller", did},
                                                         {"publicKeyMultibase",
                                                          identity::ed25519Multikey(key->publicKey())}}})},
                    {"authentication", json::array({"#k1"})}};
  auto proof = identity::jwsSign(*key, json{{"kid", did + "#k1"}, {"ver", 1}}, asBytes(doc.dump()));
  ASSERT_TRUE(proof);
  auto r = (*service)->registerDocument(doc, *proof);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("served by their domain"), std::string::npos) << r.error().message;
  fs::remove_all(home);
}

}  // namespace
}  // namespace aether::api
