// The apps' HTTP client: Boost.Beast over Boost.Asio, OpenSSL for https. Synchronous for its
// caller; inside, asynchronous operations on a private io_context so that one deadline covers
// the whole exchange (Beast's synchronous calls ignore tcp_stream timeouts).
#include "node/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <optional>

#include "cap/cap.h"

namespace aether::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

bool isControlOrSpace(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }

// RFC 9110 token characters.
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Headers the client writes itself or that change how the connection is framed.
constexpr std::array<std::string_view, 11> kOwnedHeaders = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
    "trailer", "upgrade", "proxy-connection", "proxy-authorization", "expect"};

Status checkHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  if (headers.size() > 64) return fail(Errc::kLimitExceeded, "http: more than 64 request headers");
  for (const auto& [name, value] : headers) {
    if (name.empty() || name.size() > 256) return fail(Errc::kInvalidArgument, "http: bad header name length");
    for (char c : name) {
      if (!isTokenChar(c)) return fail(Errc::kInvalidArgument, "http: header name \"" + name + "\" is not a token");
    }
    const std::string n = lower(name);
    for (auto owned : kOwnedHeaders) {
      if (n == owned) return fail(Errc::kInvalidArgument, "http: the " + name + " header is set by the node, not the app");
    }
    if (value.size() > 8192) return fail(Errc::kInvalidArgument, "http: header " + name + " is longer than 8 KiB");
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return fail(Errc::kInvalidArgument, "http: header " + name + " has a control character");
      }
    }
  }
  return {};
}

Error fromBeast(const beast::error_code& ec, std::string_view what, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return Error{Errc::kIo, "http: timed out after " + std::to_string(timeout.count()) + " ms (" + std::string(what) + ")"};
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return Error{Errc::kLimitExceeded, "http: response too large (" + ec.message() + ")"};
  }
  return Error{Errc::kIo, "http: " + std::string(what) + ": " + ec.message()};
}

struct Exchange {
  const sandbox::HttpRequest& request;
  const HttpClientOptions& options;
  const HttpTarget& url;
  std::optional<Result<sandbox::HttpResponse>> result;
};

template <class Stream>
asio::awaitable<Result<sandbox::HttpResponse>> talk(Stream& stream, Exchange& x) {
  http::request<http::vector_body<std::uint8_t>> req;
  req.method_string(x.request.method);
  req.target(x.url.target);
  req.version(11);
  req.set(http::field::host, x.url.host_header);
  req.set(http::field::user_agent, x.options.user_agent);
  req.set(http::field::connection, "close");
  for (const auto& [n, v] : x.request.headers) req.insert(n, v);
  req.body() = x.request.body;
  req.prepare_payload();
  beast::error_code wec;
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, wec));
  if (wec) co_return std::unexpected(fromBeast(wec, "sending the request", x.options.timeout));
  beast::flat_buffer buffer;
  http::response_parser<http::vector_body<std::uint8_t>> parser;
  parser.body_limit(x.options.max_response_bytes);
  parser.header_limit(16 << 10);
  // A response to HEAD has no body, whatever its Content-Length says.
  if (x.request.method == "HEAD") parser.skip(true);
  beast::error_code rec;
  // Header first: Boost 1.74's parser skips the Content-Length vs body_limit check when the
  // header and the body arrive in one eager parse; a header-only parse does check it.
  co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, rec));
  if (!rec && !parser.is_done()) {
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, rec));
  }
  if (rec) co_return std::unexpected(fromBeast(rec, "reading the response", x.options.timeout));
  auto& res = parser.get();
  sandbox::HttpResponse out;
  out.status = static_cast<std::uint16_t>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  co_return out;
}

asio::awaitable<void> exchange(Exchange& x, asio::ssl::context* tls) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  beast::error_code ec;
  auto endpoints = co_await resolver.async_resolve(x.url.host, x.url.port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    x.result = std::unexpected(fromBeast(ec, "resolving " + x.url.host, x.options.timeout));
    co_return;
  }
  if (!tls) {
    beast::tcp_stream stream(ex);
    stream.expires_after(x.options.timeout);
    beast::error_code cec;
    co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, cec));
    if (cec) {
      x.result = std::unexpected(fromBeast(cec, "connecting to " + x.url.host_header, x.options.timeout));
      co_return;
    }
    x.result = co_await talk(stream, x);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(ex, *tls);
  SSL* ssl = stream.native_handle();
  boost::system::error_code addr_ec;
  const auto literal = asio::ip::make_address(x.url.host, addr_ec);
  if (addr_ec) {
    // A DNS name: send it as SNI and require the certificate to name it.
    if (SSL_set_tlsext_host_name(ssl, x.url.host.c_str()) != 1 || SSL_set1_host(ssl, x.url.host.c_str()) != 1) {
      x.result = fail(Errc::kCrypto, "http: cannot set the TLS host name " + x.url.host);
      co_return;
    }
  } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), literal.to_string().c_str()) != 1) {
    x.result = fail(Errc::kCrypto, "http: cannot set the TLS peer address " + x.url.host);
    co_return;
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  beast::get_lowest_layer(stream).expires_after(x.options.timeout);
  beast::error_code cec;
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::redirect_error(asio::use_awaitable, cec));
  if (cec) {
    x.result = std::unexpected(fromBeast(cec, "connecting to " + x.url.host_header, x.options.timeout));
    co_return;
  }
  beast::error_code hec;
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, hec));
  if (hec) {
    std::string why = hec.message();
    if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK) why = X509_verify_cert_error_string(v);
    x.result = fail(Errc::kIo, "http: TLS handshake with " + x.url.host_header + " failed: " + why);
    co_return;
  }
  x.result = co_await talk(stream, x);
  // No close_notify round trip: the response is complete by its own framing, and waiting for
  // a peer that never answers it would hold the app until the deadline.
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);
}

}  // namespace

Result<HttpTarget> parseHttpTarget(std::string_view url) {
  if (url.find('#') != std::string_view::npos) return fail(Errc::kMalformed, "http: a URL fragment is not allowed");
  const auto q = url.find('?');
  const std::string_view base = url.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : url.substr(q);
  for (char c : query) {
    if (isControlOrSpace(c) || static_cast<unsigned char>(c) >= 0x80) {
      return fail(Errc::kMalformed, "http: the URL's query has a character that must be %-escaped");
    }
  }
  // The same normal form the gate checked.
  AE_ASSIGN_OR_RETURN(std::string normal, cap::normalizeResource("http.get", base));
  HttpTarget out;
  std::string_view rest = normal;
  if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return fail(Errc::kUnsupported, "http: only http:// and https:// URLs");
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (path.ends_with("/*")) return fail(Errc::kMalformed, "http: a URL cannot end in a '*' segment");
  // Escaped separators that a server might decode into a path the gate did not check.
  for (std::string_view bad : {"%2F", "%5C", "%2f", "%5c"}) {
    if (path.find(bad) != std::string_view::npos) {
      return fail(Errc::kMalformed, "http: an escaped '/' or '\\' in a URL path is not allowed");
    }
  }
  out.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(Errc::kMalformed, "http: bad IPv6 host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return fail(Errc::kMalformed, "http: URL without a host");
  out.host = std::string(host);
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  out.target = std::string(path) + std::string(query);
  return out;
}

Result<sandbox::HttpResponse> httpFetch(const sandbox::HttpRequest& request, const HttpClientOptions& options) {
  AE_ASSIGN_OR_RETURN(HttpTarget url, parseHttpTarget(request.url));
  AE_TRY(checkHeaders(request.headers));
  for (char c : request.method) {
    if (!isTokenChar(c)) return fail(Errc::kInvalidArgument, "http: bad method");
  }
  try {
    std::optional<asio::ssl::context> tls;
    if (url.tls) {
      tls.emplace(asio::ssl::context::tls_client);
      tls->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      boost::system::error_code ec;
      if (options.ca_file.empty()) {
        tls->set_default_verify_paths(ec);
      } else {
        tls->load_verify_file(options.ca_file, ec);
      }
      if (ec) return fail(Errc::kCrypto, "http: cannot load the trusted root certificates: " + ec.message());
      tls->set_verify_mode(asio::ssl::verify_peer);
    }
    Exchange x{request, options, url, std::nullopt};  // outlives io (and the coroutine)
    asio::io_context io;
    asio::co_spawn(io, exchange(x, tls ? &*tls : nullptr), asio::detached);
    // The streams' own deadline covers connect and I/O; this one also covers name resolution.
    io.run_for(options.timeout + std::chrono::milliseconds(200));
    if (!x.result) {
      return fail(Errc::kIo, "http: timed out after " + std::to_string(options.timeout.count()) + " ms (" +
                                 url.host_header + ")");
    }
    return std::move(*x.result);
  } catch (const std::exception& e) {
    return fail(Errc::kIo, std::string("http: ") + e.what());
  }
}

}  // namespace aether::node
