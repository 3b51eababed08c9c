// cap: what an app may do. A Capability is a right ("kv.write") on a resource pattern
// ("app/*"); an app's manifest (aether.toml) declares the ones it wants, a space Policy decides
// which it gets (negotiate), and the node grants them as UCAN-compatible tokens (JWT, EdDSA)
// that apps can attenuate and delegate and that a TokenVerifier checks on every host call.
// Grammar and formats: docs/capabilities.md, docs/formats/manifest.md, docs/formats/ucan.md.
// Thread-safety: value types and free functions are thread-compatible / thread-safe;
// TokenVerifier is thread-safe (one mutex guards its cache and revocation list).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "identity/identity.h"

namespace aether::cap {

// ---- capabilities ------------------------------------------------------------------------------
//
// right    = namespace "." ability  |  namespace ".*"      (lower case, from kRights below)
// resource = a pattern whose syntax depends on the namespace (ResourceKind): a literal, or a
//            literal prefix ending in "/" followed by a single "*" glob (also "*" alone for keys
//            and topics, "/*" for paths and protocols). Only the normal form is accepted.

// What the resource of a right names.
enum class ResourceKind : std::uint8_t {
  kKey,       // kv:     "app/settings", "app/*", "*"            (segments of [A-Za-z0-9._~-])
  kPath,      // fs:     "/data/notes.txt", "/data/*", "/*"      (absolute, no "." / "..")
  kUrl,       // http:   "https://api.example.org/v1/*"          (http/https, host required)
  kProtocol,  // net:    "/ipfs/ping/1.0.0", "/aether/chat/*"    (a libp2p protocol id)
  kTopic,     // pubsub: "aether/chat/lobby", "aether/chat/*"    (same syntax as kKey)
};

struct RightNamespace {
  std::string_view name;  // "kv"
  ResourceKind kind;
  std::span<const std::string_view> abilities;  // {"read", "write", ...}
};

// The known namespaces and their abilities. Adding a right is adding a word here (and its
// consent wording in negotiate.cc).
std::span<const RightNamespace> rightNamespaces();

inline constexpr std::size_t kMaxRightLength = 64;
inline constexpr std::size_t kMaxResourceLength = 2048;
inline constexpr std::size_t kMaxResourceSegments = 64;

// A validated (right, resource) pair in normal form. Ordered by (right, resource).
class Capability {
 public:
  // Errors: kMalformed (syntax: bad characters, empty or dot segments, "*" other than as the
  // final segment, a URL without scheme or host, a query / fragment / userinfo), kUnsupported
  // (unknown namespace or ability, a URL scheme other than http / https), kNonCanonical (a
  // well-formed resource not in normal form; the message names the normal form), kLimitExceeded
  // (longer than kMaxRightLength / kMaxResourceLength or more than kMaxResourceSegments).
  [[nodiscard]] static Result<Capability> parse(std::string_view right, std::string_view resource);
  // "RIGHT RESOURCE" separated by one space, e.g. "kv.write app/*" (the toString() form).
  [[nodiscard]] static Result<Capability> parse(std::string_view text);

  const std::string& right() const { return right_; }
  const std::string& resource() const { return resource_; }
  std::string_view rightNamespace() const;  // "kv"
  std::string_view ability() const;         // "write", or "*" for a namespace wildcard
  ResourceKind resourceKind() const { return kind_; }
  bool isRightWildcard() const { return ability() == "*"; }
  bool isResourceGlob() const { return !resource_.empty() && resource_.back() == '*'; }
  // The resource without its trailing "*" (the prefix every matched resource starts with).
  std::string_view resourcePrefix() const;

  std::string toString() const { return right_ + " " + resource_; }

  friend bool operator==(const Capability& a, const Capability& b) {
    return a.right_ == b.right_ && a.resource_ == b.resource_;
  }
  friend std::strong_ordering operator<=>(const Capability& a, const Capability& b) {
    if (auto c = a.right_ <=> b.right_; c != 0) return c;
    return a.resource_ <=> b.resource_;
  }

 private:
  Capability(std::string right, std::string resource, ResourceKind kind)
      : right_(std::move(right)), resource_(std::move(resource)), kind_(kind) {}
  std::string right_;
  std::string resource_;
  ResourceKind kind_;
};

// The normal form of `resource` for the namespace of `right` (lower-case URL scheme and host,
// no default port, "/" for an empty URL path, "." segments and repeated "/" removed, a trailing
// "/" dropped from paths). For host functions that receive resources from guests: normalize,
// then Capability::parse. Errors as Capability::parse except kNonCanonical.
[[nodiscard]] Result<std::string> normalizeResource(std::string_view right,
                                                    std::string_view resource);

// Attenuation: true when `granted` allows everything `requested` asks for, i.e. the right is
// equal or `granted` is the wildcard of its namespace, and the resource is equal or `granted`
// is a glob whose prefix starts `requested` (a literal never covers a glob).
bool covers(const Capability& granted, const Capability& requested);
// True when some request could be covered by both (used for deny rules).
bool overlaps(const Capability& a, const Capability& b);
// covers() by any element of `granted`.
bool coveredByAny(std::span<const Capability> granted, const Capability& requested);

// ---- UCAN capability mapping -------------------------------------------------------------------
//
// A Capability is written in a UCAN as {"with": resource URI, "can": ability}:
//   with = "<namespace>:<resource>"   ("kv:app/*", "fs:/data/*", "net:/ipfs/ping/1.0.0",
//                                      "pubsub:aether/chat/*"), except http, whose resource is
//                                      already a URI: with = "https://api.example.org/*"
//   can  = "<namespace>/<ability>"    ("kv/write", "kv/*", "http/get")

struct UcanCapability {
  std::string with;
  std::string can;
  friend bool operator==(const UcanCapability&, const UcanCapability&) = default;
};

UcanCapability toUcan(const Capability& capability);
// Exactly the encoding toUcan produces: kUnsupported for another scheme or namespace (incl.
// UCAN's "my:", "as:", "prf:" and the "*" superuser ability), kNonCanonical when the resource is
// not in normal form, plus Capability::parse's errors.
[[nodiscard]] Result<Capability> fromUcan(std::string_view with, std::string_view can);

// ---- limits ------------------------------------------------------------------------------------

// Resource limits of one app instance. Unset means "not specified here".
struct Limits {
  std::optional<std::uint64_t> memory;   // bytes of linear memory
  std::optional<std::uint64_t> fuel;     // Wasmtime fuel units per invocation
  std::optional<std::uint64_t> fsQuota;  // bytes of fs storage
  std::optional<std::uint64_t> capTtl;   // seconds a granted token stays valid
  friend bool operator==(const Limits&, const Limits&) = default;
};

// The limits an app actually runs with.
struct EffectiveLimits {
  std::uint64_t memory = 0;
  std::uint64_t fuel = 0;
  std::uint64_t fsQuota = 0;
  std::uint64_t capTtl = 0;
  friend bool operator==(const EffectiveLimits&, const EffectiveLimits&) = default;
};

// Used when neither the manifest nor the policy sets a limit.
inline constexpr EffectiveLimits kDefaultLimits{
    .memory = std::uint64_t{64} << 20, .fuel = 10'000'000'000, .fsQuota = std::uint64_t{64} << 20,
    .capTtl = 24 * 3600};
// Ceilings when the policy sets none (and the largest values a manifest may state).
inline constexpr EffectiveLimits kMaxLimits{
    .memory = std::uint64_t{4} << 30,  // the wasm32 address space
    .fuel = std::uint64_t{1} << 62, .fsQuota = std::uint64_t{1} << 50,
    .capTtl = 365 * 24 * 3600};

// ---- manifest (aether.toml) --------------------------------------------------------------------

// Semantic Versioning 2.0.0.
struct SemVer {
  std::uint64_t major = 0;
  std::uint64_t minor = 0;
  std::uint64_t patch = 0;
  std::string prerelease;  // "rc.1", without the '-'
  std::string build;       // "git.abc", without the '+'

  // Strict semver.org grammar: no leading zeros, no 'v' prefix. kMalformed otherwise.
  [[nodiscard]] static Result<SemVer> parse(std::string_view text);
  std::string toString() const;
  friend bool operator==(const SemVer&, const SemVer&) = default;
};

struct ManifestCapability {
  Capability capability;
  std::string reason;  // shown at consent; may be empty
  friend bool operator==(const ManifestCapability&, const ManifestCapability&) = default;
};

struct Manifest {
  std::string name;   // [a-z][a-z0-9-]*, at most 64
  SemVer version;
  std::string entry;  // relative path of the Wasm module in the package, ending in ".wasm"
  std::vector<ManifestCapability> capabilities;
  Limits limits;
  std::string license;     // SPDX license expression ("MIT", "Apache-2.0 OR MIT"); may be empty
  nlohmann::json pricing;  // the [pricing] table as JSON (null when absent), uninterpreted

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

inline constexpr std::size_t kMaxManifestBytes = 256 * 1024;
inline constexpr std::size_t kMaxManifestCapabilities = 256;
inline constexpr std::size_t kMaxReasonLength = 512;

// Parses aether.toml (docs/formats/manifest.md). Every error message starts with
// "line L, column C: " naming where in the text the problem is (see errorLocation): TOML syntax
// errors, unknown keys (kMalformed), values of the wrong type (kMalformed), bad capabilities
// (Capability::parse's codes), bad semver / name / entry / license / limits (kMalformed,
// kOverflow for numbers out of range), duplicate capabilities (kAlreadyExists), too many
// capabilities or a text above kMaxManifestBytes (kLimitExceeded; line 1, column 1).
[[nodiscard]] Result<Manifest> parseManifest(std::string_view tomlText);
// The canonical aether.toml for `manifest`: parseManifest(toToml(m)) == m.
std::string toToml(const Manifest& manifest);

struct SourceLocation {
  std::uint32_t line = 0;  // 1-based
  std::uint32_t column = 0;
  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};
// The location at the start of a parseManifest / parsePolicy error message, if it has one.
std::optional<SourceLocation> errorLocation(const Error& error);

// ---- policy and negotiation ---------------------------------------------------------------------

struct PolicyRule {
  Capability capability;
  std::string reason;
  friend bool operator==(const PolicyRule&, const PolicyRule&) = default;
};

// What a space lets apps have. A request is approved when an allow rule covers it and no deny
// rule overlaps it (deny wins); limits above a ceiling are refused.
struct Policy {
  std::vector<PolicyRule> allow;
  std::vector<PolicyRule> deny;
  Limits ceilings;  // [limits]: the most an app may ask for (unset: kMaxLimits)
  Limits defaults;  // [defaults]: what an app gets when its manifest is silent (unset: kDefaultLimits)
  friend bool operator==(const Policy&, const Policy&) = default;
};

inline constexpr std::size_t kMaxPolicyBytes = 1024 * 1024;
inline constexpr std::size_t kMaxPolicyRules = 4096;

// Parses a policy file (docs/capabilities.md#policy-files). Errors as parseManifest, with
// "line L, column C: " prefixes; a default above its ceiling is kInvalidArgument.
[[nodiscard]] Result<Policy> parsePolicy(std::string_view tomlText);
std::string toToml(const Policy& policy);

struct Grant {
  Capability capability;
  std::string reason;  // from the manifest entry that declared it
  friend bool operator==(const Grant&, const Grant&) = default;
};

struct Approval {
  std::vector<Grant> grants;  // sorted, without duplicates
  EffectiveLimits limits;
  std::vector<Capability> capabilities() const;
};

struct Refusal {
  enum class Kind : std::uint8_t {
    kNotDeclared,        // requested but not covered by the manifest
    kDenied,             // a deny rule overlaps it
    kNotAllowed,         // no allow rule covers it
    kLimitAboveCeiling,  // a manifest limit above the policy ceiling
  };
  Kind kind;
  std::optional<Capability> capability;  // for the capability kinds
  std::string limit;                     // for kLimitAboveCeiling: "memory", "fuel", "fs_quota", "cap_ttl"
  std::string why;                       // human text (includes the rule's reason if any)
};

struct Denial {
  std::vector<Refusal> refusals;  // never empty
  // One line per refusal.
  std::string describe() const;
  // kPermissionDenied with describe() as the message.
  Error toError() const;
};

// Decides what an app gets: each requested capability must be covered by the manifest's
// declarations and by the policy; limits come from the manifest, else the policy defaults, else
// kDefaultLimits (defaults are clamped to the ceilings; manifest values above them are refused).
// Anything refused means nothing is granted: the Denial lists every refusal.
std::expected<Approval, Denial> negotiate(const Manifest& manifest,
                                          std::span<const Capability> requested,
                                          const Policy& policy);
// Requests everything the manifest declares.
std::expected<Approval, Denial> negotiate(const Manifest& manifest, const Policy& policy);

// The consent text for a TTY: what the app will be able to do, in words, with the raw
// capability and the manifest's reason, then its limits. Control and bidi-override characters
// from the manifest are escaped, so a manifest cannot restyle the terminal or reorder the text.
std::string describeConsent(const Manifest& manifest, const Approval& approval);

// ---- clock -------------------------------------------------------------------------------------

// Seconds since the Unix epoch. Injected wherever time matters, so tests control it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

// ---- UCAN tokens -------------------------------------------------------------------------------
//
// The JWT form of UCAN as @ucans/ucans 0.12 (ts-ucan) writes and validates it — UCAN spec 0.8.1:
// header {"alg":"EdDSA","typ":"JWT","ucv":"0.8.1"}, payload {iss, aud, att: [{with, can}], exp,
// nbf?, nnc?, fct?, prf: [parent tokens, inline]}. Details: docs/formats/ucan.md.

inline constexpr std::string_view kUcanVersion = "0.8.1";
inline constexpr std::size_t kMaxUcanBytes = 256 * 1024;
inline constexpr std::size_t kMaxUcanCapabilities = 64;
inline constexpr std::size_t kMaxUcanProofs = 8;
// Tokens in a chain, the leaf included (root + 7 delegations).
inline constexpr std::size_t kMaxProofDepth = 8;
// Tokens one verification may look at (all proofs of all links).
inline constexpr std::size_t kMaxChainTokens = 32;
inline constexpr std::size_t kMaxUcanJsonDepth = 16;
// JSON numbers must stay exact in JavaScript.
inline constexpr std::int64_t kMaxUcanTime = (std::int64_t{1} << 53) - 1;

// One parsed (not verified) token.
struct Ucan {
  identity::Jws jws;               // header, payload bytes, signature, signing input
  std::string version;             // header "ucv"
  identity::DidKey issuer;         // "iss"
  std::string audience;            // "aud" (a did:key)
  std::vector<Capability> capabilities;  // "att"
  std::int64_t expiresAt = 0;      // "exp": valid while now < exp
  std::optional<std::int64_t> notBefore;  // "nbf": valid from nbf on
  std::optional<std::string> nonce;       // "nnc"
  nlohmann::json facts;            // "fct" (an array of objects) or null
  std::vector<std::string> proofs;  // "prf": encoded parent tokens

  std::string encoded() const { return jws.compact(); }
  // The token's content id: CIDv1, raw codec, sha2-256 of the token's ASCII bytes.
  codec::Cid cid() const;
  bool activeAt(std::int64_t now) const {
    return now < expiresAt && (!notBefore || *notBefore <= now);
  }
};

// Parses one token (its proofs stay encoded). Errors: everything jwsParse reports, kLimitExceeded
// (above kMaxUcanBytes, more than kMaxUcanCapabilities / kMaxUcanProofs, JSON nested deeper
// than kMaxUcanJsonDepth), kMalformed (payload not a JSON object, duplicate or unknown members,
// a missing or mistyped field, a header other than {alg, typ:"JWT", ucv}), kUnsupported (ucv not
// 0.8.x, an iss that is not an Ed25519 did:key, a capability outside our mapping), kOverflow
// (exp / nbf not in [0, kMaxUcanTime]), plus parseDidKey's and fromUcan's codes.
[[nodiscard]] Result<Ucan> parseUcan(std::string_view token);
// The CID of an encoded token, without parsing it.
codec::Cid ucanCid(std::string_view token);

struct TokenOptions {
  std::int64_t expiresAt = 0;             // REQUIRED: > notBefore, <= kMaxUcanTime
  std::optional<std::int64_t> notBefore = std::nullopt;  // omitted when unset (docs/formats/ucan.md)
  nlohmann::json facts = nullptr;                        // null or an array of objects
  bool addNonce = true;                   // 16 base64url characters from the Rng
};

// A root token: `issuer` (the node key) grants `capabilities` to `audience` (an app's did:key).
// kInvalidArgument for an empty capability list, more than kMaxUcanCapabilities, a bad audience,
// bad times or facts.
[[nodiscard]] Result<std::string> mintToken(const crypto::Ed25519KeyPair& issuer,
                                            std::string_view audience,
                                            std::span<const Capability> capabilities,
                                            const TokenOptions& options, crypto::Rng& rng);

// Delegation: the holder of `parent` (its audience, signing with `holder`) passes `subset` on to
// `audience`, with `parent` as the only proof. Only attenuates: kPermissionDenied unless `holder`
// is the parent's audience, every capability of `subset` is covered by one of the parent's,
// expiresAt <= the parent's exp and notBefore >= the parent's nbf (an unset notBefore takes the
// parent's). kLimitExceeded when the chain would exceed kMaxProofDepth. Does not verify the
// parent's signatures: TokenVerifier does that for the whole chain.
[[nodiscard]] Result<std::string> delegateToken(std::string_view parent,
                                                const crypto::Ed25519KeyPair& holder,
                                                std::string_view audience,
                                                std::span<const Capability> subset,
                                                const TokenOptions& options, crypto::Rng& rng);

// Checks one token's signature; injectable so tests can count verifications.
class SignatureVerifier {
 public:
  virtual ~SignatureVerifier() = default;
  // kBadSignature when the signature does not verify under `key`.
  virtual Status verify(const identity::Jws& jws, const crypto::Ed25519PublicKey& key) const = 0;
};

// identity::jwsVerify (libsodium, strict).
class Ed25519SignatureVerifier final : public SignatureVerifier {
 public:
  Status verify(const identity::Jws& jws, const crypto::Ed25519PublicKey& key) const override;
};

// Revoked tokens: by CID (that token) or by (issuer DID, nonce) (every token that issuer signed
// with that nonce). A revoked token invalidates every token that has it in its proof chain.
class RevocationList {
 public:
  void revokeCid(const codec::Cid& cid);
  void revokeNonce(std::string_view issuerDid, std::string_view nonce);
  bool isRevoked(const Ucan& token) const;
  bool isRevokedCid(const codec::Cid& cid) const;
  std::size_t size() const { return cids_.size() + nonces_.size(); }

 private:
  friend class TokenVerifier;
  std::unordered_set<std::string> cids_;    // CID text (base32)
  std::unordered_set<std::string> nonces_;  // issuer + '\n' + nonce
};

// Why a verification failed, from the stable first word of the error message.
enum class TokenFault : std::uint8_t {
  kInvalid,        // parse error or bad signature (the error code says which)
  kExpired,        // "expired: ..."
  kNotYetValid,    // "not-yet-valid: ..."
  kRevoked,        // "revoked: ..."
  kUntrustedRoot,  // "untrusted-root: ..."
  kBrokenChain,    // "broken-chain: ..." (a proof's aud is not the child's iss, time bounds)
  kAttenuation,    // "attenuation: ..." (a capability not covered by the proofs)
  kWrongAudience,  // "wrong-audience: ..."
  kNotGranted,     // "not-granted: ..." (the token does not cover the requested capability)
  kTooDeep,        // "too-deep: ..." (kMaxProofDepth or kMaxChainTokens exceeded)
};
TokenFault tokenFault(const Error& error);

// What a full verification proved about a token.
struct VerifiedToken {
  std::string audience;                  // who may use it (the leaf's aud)
  std::string rootIssuer;                // the trusted DID the chain starts from
  std::vector<Capability> capabilities;  // the leaf's, all proven
  std::int64_t notBefore = 0;            // the leaf's window (every proof's contains it)
  std::int64_t expiresAt = 0;
  std::vector<std::string> chain;        // CIDs (text) of every token in the chain, leaf first
};

// Verifies tokens against trusted root DIDs (the node's), an injected clock and a revocation
// list, and caches what it proved: after one full verification, check() on the same token is a
// hash lookup, a time check and covers(), with no signature verification. Revoking drops every
// cached entry whose chain contains the revoked token.
class TokenVerifier {
 public:
  struct Options {
    std::size_t maxCacheEntries = 4096;
  };

  // `clock` and `signatures` must outlive the verifier.
  TokenVerifier(std::vector<std::string> trustedRoots, const Clock& clock,
                const SignatureVerifier& signatures, Options options);
  TokenVerifier(std::vector<std::string> trustedRoots, const Clock& clock,
                const SignatureVerifier& signatures)
      : TokenVerifier(std::move(trustedRoots), clock, signatures, Options{}) {}

  // Full verification of the chain (never answered from the cache; refreshes it). Each link:
  // parse, signature, time bounds at clock.now(), revocation; each proof's aud equals its child's
  // iss, the child's [nbf, exp) lies within the proof's, and every capability of the child is
  // covered by a capability of its proofs, unless the child's issuer is a trusted root; a token
  // without proofs must be issued by a trusted root. Errors: parse codes (TokenFault::kInvalid),
  // kBadSignature, kPermissionDenied / kLimitExceeded with a TokenFault prefix.
  [[nodiscard]] Result<VerifiedToken> verify(std::string_view token);

  // May `holder` (the DID the host knows is calling) do `requested` with `token`? Verifies fully
  // on a cache miss. kPermissionDenied with kWrongAudience / kNotGranted / kExpired /
  // kNotYetValid, or verify()'s errors.
  [[nodiscard]] Status check(std::string_view token, std::string_view holder,
                             const Capability& requested);

  void revokeCid(const codec::Cid& cid);
  void revokeNonce(std::string_view issuerDid, std::string_view nonce);
  // A copy of the current list (for persisting it).
  RevocationList revocations() const;
  std::size_t cacheSize() const;

 private:
  struct Entry {
    VerifiedToken token;
    std::vector<std::string> nonceKeys;  // issuer + '\n' + nonce of every link that has one
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Everything but revocation, without the lock (the expensive part).
  Result<Entry> verifyChain(std::string_view token, std::int64_t now) const;
  // Revocation check of a verified chain, then caching. REQUIRES: mu_ held.
  Status admitLocked(std::string_view token, const Entry& entry, std::int64_t now);

  const std::vector<std::string> trustedRoots_;
  const Clock& clock_;
  const SignatureVerifier& signatures_;
  const Options options_;

  mutable std::mutex mu_;
  RevocationList revoked_;  // guarded by mu_
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> cache_;  // guarded by mu_
};

}  // namespace aether::cap
