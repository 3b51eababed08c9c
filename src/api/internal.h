// Private to src/api: pieces shared by the service, the daemon and their tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "base/base.h"
#include "crypto/crypto.h"

namespace aether::api {

// tmp file (O_EXCL, `mode`) + write + fsync + rename + fsync of the directory.
[[nodiscard]] Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, int mode);
// create_directories + chmod 0700.
[[nodiscard]] Status makePrivateDir(const std::filesystem::path& dir);

// did:<method>:<method-specific-id> (W3C DID Core syntax, no path, query or fragment), at most
// kMaxDidLength characters. kMalformed / kLimitExceeded otherwise.
inline constexpr std::size_t kMaxDidLength = 256;
[[nodiscard]] Status checkDidSyntax(std::string_view did);

// An Ed25519 key a DID document lists for authentication.
struct AuthKey {
  std::string id;  // absolute verification method id ("did:example:a#key-1")
  crypto::Ed25519PublicKey publicKey{};
};
inline constexpr std::size_t kMaxAuthKeys = 16;
// The Ed25519 keys of `document`'s "authentication" relationship: string references resolved
// against "verificationMethod" (absolute or "#fragment" relative to "id"), or embedded methods.
// A method carries its key as publicKeyMultibase (Ed25519 multikey "z6Mk...") or as an OKP
// Ed25519 publicKeyJwk. Methods of other key types are skipped. kMalformed for a document that
// is not an object, has no string "id", a reference that names no method, or a bad key;
// kLimitExceeded above kMaxAuthKeys entries; kNotFound when no Ed25519 key remains.
[[nodiscard]] Result<std::vector<AuthKey>> authenticationKeys(const nlohmann::json& document);

// Per-address token buckets. Time comes in from the caller (milliseconds, monotonic).
// Thread-compatible.
class RateLimiter {
 public:
  RateLimiter(double ratePerSecond, double burst, std::size_t maxAddresses = 10'000)
      : rate_(ratePerSecond), burst_(burst), maxAddresses_(maxAddresses) {}
  // Takes one token for `address`; false when its bucket is empty.
  bool allow(const std::string& address, std::int64_t nowMs);
  std::size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    std::int64_t lastMs;
  };
  double rate_;
  double burst_;
  std::size_t maxAddresses_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// The did:web DID of a resolve request (GET/HEAD /v1/identity/<DID percent-encoded once>), if
// it names one; the daemon resolves those over HTTPS instead of through IdentityService.
std::optional<std::string> didWebOfResolveTarget(std::string_view method, std::string_view target);
// The answer to a did:web resolve: the document (200, application/did+json) or problem+json
// (400 for a bad DID, 404, 502 when the host fails us, 503 when too many are in flight).
HttpResponse didWebAnswer(const Result<nlohmann::json>& document);

// RFC 3339 UTC with milliseconds: "2026-11-25T06:18:31.123Z".
std::string rfc3339Ms(std::int64_t unixMs);

}  // namespace aether::api
