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

// The fuzz build (clang + libc++ in C++23) cannot compile Boost.Asio 1.74 (std::result_of is
// gone) and needs only the request-facing parsers: it defines AETHER_API_NO_ASIO, which hides
// the asynchronous parts below (the did:web fetcher, the daemon's extension points).
#ifndef AETHER_API_NO_ASIO
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#endif
#include <nlohmann/json.hpp>
#include <vector>

#include "base/base.h"
#include "cap/cap.h"
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

// ---- verifiable credentials and Bearer tokens (credentials.cc, docs/identity.md) -------------------

// What a VC-JWT the node issues says: subject DID, a type (besides "VerifiableCredential") and
// the claims of credentialSubject (a JSON object without "id").
struct CredentialRequest {
  std::string subject;
  std::string type = "AetherRoleCredential";
  nlohmann::json claims = nlohmann::json::object();
  std::int64_t ttlSeconds = 30 * 24 * 3600;
};

struct VerifiedCredential {
  std::string issuer;   // iss
  std::string subject;  // sub
  std::string id;       // jti
  std::vector<std::string> types;
  nlohmann::json claims;  // credentialSubject
  std::int64_t notBefore = 0;
  std::int64_t expiresAt = 0;
};

// DID -> DID document (the service's resolve()).
using DidResolver = std::function<Result<nlohmann::json>(std::string_view did)>;

// A W3C VC (data model 1.1) as a JWT signed with EdDSA by `issuerKey` (iss = its did:key,
// kid = its verification method): {iss, sub, nbf, iat, exp, jti, vc: {@context, type,
// credentialSubject}}. kInvalidArgument for a bad subject DID, type or claims.
[[nodiscard]] Result<std::string> issueVcJwt(const crypto::Ed25519KeyPair& issuerKey, const CredentialRequest& request,
                                             std::int64_t nowSeconds, ByteView jtiBytes);
// Verifies signature (kid must be an authentication key of the issuer's resolved document),
// time bounds (60 s skew) and shape. kAuthFailed / kBadSignature / kMalformed.
[[nodiscard]] Result<VerifiedCredential> verifyVcJwt(std::string_view jwt, const DidResolver& resolve,
                                                     std::int64_t nowSeconds);

// A verified Bearer token of this node (an attest JWT).
struct BearerToken {
  std::string subject;
  std::int64_t expiresAt = 0;
  std::vector<cap::Capability> capabilities;  // from its "att" claim
};
// `authorization` is the whole header value. kAuthFailed for a missing / malformed token, a
// signature not by `nodeKey`, iss or aud other than `nodeDid`, or an expired token.
[[nodiscard]] Result<BearerToken> verifyBearer(std::string_view authorization, const crypto::Ed25519PublicKey& nodeKey,
                                               std::string_view nodeDid, std::int64_t nowSeconds);

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
  std::string allow;  // the Allow header of a 405 (RFC 9110 §15.5.6)
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
  // Consumes the nonce (whatever the outcome) and returns a compact JWT on success. The JWT's
  // "att" lists its capabilities (UCAN style {with, can}): identity.register and cred.verify on
  // "*" for everyone, plus the "scopes" of every `credentials` VC-JWT presented, which must be
  // issued by this node to `did` with type AetherRoleCredential (kAuthFailed otherwise).
  [[nodiscard]] Result<std::string> attest(std::string_view did, std::string_view nonce,
                                           std::string_view signatureB64url,
                                           const std::vector<std::string>& credentials = {});
  // The subject of a valid Bearer token whose capabilities cover `required`: kAuthFailed (401)
  // for a missing, forged, expired or wrong-audience token, kPermissionDenied (403) when it
  // lacks the capability.
  [[nodiscard]] Result<std::string> authorize(std::string_view authorization, const cap::Capability& required);
  // A VC-JWT issued by the node's key.
  [[nodiscard]] Result<std::string> issueCredential(const CredentialRequest& request);
  [[nodiscard]] Result<VerifiedCredential> verifyCredential(std::string_view jwt);

  nlohmann::json nodeDocument() const;
  std::size_t nonceCacheSize() const;

 private:
  struct State;
  explicit IdentityService(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The OpenAPI document (docs/openapi.yaml converted to JSON at build time).
std::string_view openApiJson();

// ---- did:web resolution (didweb.cc, docs/identity.md) ---------------------------------------------

// Where a did:web DID's document lives (did:web method, "Read (Resolve)"):
// did:web:example.com -> https://example.com/.well-known/did.json,
// did:web:example.com%3A8443:user:alice -> https://example.com:8443/user/alice/did.json.
struct DidWebLocation {
  std::string host;  // lower-case DNS name or IPv4 literal
  std::uint16_t port = 443;
  std::string path;  // "/.well-known/did.json" or "/<segments>/did.json"
  std::string url() const;
};
// kMalformed for a DID that is not did:web syntax, a bad port, an IPv6 or otherwise unusable
// host, an empty / "." / ".." segment or one that would change the URL's structure.
[[nodiscard]] Result<DidWebLocation> didWebLocation(std::string_view did);

struct DidWebOptions {
  // PEM trust roots to use instead of the system's (a private PKI; tests). Certificates and host
  // names are always verified: there is no option to turn that off.
  std::filesystem::path caFile;
  // Loopback, private, link-local and multicast destinations are refused unless this is set
  // (the daemon must not fetch from its own network on behalf of a remote caller).
  bool allowPrivateAddresses = false;
  std::int64_t timeoutMs = 5'000;  // one deadline: name lookup, then connect + TLS + answer
  std::size_t maxBytes = 64 * 1024;
  std::size_t maxConcurrent = 16;  // resolutions in flight at once (kLimitExceeded beyond)
};

// Fetches did:web documents over HTTPS (TLS 1.2+, no redirects, HTTP 200 only) and checks the
// document's "id" is the DID. Errors: kMalformed (the DID), kNotFound (no such host, 404/410),
// kPermissionDenied (a private destination), kAuthFailed (an untrusted certificate or host
// name), kIntegrity (a document that is not strict JSON or whose id is another DID),
// kLimitExceeded (too large, too many in flight), kIo (network, timeout, other statuses).
// Thread-compatible: use it from one io_context thread.
#ifndef AETHER_API_NO_ASIO
class DidWebResolver {
 public:
  [[nodiscard]] static Result<std::unique_ptr<DidWebResolver>> create(DidWebOptions options);
  ~DidWebResolver();
  boost::asio::awaitable<Result<nlohmann::json>> resolve(std::string did);

 private:
  struct State;
  explicit DidWebResolver(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};
#endif

// ---- settings in <home>/config.toml (config.cc) -------------------------------------------------

struct ListenAddress {
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal (brackets removed)
  std::uint16_t port = 8643;
};
// "127.0.0.1:8643", "[::1]:8643". kInvalidArgument otherwise.
[[nodiscard]] Result<ListenAddress> parseListenAddress(std::string_view text);

// The [api] table of config.toml: `listen = "ADDRESS:PORT"` (where the daemon listens and its
// local clients connect). Absent keys stay unset.
struct ApiConfig {
  std::optional<ListenAddress> listen;
};
// kMalformed (TOML syntax, wrong types, a bad address), kLimitExceeded above 64 KiB.
[[nodiscard]] Result<ApiConfig> parseApiConfig(std::string_view tomlText);
// <home>/config.toml; an absent file is an empty config. Errors name the file.
[[nodiscard]] Result<ApiConfig> readApiConfig(const std::filesystem::path& home);

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

#ifndef AETHER_API_NO_ASIO
// An asynchronous route served by the daemon for every path starting with `prefix`.
struct DaemonExtension {
  std::string prefix;  // e.g. "/v1/p2p/"
  std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)> handler;
};
#endif

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
#ifndef AETHER_API_NO_ASIO
  std::function<Status(boost::asio::io_context&)> onStart;
  std::function<void()> onStop;
  std::vector<DaemonExtension> extensions;
#endif
  // GET /v1/identity/did:web:... is resolved over HTTPS with these options.
  DidWebOptions didWeb;
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
