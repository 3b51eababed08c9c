// api: the node's HTTP API — the identity service (DID registry, challenge -> attest with EdDSA
// JWTs) as a socket-free request handler, and the daemon that serves it over HTTPS (Boost.Beast,
// TLS 1.3 only, one io_context thread) with a lock file, limits, metrics and clean shutdown.
// Thread-safety: IdentityService is thread-compatible (the daemon calls it from its one
// io_context thread); free functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/base.h"
#include "crypto/crypto.h"

namespace aether::api {

// ---- TLS certificate of the node ----------------------------------------------------------------

// The node's self-signed TLS certificate: <home>/tls/cert.pem and <home>/tls/key.pem (0600).
struct TlsCertificate {
  std::string certPem;
  std::string keyPem;
  // "sha256:" + lower-case hex SHA-256 of the certificate's DER bytes (what clients pin).
  std::string fingerprint;
};

// Loads <home>/tls/, creating it first if it does not exist: a P-256 key and a self-signed X.509
// v3 certificate (CN=aether node, SAN IP:127.0.0.1, IP:::1, DNS:localhost; 10 years), written
// atomically, the key with mode 0600. A half-present pair (one file only) is kMalformed and is
// never overwritten. kIo / kCrypto for filesystem and OpenSSL failures.
[[nodiscard]] Result<TlsCertificate> ensureTlsCertificate(const std::filesystem::path& home);
// Loads an existing pair (kNotFound if absent); checks the key matches the certificate.
[[nodiscard]] Result<TlsCertificate> loadTlsCertificate(const std::filesystem::path& home);

// ---- the identity service (no sockets) ---------------------------------------------------------

// Wall clock in milliseconds since the Unix epoch; tests pass a fake.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t nowMs() = 0;
};
class SystemClock final : public Clock {
 public:
  std::int64_t nowMs() override;
};

struct ServiceOptions {
  std::filesystem::path home;  // the registry lives in <home>/registry/
  std::string nodeDid;         // did:key of the node key (iss of the JWTs)
  // Published in the node's DID document (empty fingerprint: no service entry).
  std::string publicUrl = "https://127.0.0.1:8643";
  std::string tlsFingerprint;
  std::int64_t nonceTtlMs = 60'000;
  std::size_t maxNonces = 100'000;     // challenges outstanding at once (503 beyond)
  std::int64_t tokenTtlSeconds = 300;  // lifetime of the JWTs attest returns
};

// The domain-separated message a client signs to answer a challenge:
// "aether-attest-v1\n" + nonce + "\n" + did + "\n" + audience.
std::string attestMessage(std::string_view nonce, std::string_view did, std::string_view audience);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form path, possibly with a query
  std::string contentType;
  std::string body;
  std::string authorization;  // the Authorization header ("Bearer ..."), if any
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
};

// application/problem+json (RFC 9457) {type, title, status, detail}.
HttpResponse problem(int status, std::string_view detail, std::string_view slug = "");
// The HTTP status an error code maps to (kMalformed -> 400, kBadSignature -> 401, ...).
int httpStatusFor(Errc code);

class IdentityService {
 public:
  // REQUIRES: nodeKey, clock and rng outlive the service. Creates <home>/registry/ (0700).
  [[nodiscard]] static Result<std::unique_ptr<IdentityService>> create(ServiceOptions options,
                                                                      const crypto::Ed25519KeyPair& nodeKey,
                                                                      Clock& clock, crypto::Rng& rng);
  ~IdentityService();

  // Routes /v1/identity/* and /openapi.json. Never throws; bad input is a problem+json response.
  HttpResponse handle(const HttpRequest& request);
  // The route template used as a metrics label ("/v1/identity/{did}", "other", ...).
  static std::string_view routeOf(std::string_view method, std::string_view target);

  // The operations behind the routes (see docs/identity.md for the rules).
  struct Registered {
    std::string did;
    std::uint64_t version = 0;
  };
  // `document` is the DID document; `proof` a compact JWS (EdDSA) whose payload is a JSON
  // object equal to `document` and whose protected header has "kid" (a verification method
  // listed under "authentication" of the submitted document for a new DID, of the STORED
  // document for an update) and "ver" (the version this registration creates: 1, then
  // stored + 1). The registry file is replaced atomically.
  [[nodiscard]] Result<Registered> registerDocument(const nlohmann::json& document, std::string_view proof);
  // Registered documents, did:key (generated), and the node's own DID (with its TLS service).
  [[nodiscard]] Result<nlohmann::json> resolve(std::string_view did);
  struct Challenge {
    std::string nonce;  // base64url of 32 random bytes
    std::int64_t expiresAtMs = 0;
    std::string audience;
  };
  [[nodiscard]] Result<Challenge> challenge(std::string_view did, std::string_view audience);
  // Consumes the nonce (whatever the outcome) and returns a compact JWT on success.
  [[nodiscard]] Result<std::string> attest(std::string_view did, std::string_view nonce,
                                           std::string_view signatureB64url);

  nlohmann::json nodeDocument() const;
  std::size_t nonceCacheSize() const;

 private:
  struct State;
  explicit IdentityService(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The OpenAPI document (docs/openapi.yaml converted to JSON at build time).
std::string_view openApiJson();

// ---- the daemon ---------------------------------------------------------------------------------

// One daemon per node home: an flock on <home>/daemon.lock, held while the object lives.
class DaemonLock {
 public:
  // kAlreadyExists ("another aether daemon is running on <home>") when the lock is held.
  [[nodiscard]] static Result<DaemonLock> acquire(const std::filesystem::path& home);
  DaemonLock(DaemonLock&& other) noexcept;
  DaemonLock& operator=(DaemonLock&& other) noexcept;
  DaemonLock(const DaemonLock&) = delete;
  DaemonLock& operator=(const DaemonLock&) = delete;
  ~DaemonLock();

 private:
  explicit DaemonLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// An asynchronous route served by the daemon for every path starting with `prefix`.
struct DaemonExtension {
  std::string prefix;  // e.g. "/v1/p2p/"
  std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)> handler;
};

struct DaemonOptions {
  std::filesystem::path home;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8643;  // 0: an ephemeral port (reported through onListening)
  bool insecureHttp = false;  // plain HTTP; only with the explicit flag
  std::int64_t nonceTtlMs = 60'000;
  std::size_t maxNonces = 100'000;
  std::size_t maxBodyBytes = 64 * 1024;  // larger bodies: 413
  std::size_t maxHeaderBytes = 8 * 1024;
  // A request (TLS handshake, headers and body) must arrive within this time, else the
  // connection is closed (slow-loris). Also the idle keep-alive timeout.
  std::int64_t readTimeoutMs = 10'000;
  double ratePerSecond = 50;  // per client address (token bucket); 0 disables
  double rateBurst = 100;
  std::size_t maxConnections = 1024;
  // Called once the socket listens, with the base URL ("https://127.0.0.1:8643") and port.
  std::function<void(const std::string& url, std::uint16_t port)> onListening;
  // Other node services share the daemon's one event loop (the p2p overlay, src/node/p2p.h):
  // onStart runs on it before the first request (a failure stops the daemon), onStop when the
  // shutdown begins, and `extensions` serve asynchronous routes by path prefix with the same
  // limits, metrics and logs as the identity routes.
  std::function<Status(boost::asio::io_context&)> onStart;
  std::function<void()> onStop;
  std::vector<DaemonExtension> extensions;
};

// Serves the API until SIGTERM or SIGINT, then stops accepting, lets in-flight requests finish
// (at most 10 s) and returns. REQUIRES: the caller holds the DaemonLock of options.home.
[[nodiscard]] Status runDaemon(const DaemonOptions& options, const crypto::Ed25519KeyPair& nodeKey,
                               const std::string& nodeDid, const TlsCertificate& tls);

// ---- a client for the daemon (the CLI's `aether id resolve|register`) -----------------------------

struct ApiEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8643;
  bool tls = true;
  // REQUIRED when tls: the pinned certificate fingerprint ("sha256:<hex>"); the chain is not
  // verified, the fingerprint is the trust decision (made before any request byte is sent).
  std::string fingerprint;
  std::int64_t timeoutMs = 10'000;  // one deadline for the whole exchange
};

// One request over a fresh connection. kPermissionDenied when the certificate does not match
// the pin, kIo for connection failures and timeouts, kLimitExceeded for a response over 1 MiB.
// Any HTTP status is a success here: the caller reads HttpResponse::status.
[[nodiscard]] Result<HttpResponse> callApi(const ApiEndpoint& endpoint, const HttpRequest& request);

}  // namespace aether::api
