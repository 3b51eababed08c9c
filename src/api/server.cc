// The daemon: Boost.Beast HTTP/1.1 over TLS 1.3 (or plain HTTP when asked), one io_context
// thread owning every object below, coroutines per connection.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <map>
#include <sstream>
#include <unordered_set>

#include "api/api.h"
#include "api/internal.h"

namespace aether::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
namespace fs = std::filesystem;

// ---- lock file ---------------------------------------------------------------------------------

Result<DaemonLock> DaemonLock::acquire(const fs::path& home) {
  const fs::path path = home / "daemon.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::kIo, "cannot open " + path.string());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return fail(Errc::kAlreadyExists, "another aether daemon is running on " + home.string() + " (" + path.string() +
                                          " is locked); stop it first");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return DaemonLock(fd);
}
DaemonLock::DaemonLock(DaemonLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
DaemonLock& DaemonLock::operator=(DaemonLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}
DaemonLock::~DaemonLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

// ---- server ------------------------------------------------------------------------------------

namespace {

inline auto awaitableWith(boost::system::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// key=value log field: quoted when it holds anything but safe characters.
std::string kv(std::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./:{}@").find(c) != std::string_view::npos)) {
      plain = false;
    }
  }
  if (plain) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One per connection, owned by its coroutine frame; the server keeps a pointer while it lives.
struct Conn {
  beast::tcp_stream* tcp = nullptr;
  bool busy = false;  // between a complete request and the end of writing its response
};

class Server {
 public:
  Server(const DaemonOptions& options, IdentityService* service, std::shared_ptr<spdlog::logger> log)
      : options_(options), service_(service), log_(std::move(log)), acceptor_(ioc_), signals_(ioc_, SIGINT, SIGTERM),
        limiter_(options.ratePerSecond, options.rateBurst) {}

  asio::io_context& ioc() { return ioc_; }

  Status configureTls(const TlsCertificate& tls) {
    ssl_.emplace(ssl::context::tls_server);
    SSL_CTX* ctx = ssl_->native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 || SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
      return fail(Errc::kCrypto, "tls: cannot restrict to TLS 1.3");
    }
    boost::system::error_code ec;
    ssl_->use_certificate_chain(asio::buffer(tls.certPem), ec);
    if (!ec) ssl_->use_private_key(asio::buffer(tls.keyPem), ssl::context::pem, ec);
    if (ec) return fail(Errc::kCrypto, "tls: cannot load the node certificate: " + ec.message());
    return {};
  }

  Result<std::uint16_t> listen() {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return fail(Errc::kInvalidArgument, "--listen: \"" + options_.host + "\" is not an IP address");
    const tcp::endpoint ep(address, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return fail(Errc::kIo, "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
    }
    return acceptor_.local_endpoint().port();
  }

  void setService(IdentityService* service) { service_ = service; }
  void setDidWeb(DidWebResolver* resolver) { didWeb_ = resolver; }

  void start() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      beginShutdown(sig);
      // A second signal while draining stops at once.
      signals_.async_wait([this](const boost::system::error_code& ec2, int) {
        if (!ec2) {
          log_->warn("msg=\"second signal, stopping now\"");
          ioc_.stop();
        }
      });
    });
    asio::co_spawn(ioc_, acceptLoop(), asio::detached);
  }

 private:
  void beginShutdown(int sig) {
    if (stopping_) return;
    stopping_ = true;
    log_->info("msg=shutdown signal={} in_flight={} connections={}", sig, inFlight_, conns_.size());
    if (options_.onStop) options_.onStop();
    boost::system::error_code ec;
    acceptor_.close(ec);
    // Idle connections (waiting for a request) close now; busy ones finish their response.
    for (Conn* c : conns_) {
      if (!c->busy) c->tcp->socket().close(ec);
    }
    asio::co_spawn(ioc_, drainWatch(), asio::detached);
  }

  asio::awaitable<void> drainWatch() {
    asio::steady_timer timer(ioc_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!conns_.empty() && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(20));
      boost::system::error_code ec;
      co_await timer.async_wait(awaitableWith(ec));
    }
    if (!conns_.empty()) {
      log_->warn("msg=\"shutdown deadline reached\" connections={}", conns_.size());
    }
    ioc_.stop();  // also ends the wait for a second signal
  }

  asio::awaitable<void> acceptLoop() {
    asio::steady_timer backoff(ioc_);
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(awaitableWith(ec));
      if (stopping_) break;
      if (ec) {
        if (ec == asio::error::operation_aborted) break;
        log_->warn("msg=\"accept failed\" error={}", kv(ec.message()));
        backoff.expires_after(std::chrono::milliseconds(50));  // EMFILE and friends
        co_await backoff.async_wait(awaitableWith(ec));
        continue;
      }
      if (conns_.size() >= options_.maxConnections) {
        ++refused_;
        socket.close(ec);
        continue;
      }
      asio::co_spawn(ioc_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? "unknown" : remote.address().to_string();
    Conn conn;
    struct Registration {
      Server* s;
      Conn* c;
      ~Registration() { s->conns_.erase(c); }
    };
    if (ssl_) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_);
      conn.tcp = &beast::get_lowest_layer(stream);
      conns_.insert(&conn);
      Registration reg{this, &conn};
      conn.tcp->expires_after(std::chrono::milliseconds(options_.readTimeoutMs));
      co_await stream.async_handshake(ssl::stream_base::server, awaitableWith(ec));
      if (ec) {
        ++handshakeFailures_;
        log_->info("msg=\"tls handshake failed\" peer={} error={}", peer, kv(ec.message()));
        co_return;
      }
      const bool clean = co_await serve(stream, conn, peer);
      if (clean) {
        conn.tcp->expires_after(std::chrono::seconds(1));
        co_await stream.async_shutdown(awaitableWith(ec));
      }
      conn.tcp->socket().close(ec);
    } else {
      beast::tcp_stream stream(std::move(socket));
      conn.tcp = &stream;
      conns_.insert(&conn);
      Registration reg{this, &conn};
      co_await serve(stream, conn, peer);
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.socket().close(ec);
    }
  }

  // Returns true when the connection ended in an orderly way (worth a TLS close_notify).
  template <class Stream>
  asio::awaitable<bool> serve(Stream& stream, Conn& conn, const std::string& peer) {
    beast::flat_buffer buffer;
    for (;;) {
      conn.busy = false;
      if (stopping_) co_return true;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.maxHeaderBytes));
      parser.body_limit(options_.maxBodyBytes);
      // One deadline for the whole request: headers and body (slow-loris closes here).
      conn.tcp->expires_after(std::chrono::milliseconds(options_.readTimeoutMs));
      boost::system::error_code ec;
      co_await http::async_read(stream, buffer, parser, awaitableWith(ec));
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted || ec == ssl::error::stream_truncated) {
        co_return false;
      }
      if (ec == beast::error::timeout) {
        ++timeouts_;
        log_->info("msg=\"read timeout, closing\" peer={}", peer);
        co_return false;
      }
      conn.busy = true;
      HttpResponse response;
      std::string route = "other";
      std::string method = "-";
      bool keepAlive = false;
      const auto started = std::chrono::steady_clock::now();
      if (ec == http::error::body_limit) {
        response = problem(413, "request body larger than " + std::to_string(options_.maxBodyBytes) + " bytes",
                           "limit-exceeded");
      } else if (ec == http::error::header_limit) {
        response = problem(431, "request headers larger than " + std::to_string(options_.maxHeaderBytes) + " bytes",
                           "limit-exceeded");
      } else if (ec) {
        response = problem(400, "bad HTTP request: " + ec.message(), "malformed");
      } else {
        auto& req = parser.get();
        method = std::string(req.method_string());
        route = std::string(IdentityService::routeOf(method, std::string_view(req.target().data(), req.target().size())));
        keepAlive = req.keep_alive();
        if (!limiter_.allow(peer, steadyMs())) {
          response = problem(429, "rate limit for " + peer + " exceeded; slow down", "rate-limited");
        } else {
          ++inFlight_;
          if (const DaemonExtension* ext = extensionFor(req)) {
            HttpRequest request = toRequest(req);
            route = ext->prefix;
            response = co_await ext->handler(std::move(request));
          } else if (auto webDid = didWebOfResolveTarget(method, std::string_view(req.target().data(), req.target().size()));
                     webDid && didWeb_ != nullptr) {
            auto document = co_await didWeb_->resolve(std::move(*webDid));  // over HTTPS: not on the service
            response = didWebAnswer(document);
          } else {
            response = dispatch(req);
          }
          --inFlight_;
        }
      }
      const bool headOnly = method == "HEAD";
      ++requests_[{route, response.status}];
      http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
      res.set(http::field::server, "aether");
      res.set(http::field::content_type, response.contentType);
      res.set(http::field::cache_control, "no-store");
      res.set("X-Content-Type-Options", "nosniff");
      if (response.status == 429) res.set(http::field::retry_after, "1");
      if (!response.allow.empty()) res.set(http::field::allow, response.allow);
      keepAlive = keepAlive && !stopping_ && response.status < 500 && response.status != 413 && response.status != 431 &&
                  response.status != 400;
      res.keep_alive(keepAlive);
      res.body() = std::move(response.body);
      res.prepare_payload();
      if (headOnly) res.body().clear();
      conn.tcp->expires_after(std::chrono::milliseconds(options_.readTimeoutMs));
      co_await http::async_write(stream, res, awaitableWith(ec));
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
      log_->info("msg=request method={} route={} status={} peer={} dur_us={}", kv(method), kv(route), response.status,
                 peer, us);
      if (ec) co_return false;
      if (response.status == 413) {
        // Lingering close: the client may still be sending the body. Closing with unread data
        // makes the kernel send a RST, which can destroy the 413 before the client reads it;
        // read and drop up to 1 MiB for at most 1 s first.
        conn.tcp->expires_after(std::chrono::seconds(1));
        std::array<char, 16 * 1024> scratch;
        std::size_t drained = 0;
        while (drained < (1u << 20)) {
          const std::size_t n = co_await stream.async_read_some(asio::buffer(scratch), awaitableWith(ec));
          if (ec) break;
          drained += n;
        }
        co_return false;
      }
      if (!keepAlive) co_return true;
    }
  }

  const DaemonExtension* extensionFor(const http::request<http::string_body>& req) const {
    const std::string_view target(req.target().data(), req.target().size());
    for (const auto& e : options_.extensions) {
      if (target.starts_with(e.prefix)) return &e;
    }
    return nullptr;
  }

  static HttpRequest toRequest(const http::request<http::string_body>& req) {
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target().data(), req.target().size());
    if (auto it = req.find(http::field::content_type); it != req.end()) request.contentType = std::string(it->value());
    if (auto it = req.find(http::field::authorization); it != req.end()) request.authorization = std::string(it->value());
    request.body = req.body();
    return request;
  }

  HttpResponse dispatch(const http::request<http::string_body>& req) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if ((path == "/healthz" || path == "/metrics") && req.method() != http::verb::get && req.method() != http::verb::head) {
      HttpResponse r = problem(405, std::string(path) + " allows GET only", "method-not-allowed");
      r.allow = "GET, HEAD";
      return r;
    }
    if (path == "/healthz") {
      HttpResponse r;
      r.body = stopping_ ? R"({"status":"stopping"})" : R"({"status":"ok"})";
      return r;
    }
    if (path == "/metrics") {
      HttpResponse r;
      r.contentType = "text/plain; version=0.0.4";
      r.body = metricsText();
      return r;
    }
    HttpRequest request = toRequest(req);
    try {
      return service_->handle(request);
    } catch (const std::exception& e) {  // a third-party throw (json); never crosses the socket
      log_->error("msg=\"handler threw\" what={}", kv(e.what()));
      return problem(500, "internal error", "internal");
    }
  }

  std::string metricsText() const {
    std::ostringstream out;
    out << "# HELP aether_http_requests_total HTTP requests by route and status.\n"
        << "# TYPE aether_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      out << "aether_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << count
          << "\n";
    }
    out << "# HELP aether_http_in_flight Requests being handled.\n# TYPE aether_http_in_flight gauge\n"
        << "aether_http_in_flight " << inFlight_ << "\n"
        << "# HELP aether_http_connections Open connections.\n# TYPE aether_http_connections gauge\n"
        << "aether_http_connections " << conns_.size() << "\n"
        << "# HELP aether_http_read_timeouts_total Connections closed for a slow request.\n"
        << "# TYPE aether_http_read_timeouts_total counter\n"
        << "aether_http_read_timeouts_total " << timeouts_ << "\n"
        << "# HELP aether_tls_handshake_failures_total Failed TLS handshakes.\n"
        << "# TYPE aether_tls_handshake_failures_total counter\n"
        << "aether_tls_handshake_failures_total " << handshakeFailures_ << "\n"
        << "# HELP aether_http_connections_refused_total Connections refused at the connection limit.\n"
        << "# TYPE aether_http_connections_refused_total counter\n"
        << "aether_http_connections_refused_total " << refused_ << "\n"
        << "# HELP aether_identity_nonce_cache_size Outstanding challenge nonces.\n"
        << "# TYPE aether_identity_nonce_cache_size gauge\n"
        << "aether_identity_nonce_cache_size " << (service_ ? service_->nonceCacheSize() : 0) << "\n";
    return out.str();
  }

  const DaemonOptions& options_;
  IdentityService* service_;
  DidWebResolver* didWeb_ = nullptr;
  std::shared_ptr<spdlog::logger> log_;  // shared with spdlog's API, which takes shared_ptrs
  asio::io_context ioc_{1};
  std::optional<ssl::context> ssl_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  RateLimiter limiter_;
  bool stopping_ = false;
  std::unordered_set<Conn*> conns_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::uint64_t inFlight_ = 0;
  std::uint64_t timeouts_ = 0;
  std::uint64_t handshakeFailures_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace

Status runDaemon(const DaemonOptions& options, const crypto::Ed25519KeyPair& nodeKey, const std::string& nodeDid,
                 const TlsCertificate& tls) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::logger>("api", sink);
  log->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  log->flush_on(spdlog::level::info);

  // Before the server: coroutines its io_context still holds at destruction may point into it.
  AE_ASSIGN_OR_RETURN(auto didWeb, DidWebResolver::create(options.didWeb));
  Server server(options, nullptr, log);
  if (!options.insecureHttp) AE_TRY(server.configureTls(tls));
  AE_ASSIGN_OR_RETURN(std::uint16_t port, server.listen());
  const bool v6 = options.host.find(':') != std::string::npos;
  const std::string url = std::string(options.insecureHttp ? "http" : "https") + "://" +
                          (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(port);

  ServiceOptions so;
  so.home = options.home;
  so.nodeDid = nodeDid;
  so.publicUrl = url;
  so.tlsFingerprint = options.insecureHttp ? "" : tls.fingerprint;
  so.nonceTtlMs = options.nonceTtlMs;
  so.maxNonces = options.maxNonces;
  SystemClock clock;
  crypto::SystemRng rng;
  AE_ASSIGN_OR_RETURN(auto service, IdentityService::create(so, nodeKey, clock, rng));
  server.setService(service.get());
  server.setDidWeb(didWeb.get());
  if (options.onStart) AE_TRY(options.onStart(server.ioc()));
  server.start();
  log->info("msg=listening url={} tls={} fingerprint={}", url, options.insecureHttp ? "off" : "1.3",
            options.insecureHttp ? "-" : tls.fingerprint);
  if (options.onListening) options.onListening(url, port);
  try {
    server.ioc().run();
  } catch (const std::exception& e) {
    return fail(Errc::kInternal, std::string("daemon: ") + e.what());
  }
  log->info("msg=stopped");
  return {};
}

}  // namespace aether::api
