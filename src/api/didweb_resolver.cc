// did:web resolution: the DID names an HTTPS URL (didweb.cc), fetched with certificate and
// host-name verification against the system's trust roots (or an explicit CA file), one
// deadline, a size cap, no redirects, and by default no private or loopback destinations (the
// daemon must not become a probe of its own network).
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "api/api.h"
#include "api/internal.h"
#include "identity/identity.h"

namespace aether::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

inline auto awaitableWith(boost::system::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Loopback, private (RFC 1918, RFC 4193), link-local, unspecified, multicast, CGNAT, IPv4-mapped
// forms of those: not a did:web destination unless the options allow it.
bool isPrivate(const asio::ip::address& a) {
  if (a.is_v6()) {
    const auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return isPrivate(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    const auto b = v6.to_bytes();
    return v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_multicast() || v6.is_site_local() ||
           (b[0] & 0xfe) == 0xfc;
  }
  const auto b = a.to_v4().to_bytes();
  return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
         (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] >= 224;
}

}  // namespace

struct DidWebResolver::State {
  DidWebOptions options;
  ssl::context ctx{ssl::context::tls_client};
  std::size_t inFlight = 0;
};

DidWebResolver::DidWebResolver(std::unique_ptr<State> state) : state_(std::move(state)) {}
DidWebResolver::~DidWebResolver() = default;

Result<std::unique_ptr<DidWebResolver>> DidWebResolver::create(DidWebOptions options) {
  auto state = std::make_unique<State>();
  SSL_CTX* ctx = state->ctx.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (options.caFile.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) return fail(Errc::kCrypto, "did:web: cannot load the system trust roots");
  } else if (SSL_CTX_load_verify_locations(ctx, options.caFile.c_str(), nullptr) != 1) {
    return fail(Errc::kIo, "did:web: cannot load trust roots from " + options.caFile.string());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  state->options = std::move(options);
  return std::unique_ptr<DidWebResolver>(new DidWebResolver(std::move(state)));
}

asio::awaitable<Result<json>> DidWebResolver::resolve(std::string did) {
  State& s = *state_;
  auto loc = didWebLocation(did);
  if (!loc) co_return fail(Errc::kMalformed, loc.error().message);  // the caller's DID: 400
  if (s.inFlight >= s.options.maxConcurrent) {
    co_return fail(Errc::kLimitExceeded, "too many did:web resolutions in flight; retry shortly");
  }
  ++s.inFlight;
  struct Release {
    std::size_t& n;
    ~Release() { --n; }
  } release{s.inFlight};
  const std::string url = loc->url();
  auto executor = co_await asio::this_coro::executor;
  boost::system::error_code ec;

  // Names -> addresses, then the private-destination rule on every address.
  tcp::resolver resolver(executor);
  asio::steady_timer guard(executor);  // the resolver has no deadline of its own
  guard.expires_after(std::chrono::milliseconds(s.options.timeoutMs));
  guard.async_wait([&resolver](const boost::system::error_code& e) {
    if (!e) resolver.cancel();
  });
  const auto results =
      co_await resolver.async_resolve(loc->host, std::to_string(loc->port), awaitableWith(ec));
  guard.cancel();
  // No such host: the DID does not resolve (DID Resolution's notFound), not a failing upstream.
  if (ec) co_return fail(Errc::kNotFound, "did:web: cannot resolve the host " + loc->host + ": " + ec.message());
  std::vector<tcp::endpoint> endpoints;
  for (const auto& r : results) {
    if (s.options.allowPrivateAddresses || !isPrivate(r.endpoint().address())) endpoints.push_back(r.endpoint());
  }
  if (endpoints.empty()) {
    co_return fail(Errc::kPermissionDenied, "did:web: " + loc->host +
                                                " has only loopback, private or link-local addresses; not fetched");
  }

  beast::ssl_stream<beast::tcp_stream> stream(executor, s.ctx);
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(s.options.timeoutMs));
  SSL* ssl = stream.native_handle();
  boost::system::error_code addrEc;
  (void)asio::ip::make_address(loc->host, addrEc);
  if (addrEc) {  // a host name: SNI and name check; an IP literal: the certificate's IP SAN
    if (SSL_set_tlsext_host_name(ssl, loc->host.c_str()) != 1 || SSL_set1_host(ssl, loc->host.c_str()) != 1) {
      co_return fail(Errc::kCrypto, "did:web: cannot set the TLS host name");
    }
  } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), loc->host.c_str()) != 1) {
    co_return fail(Errc::kCrypto, "did:web: cannot set the TLS IP address");
  }
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, awaitableWith(ec));
  if (ec) co_return fail(Errc::kIo, "did:web: cannot connect to " + url + ": " + ec.message());
  co_await stream.async_handshake(ssl::stream_base::client, awaitableWith(ec));
  if (ec) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      co_return fail(Errc::kAuthFailed, "did:web: the TLS certificate of " + loc->host + " is not trusted (" +
                                                  X509_verify_cert_error_string(verify) + ")");
    }
    co_return fail(Errc::kIo, "did:web: TLS handshake with " + loc->host + ": " + ec.message());
  }

  http::request<http::empty_body> req{http::verb::get, loc->path, 11};
  req.set(http::field::host, loc->port == 443 ? loc->host : loc->host + ":" + std::to_string(loc->port));
  req.set(http::field::user_agent, "aether-did-web");
  req.set(http::field::accept, "application/did+json, application/json");
  req.keep_alive(false);
  co_await http::async_write(stream, req, awaitableWith(ec));
  if (ec) co_return fail(Errc::kIo, "did:web: sending the request to " + url + ": " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(s.options.maxBytes);
  co_await http::async_read(stream, buffer, parser, awaitableWith(ec));
  if (ec == http::error::body_limit) {
    co_return fail(Errc::kLimitExceeded,
                   "did:web: the document at " + url + " is larger than " + std::to_string(s.options.maxBytes) + " bytes");
  }
  if (ec == beast::error::timeout) co_return fail(Errc::kIo, "did:web: " + url + " did not answer in time");
  if (ec) co_return fail(Errc::kIo, "did:web: reading the answer of " + url + ": " + ec.message());
  const auto& res = parser.get();
  // Best effort close_notify; the answer is complete either way.
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(500));
  co_await stream.async_shutdown(awaitableWith(ec));
  const unsigned status = res.result_int();
  if (status == 404 || status == 410) co_return fail(Errc::kNotFound, "did:web: no document at " + url);
  if (status >= 300 && status < 400) {
    co_return fail(Errc::kIo, "did:web: " + url + " answered HTTP " + std::to_string(status) +
                                  "; redirects are not followed");
  }
  if (status != 200) co_return fail(Errc::kIo, "did:web: " + url + " answered HTTP " + std::to_string(status));
  auto doc = identity::parseStrictJson(res.body(), 32, Errc::kMalformed, "did:web document");
  if (!doc) co_return fail(Errc::kIntegrity, doc.error().message + " (" + url + ")");
  const auto id = doc->find("id");
  if (id == doc->end() || !id->is_string() || id->get<std::string>() != did) {
    co_return fail(Errc::kIntegrity, "did:web: the document at " + url + " has an \"id\" other than " + did);
  }
  co_return std::move(*doc);
}

}  // namespace aether::api
