// UCAN tokens (the JWT form of UCAN 0.8.1, as @ucans/ucans 0.12 writes it): parse, mint,
// delegate, and the chain verifier with its verified-token cache. Format: docs/formats/ucan.md.
#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cap/cap.h"
#include "cap/internal.h"

namespace aether::cap {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNonceLength = 256;
constexpr std::size_t kNonceBytes = 12;  // 16 base64url characters

// A JSON object with no duplicate member names at any depth.
Result<json> parseStrictJson(std::string_view text) {
  return identity::parseStrictJson(text, kMaxUcanJsonDepth, Errc::kLimitExceeded, "ucan: payload");
}

Result<std::int64_t> timeField(const json& v, std::string_view name) {
  if (!v.is_number_integer()) {
    return fail(Errc::kMalformed, "ucan: \"" + std::string(name) + "\" must be an integer");
  }
  if (v.is_number_unsigned()) {
    const std::uint64_t u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(kMaxUcanTime)) {
      return fail(Errc::kOverflow, "ucan: \"" + std::string(name) + "\" is above 2^53 - 1");
    }
    return static_cast<std::int64_t>(u);
  }
  const std::int64_t i = v.get<std::int64_t>();
  if (i < 0) return fail(Errc::kOverflow, "ucan: \"" + std::string(name) + "\" is negative");
  return i;
}

Status checkHeader(const json& header) {
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& k = it.key();
    if (k == "uav") {
      return fail(Errc::kUnsupported, "ucan: version 0.3 tokens (\"uav\") are not supported");
    }
    if (k != "alg" && k != "typ" && k != "ucv") {
      return fail(Errc::kMalformed, "ucan: unknown header member \"" + printable(k) + "\"");
    }
  }
  const auto typ = header.find("typ");
  if (typ == header.end() || !typ->is_string() || typ->get_ref<const std::string&>() != "JWT") {
    return fail(Errc::kMalformed, "ucan: header \"typ\" must be \"JWT\"");
  }
  const auto ucv = header.find("ucv");
  if (ucv == header.end() || !ucv->is_string()) {
    return fail(Errc::kMalformed, "ucan: header has no string \"ucv\" (UCAN version)");
  }
  auto version = SemVer::parse(ucv->get_ref<const std::string&>());
  if (!version) return withContext(std::move(version).error(), "ucan: ucv");
  if (version->major != 0 || version->minor != 8) {
    return fail(Errc::kUnsupported, "ucan: version " + printable(ucv->get_ref<const std::string&>()) +
                                        " is not supported (0.8.x)");
  }
  return {};
}

Result<identity::DidKey> didField(const json& payload, std::string_view name) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_string()) {
    return fail(Errc::kMalformed, "ucan: \"" + std::string(name) + "\" must be a string");
  }
  auto did = identity::parseDidKey(it->get_ref<const std::string&>());
  if (!did) return withContext(std::move(did).error(), "ucan: " + std::string(name));
  return did;
}

std::string nonceKey(std::string_view issuer, std::string_view nonce) {
  std::string key(issuer);
  key += '\n';
  key += nonce;
  return key;
}

bool isTrusted(const std::vector<std::string>& roots, std::string_view did) {
  return std::find(roots.begin(), roots.end(), did) != roots.end();
}

std::string shortCid(const Ucan& u) { return u.cid().toString(); }

// Common part of mintToken / delegateToken.
Result<std::string> signToken(const crypto::Ed25519KeyPair& key, std::string_view audience,
                              std::span<const Capability> capabilities,
                              const TokenOptions& options, std::vector<std::string> proofs,
                              crypto::Rng& rng) {
  if (capabilities.empty()) return fail(Errc::kInvalidArgument, "ucan: no capabilities to grant");
  if (capabilities.size() > kMaxUcanCapabilities) {
    return fail(Errc::kInvalidArgument, "ucan: more than " + std::to_string(kMaxUcanCapabilities) +
                                            " capabilities");
  }
  if (auto did = identity::parseDidKey(audience); !did) {
    return fail(Errc::kInvalidArgument, "ucan: audience: " + did.error().message);
  }
  if (options.expiresAt <= 0 || options.expiresAt > kMaxUcanTime) {
    return fail(Errc::kInvalidArgument, "ucan: expiresAt must be in (0, 2^53)");
  }
  if (options.notBefore && (*options.notBefore < 0 || *options.notBefore >= options.expiresAt)) {
    return fail(Errc::kInvalidArgument, "ucan: notBefore must be in [0, expiresAt)");
  }
  if (!options.facts.is_null()) {
    const bool ok = options.facts.is_array() &&
                    std::all_of(options.facts.begin(), options.facts.end(),
                                [](const json& f) { return f.is_object(); });
    if (!ok) return fail(Errc::kInvalidArgument, "ucan: facts must be an array of objects");
  }
  json att = json::array();
  for (const Capability& c : capabilities) {
    const UcanCapability u = toUcan(c);
    att.push_back(json{{"with", u.with}, {"can", u.can}});
  }
  json payload = {{"iss", identity::didKeyFromEd25519(key.publicKey())},
                  {"aud", std::string(audience)},
                  {"att", std::move(att)},
                  {"exp", options.expiresAt},
                  {"prf", std::move(proofs)}};
  if (options.notBefore) payload["nbf"] = *options.notBefore;
  if (options.addNonce) {
    Bytes nonce(kNonceBytes);
    rng.fill(nonce);
    payload["nnc"] = codec::base64urlEncode(nonce);
  }
  if (!options.facts.is_null()) payload["fct"] = options.facts;
  std::string text;
  try {
    text = payload.dump();
  } catch (const json::exception& e) {  // invalid UTF-8 in facts
    return fail(Errc::kInvalidArgument, std::string("ucan: facts: ") + e.what());
  }
  if (auto reparsed = parseStrictJson(text); !reparsed && reparsed.error().code == Errc::kLimitExceeded) {
    return fail(Errc::kInvalidArgument, "ucan: facts nest deeper than the parser accepts");
  }
  const json header = {{"typ", "JWT"}, {"ucv", std::string(kUcanVersion)}};
  AE_ASSIGN_OR_RETURN(std::string token, identity::jwsSign(key, header, asBytes(text)));
  if (token.size() > kMaxUcanBytes) {
    return fail(Errc::kLimitExceeded, "ucan: token would be larger than " +
                                          std::to_string(kMaxUcanBytes) + " bytes");
  }
  return token;
}

// The longest chain below (and including) `token`, counted from `level`.
Result<std::size_t> chainDepth(std::string_view token, std::size_t level, std::size_t& visited) {
  if (level > kMaxProofDepth || ++visited > kMaxChainTokens) return level;
  AE_ASSIGN_OR_RETURN(Ucan u, parseUcan(token));
  std::size_t deepest = level;
  for (const std::string& p : u.proofs) {
    AE_ASSIGN_OR_RETURN(std::size_t d, chainDepth(p, level + 1, visited));
    deepest = std::max(deepest, d);
  }
  return deepest;
}

struct LinkResult {
  Ucan ucan;
  std::string root;
};

struct ChainWalk {
  const std::vector<std::string>& roots;
  const SignatureVerifier& signatures;
  std::int64_t now;
  std::vector<std::string>& chain;      // CIDs seen
  std::vector<std::string>& nonceKeys;  // issuer\nnonce seen
};

Result<LinkResult> verifyLink(std::string_view token, std::size_t depth, ChainWalk& walk) {
  if (depth > kMaxProofDepth) {
    return fail(Errc::kLimitExceeded,
                "too-deep: the proof chain is longer than " + std::to_string(kMaxProofDepth));
  }
  if (walk.chain.size() >= kMaxChainTokens) {
    return fail(Errc::kLimitExceeded,
                "too-deep: the proofs hold more than " + std::to_string(kMaxChainTokens) + " tokens");
  }
  AE_ASSIGN_OR_RETURN(Ucan u, parseUcan(token));
  AE_TRY(walk.signatures.verify(u.jws, u.issuer.publicKey));
  const std::string cid = shortCid(u);
  walk.chain.push_back(cid);
  if (u.nonce) walk.nonceKeys.push_back(nonceKey(u.issuer.did, *u.nonce));
  if (walk.now >= u.expiresAt) {
    return fail(Errc::kPermissionDenied, "expired: token " + cid + " expired at " +
                                             std::to_string(u.expiresAt) + " (now " +
                                             std::to_string(walk.now) + ")");
  }
  if (u.notBefore && walk.now < *u.notBefore) {
    return fail(Errc::kPermissionDenied, "not-yet-valid: token " + cid + " is valid from " +
                                             std::to_string(*u.notBefore) + " (now " +
                                             std::to_string(walk.now) + ")");
  }
  const bool trusted = isTrusted(walk.roots, u.issuer.did);
  if (!trusted && u.proofs.empty()) {
    return fail(Errc::kPermissionDenied, "untrusted-root: token " + cid + " is issued by " +
                                             u.issuer.did + ", which is not a trusted root, and "
                                             "has no proofs");
  }
  LinkResult result;
  std::vector<Capability> proven;
  for (const std::string& p : u.proofs) {
    AE_ASSIGN_OR_RETURN(LinkResult proof, verifyLink(p, depth + 1, walk));
    const std::string proofCid = shortCid(proof.ucan);
    if (proof.ucan.audience != u.issuer.did) {
      return fail(Errc::kPermissionDenied, "broken-chain: proof " + proofCid + " is addressed to " +
                                               proof.ucan.audience + ", not to " + u.issuer.did +
                                               " who issued token " + cid);
    }
    if (u.expiresAt > proof.ucan.expiresAt) {
      return fail(Errc::kPermissionDenied, "broken-chain: token " + cid + " expires after its proof " +
                                               proofCid);
    }
    if (proof.ucan.notBefore && (!u.notBefore || *u.notBefore < *proof.ucan.notBefore)) {
      return fail(Errc::kPermissionDenied, "broken-chain: token " + cid +
                                               " is valid before its proof " + proofCid);
    }
    if (result.root.empty()) result.root = proof.root;
    proven.insert(proven.end(), proof.ucan.capabilities.begin(), proof.ucan.capabilities.end());
  }
  if (trusted) {
    result.root = u.issuer.did;
  } else {
    for (const Capability& c : u.capabilities) {
      if (!coveredByAny(proven, c)) {
        return fail(Errc::kPermissionDenied, "attenuation: token " + cid + " claims \"" +
                                                 c.toString() + "\", which its proofs do not cover");
      }
    }
  }
  result.ucan = std::move(u);
  return result;
}

Status decide(const VerifiedToken& t, std::string_view holder, const Capability& requested,
              std::int64_t now) {
  if (now >= t.expiresAt) {
    return fail(Errc::kPermissionDenied, "expired: token " + t.chain.front() + " expired at " +
                                             std::to_string(t.expiresAt) + " (now " +
                                             std::to_string(now) + ")");
  }
  if (now < t.notBefore) {
    return fail(Errc::kPermissionDenied, "not-yet-valid: token " + t.chain.front() +
                                             " is valid from " + std::to_string(t.notBefore));
  }
  if (t.audience != holder) {
    return fail(Errc::kPermissionDenied, "wrong-audience: token " + t.chain.front() +
                                             " is addressed to " + t.audience + ", not to " +
                                             printable(holder));
  }
  if (!coveredByAny(t.capabilities, requested)) {
    return fail(Errc::kPermissionDenied, "not-granted: token " + t.chain.front() +
                                             " does not grant \"" + requested.toString() + "\"");
  }
  return {};
}

}  // namespace

// ---- clock / signatures ----

std::int64_t SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Ed25519SignatureVerifier::verify(const identity::Jws& jws,
                                        const crypto::Ed25519PublicKey& key) const {
  return identity::jwsVerify(jws, key);
}

// ---- parse ----

codec::Cid ucanCid(std::string_view token) {
  auto mh = codec::Multihash::sha256(crypto::sha256(asBytes(token)));
  return codec::Cid::v1(codec::mc::kRaw, std::move(*mh));  // a 32-byte digest always fits
}

codec::Cid Ucan::cid() const { return ucanCid(jws.compact()); }

Result<Ucan> parseUcan(std::string_view token) {
  if (token.size() > kMaxUcanBytes) {
    return fail(Errc::kLimitExceeded,
                "ucan: token is larger than " + std::to_string(kMaxUcanBytes) + " bytes");
  }
  auto jws = identity::jwsParse(token);
  if (!jws) return withContext(std::move(jws).error(), "ucan");
  AE_TRY(checkHeader(jws->header));
  AE_ASSIGN_OR_RETURN(json payload, parseStrictJson(asChars(jws->payload)));

  static constexpr std::string_view kMembers[] = {"iss", "aud", "att", "exp", "nbf", "nnc", "fct", "prf"};
  for (auto it = payload.begin(); it != payload.end(); ++it) {
    if (std::find(std::begin(kMembers), std::end(kMembers), it.key()) == std::end(kMembers)) {
      return fail(Errc::kMalformed, "ucan: unknown payload member \"" + printable(it.key()) + "\"");
    }
  }
  Ucan u;
  u.version = jws->header.at("ucv").get<std::string>();
  AE_ASSIGN_OR_RETURN(u.issuer, didField(payload, "iss"));
  AE_ASSIGN_OR_RETURN(identity::DidKey audience, didField(payload, "aud"));
  u.audience = std::move(audience.did);

  const auto exp = payload.find("exp");
  if (exp == payload.end()) return fail(Errc::kMalformed, "ucan: no \"exp\"");
  AE_ASSIGN_OR_RETURN(u.expiresAt, timeField(*exp, "exp"));
  if (const auto nbf = payload.find("nbf"); nbf != payload.end()) {
    AE_ASSIGN_OR_RETURN(std::int64_t v, timeField(*nbf, "nbf"));
    u.notBefore = v;
  }
  if (const auto nnc = payload.find("nnc"); nnc != payload.end()) {
    if (!nnc->is_string()) return fail(Errc::kMalformed, "ucan: \"nnc\" must be a string");
    if (nnc->get_ref<const std::string&>().size() > kMaxNonceLength) {
      return fail(Errc::kLimitExceeded, "ucan: \"nnc\" is longer than 256 bytes");
    }
    u.nonce = nnc->get<std::string>();
  }

  const auto att = payload.find("att");
  if (att == payload.end() || !att->is_array()) {
    return fail(Errc::kMalformed, "ucan: \"att\" must be an array");
  }
  if (att->size() > kMaxUcanCapabilities) {
    return fail(Errc::kLimitExceeded, "ucan: more than " + std::to_string(kMaxUcanCapabilities) +
                                          " capabilities");
  }
  for (std::size_t i = 0; i < att->size(); ++i) {
    const json& a = (*att)[i];
    const std::string where = "ucan: att[" + std::to_string(i) + "]";
    if (!a.is_object() || a.size() != 2 || !a.contains("with") || !a.contains("can") ||
        !a["with"].is_string() || !a["can"].is_string()) {
      return fail(Errc::kMalformed, where + " must be {\"with\": string, \"can\": string}");
    }
    auto cap = fromUcan(a["with"].get_ref<const std::string&>(), a["can"].get_ref<const std::string&>());
    if (!cap) return withContext(std::move(cap).error(), where);
    u.capabilities.push_back(std::move(*cap));
  }

  const auto prf = payload.find("prf");
  if (prf == payload.end() || !prf->is_array()) {
    return fail(Errc::kMalformed, "ucan: \"prf\" must be an array");
  }
  if (prf->size() > kMaxUcanProofs) {
    return fail(Errc::kLimitExceeded, "ucan: more than " + std::to_string(kMaxUcanProofs) + " proofs");
  }
  for (const json& p : *prf) {
    if (!p.is_string() || p.get_ref<const std::string&>().empty()) {
      return fail(Errc::kMalformed, "ucan: \"prf\" entries must be encoded tokens (strings)");
    }
    u.proofs.push_back(p.get<std::string>());
  }

  if (const auto fct = payload.find("fct"); fct != payload.end()) {
    const bool ok = fct->is_array() && std::all_of(fct->begin(), fct->end(),
                                                   [](const json& f) { return f.is_object(); });
    if (!ok) return fail(Errc::kMalformed, "ucan: \"fct\" must be an array of objects");
    u.facts = *fct;
  }
  u.jws = std::move(*jws);
  return u;
}

// ---- mint / delegate ----

Result<std::string> mintToken(const crypto::Ed25519KeyPair& issuer, std::string_view audience,
                              std::span<const Capability> capabilities,
                              const TokenOptions& options, crypto::Rng& rng) {
  return signToken(issuer, audience, capabilities, options, {}, rng);
}

Result<std::string> delegateToken(std::string_view parent, const crypto::Ed25519KeyPair& holder,
                                  std::string_view audience, std::span<const Capability> subset,
                                  const TokenOptions& options, crypto::Rng& rng) {
  AE_ASSIGN_OR_RETURN(Ucan p, parseUcan(parent));
  const std::string holderDid = identity::didKeyFromEd25519(holder.publicKey());
  if (holderDid != p.audience) {
    return fail(Errc::kPermissionDenied, "delegate: the signing key " + holderDid +
                                             " is not the parent token's audience " + p.audience);
  }
  for (const Capability& c : subset) {
    if (!coveredByAny(p.capabilities, c)) {
      return fail(Errc::kPermissionDenied, "attenuation: \"" + c.toString() +
                                               "\" is not covered by the parent token");
    }
  }
  if (options.expiresAt > p.expiresAt) {
    return fail(Errc::kPermissionDenied, "delegate: exp " + std::to_string(options.expiresAt) +
                                             " is after the parent's " + std::to_string(p.expiresAt));
  }
  TokenOptions o = options;
  if (p.notBefore) {
    if (!o.notBefore) {
      o.notBefore = p.notBefore;
    } else if (*o.notBefore < *p.notBefore) {
      return fail(Errc::kPermissionDenied, "delegate: nbf is before the parent's");
    }
  }
  std::size_t visited = 0;
  AE_ASSIGN_OR_RETURN(std::size_t depth, chainDepth(parent, 1, visited));
  if (depth + 1 > kMaxProofDepth || visited > kMaxChainTokens) {
    return fail(Errc::kLimitExceeded, "too-deep: the chain would be longer than " +
                                          std::to_string(kMaxProofDepth));
  }
  return signToken(holder, audience, subset, o, {std::string(parent)}, rng);
}

// ---- revocation ----

void RevocationList::revokeCid(const codec::Cid& cid) { cids_.insert(cid.toString()); }

void RevocationList::revokeNonce(std::string_view issuerDid, std::string_view nonce) {
  nonces_.insert(nonceKey(issuerDid, nonce));
}

bool RevocationList::isRevokedCid(const codec::Cid& cid) const {
  return cids_.contains(cid.toString());
}

bool RevocationList::isRevoked(const Ucan& token) const {
  if (isRevokedCid(token.cid())) return true;
  return token.nonce && nonces_.contains(nonceKey(token.issuer.did, *token.nonce));
}

TokenFault tokenFault(const Error& error) {
  static constexpr std::pair<std::string_view, TokenFault> kPrefixes[] = {
      {"expired: ", TokenFault::kExpired},
      {"not-yet-valid: ", TokenFault::kNotYetValid},
      {"revoked: ", TokenFault::kRevoked},
      {"untrusted-root: ", TokenFault::kUntrustedRoot},
      {"broken-chain: ", TokenFault::kBrokenChain},
      {"attenuation: ", TokenFault::kAttenuation},
      {"wrong-audience: ", TokenFault::kWrongAudience},
      {"not-granted: ", TokenFault::kNotGranted},
      {"too-deep: ", TokenFault::kTooDeep},
  };
  for (const auto& [prefix, fault] : kPrefixes) {
    if (error.message.starts_with(prefix)) return fault;
  }
  return TokenFault::kInvalid;
}

// ---- verifier ----

TokenVerifier::TokenVerifier(std::vector<std::string> trustedRoots, const Clock& clock,
                             const SignatureVerifier& signatures, Options options)
    : trustedRoots_(std::move(trustedRoots)),
      clock_(clock),
      signatures_(signatures),
      options_(options) {}

Result<TokenVerifier::Entry> TokenVerifier::verifyChain(std::string_view token,
                                                        std::int64_t now) const {
  Entry entry;
  ChainWalk walk{trustedRoots_, signatures_, now, entry.token.chain, entry.nonceKeys};
  AE_ASSIGN_OR_RETURN(LinkResult leaf, verifyLink(token, 1, walk));
  entry.token.audience = std::move(leaf.ucan.audience);
  entry.token.rootIssuer = std::move(leaf.root);
  entry.token.capabilities = std::move(leaf.ucan.capabilities);
  entry.token.notBefore = leaf.ucan.notBefore.value_or(std::numeric_limits<std::int64_t>::min());
  entry.token.expiresAt = leaf.ucan.expiresAt;
  return entry;
}

Status TokenVerifier::admitLocked(std::string_view token, const Entry& entry, std::int64_t now) {
  for (const std::string& cid : entry.token.chain) {
    if (revoked_.cids_.contains(cid)) {
      return fail(Errc::kPermissionDenied, "revoked: token " + cid + " in the chain is revoked");
    }
  }
  for (const std::string& key : entry.nonceKeys) {
    if (revoked_.nonces_.contains(key)) {
      return fail(Errc::kPermissionDenied, "revoked: a token in the chain has a revoked nonce (" +
                                               printable(key.substr(key.find('\n') + 1)) + ")");
    }
  }
  if (cache_.size() >= options_.maxCacheEntries) {
    std::erase_if(cache_, [now](const auto& kv) { return kv.second.token.expiresAt <= now; });
    if (cache_.size() >= options_.maxCacheEntries && !cache_.empty()) cache_.erase(cache_.begin());
  }
  if (options_.maxCacheEntries > 0) cache_.insert_or_assign(std::string(token), entry);
  return {};
}

Result<VerifiedToken> TokenVerifier::verify(std::string_view token) {
  const std::int64_t now = clock_.now();
  AE_ASSIGN_OR_RETURN(Entry entry, verifyChain(token, now));
  std::lock_guard<std::mutex> lock(mu_);
  AE_TRY(admitLocked(token, entry, now));
  return entry.token;
}

Status TokenVerifier::check(std::string_view token, std::string_view holder,
                            const Capability& requested) {
  const std::int64_t now = clock_.now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (const auto it = cache_.find(token); it != cache_.end()) {
      const VerifiedToken& t = it->second.token;
      Status s = decide(t, holder, requested, now);
      if (!s && now >= t.expiresAt) cache_.erase(it);
      return s;
    }
  }
  AE_ASSIGN_OR_RETURN(Entry entry, verifyChain(token, now));
  std::lock_guard<std::mutex> lock(mu_);
  AE_TRY(admitLocked(token, entry, now));
  return decide(entry.token, holder, requested, now);
}

void TokenVerifier::revokeCid(const codec::Cid& cid) {
  const std::string text = cid.toString();
  std::lock_guard<std::mutex> lock(mu_);
  revoked_.revokeCid(cid);
  std::erase_if(cache_, [&text](const auto& kv) {
    const auto& chain = kv.second.token.chain;
    return std::find(chain.begin(), chain.end(), text) != chain.end();
  });
}

void TokenVerifier::revokeNonce(std::string_view issuerDid, std::string_view nonce) {
  const std::string key = nonceKey(issuerDid, nonce);
  std::lock_guard<std::mutex> lock(mu_);
  revoked_.revokeNonce(issuerDid, nonce);
  std::erase_if(cache_, [&key](const auto& kv) {
    const auto& keys = kv.second.nonceKeys;
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  });
}

RevocationList TokenVerifier::revocations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revoked_;
}

std::size_t TokenVerifier::cacheSize() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

}  // namespace aether::cap
