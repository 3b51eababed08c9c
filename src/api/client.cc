// A minimal client for the daemon: one request per connection, TLS 1.3 pinned by certificate
// fingerprint, one deadline for the whole exchange (async operations on a private io_context).
#include <openssl/ssl.h>
#include <openssl/x509.h>

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

#include "api/api.h"

namespace aether::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

inline auto awaitableWith(boost::system::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

Result<std::string> peerFingerprint(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return fail(Errc::kPermissionDenied, "the server sent no certificate");
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  X509_free(cert);
  if (n <= 0) return fail(Errc::kCrypto, "tls: i2d_X509 failed");
  const auto digest = crypto::sha256(ByteView(der, static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return "sha256:" + hexEncode(digest);
}

template <class Stream>
asio::awaitable<Status> exchange(Stream& stream, const ApiEndpoint& ep, const HttpRequest& request, HttpResponse& out) {
  boost::system::error_code ec;
  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, ep.host);
  req.set(http::field::user_agent, "aether-cli");
  if (!request.authorization.empty()) req.set(http::field::authorization, request.authorization);
  if (!request.body.empty() || request.method == "POST") {
    req.set(http::field::content_type, request.contentType.empty() ? "application/json" : request.contentType);
    req.body() = request.body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  co_await http::async_write(stream, req, awaitableWith(ec));
  if (ec) co_return fail(Errc::kIo, "sending the request: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  co_await http::async_read(stream, buffer, parser, awaitableWith(ec));
  if (ec == http::error::body_limit) co_return fail(Errc::kLimitExceeded, "response larger than 1 MiB");
  if (ec) co_return fail(Errc::kIo, "reading the response: " + ec.message());
  const auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  if (auto it = res.find(http::field::content_type); it != res.end()) out.contentType = std::string(it->value());
  out.body = res.body();
  co_return Status{};
}

}  // namespace

Result<HttpResponse> callApi(const ApiEndpoint& ep, const HttpRequest& request) {
  if (ep.tls && ep.fingerprint.empty()) return fail(Errc::kInvalidArgument, "api client: no certificate fingerprint to pin");
  if (http::string_to_verb(request.method) == http::verb::unknown) {
    return fail(Errc::kInvalidArgument, "api client: unknown method " + request.method);
  }
  asio::io_context ioc;
  std::optional<ssl::context> sslCtx;
  if (ep.tls) {
    sslCtx.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(sslCtx->native_handle(), TLS1_3_VERSION);
    sslCtx->set_verify_mode(ssl::verify_none);  // self-signed: the pin below decides
  }
  Result<HttpResponse> result = fail(Errc::kIo, "api client: timed out after " + std::to_string(ep.timeoutMs) + " ms");
  auto task = [&]() -> asio::awaitable<void> {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(ep.host, ec);
    if (ec) {
      result = fail(Errc::kInvalidArgument, "api client: \"" + ep.host + "\" is not an IP address");
      co_return;
    }
    beast::tcp_stream tcpStream(ioc);
    tcpStream.expires_after(std::chrono::milliseconds(ep.timeoutMs));
    co_await tcpStream.async_connect(tcp::endpoint(address, ep.port), awaitableWith(ec));
    if (ec) {
      result = fail(Errc::kIo, "cannot connect to " + ep.host + ":" + std::to_string(ep.port) + ": " + ec.message() +
                                   " (is `aether daemon` running?)");
      co_return;
    }
    HttpResponse out;
    Status st;
    if (ep.tls) {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(tcpStream), *sslCtx);
      co_await stream.async_handshake(ssl::stream_base::client, awaitableWith(ec));
      if (ec) {
        result = fail(Errc::kIo, "TLS handshake: " + ec.message());
        co_return;
      }
      auto fp = peerFingerprint(stream.native_handle());
      if (!fp) {
        result = std::unexpected(std::move(fp).error());
        co_return;
      }
      if (*fp != ep.fingerprint) {
        result = fail(Errc::kPermissionDenied, "the server's certificate " + *fp + " is not the pinned " + ep.fingerprint);
        co_return;
      }
      st = co_await exchange(stream, ep, request, out);
    } else {
      st = co_await exchange(tcpStream, ep, request, out);
    }
    if (!st) {
      result = std::unexpected(std::move(st).error());
      co_return;
    }
    result = std::move(out);
  };
  asio::co_spawn(ioc, task(), asio::detached);
  try {
    ioc.run_for(std::chrono::milliseconds(ep.timeoutMs + 1000));
  } catch (const std::exception& e) {
    return fail(Errc::kInternal, std::string("api client: ") + e.what());
  }
  return result;
}

}  // namespace aether::api
