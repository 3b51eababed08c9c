// The identity service: DID registry, resolution, challenge -> attest. No sockets here: the
// daemon hands requests to IdentityService::handle on its one io_context thread.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <map>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "api/api.h"
#include "api/internal.h"
#include "cap/cap.h"
#include "codec/codec.h"
#include "identity/identity.h"

namespace aether::api {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- small helpers -----------------------------------------------------------------------------

std::int64_t SystemClock::nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339Ms(std::int64_t unixMs) {
  const std::time_t secs = static_cast<std::time_t>(unixMs / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(unixMs % 1000));
  return out;
}

std::string attestMessage(std::string_view nonce, std::string_view did, std::string_view audience) {
  std::string m = "aether-attest-v1\n";
  m.append(nonce).append("\n").append(did).append("\n").append(audience);
  return m;
}

Status checkDidSyntax(std::string_view did) {
  if (did.size() > kMaxDidLength) return fail(Errc::kLimitExceeded, "did: longer than 256 characters");
  if (!did.starts_with("did:")) return fail(Errc::kMalformed, "did: must start with \"did:\"");
  const std::string_view rest = did.substr(4);
  const auto colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return fail(Errc::kMalformed, "did: missing method name");
  for (char c : rest.substr(0, colon)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return fail(Errc::kMalformed, "did: method name must be lower-case letters and digits");
    }
  }
  const std::string_view id = rest.substr(colon + 1);
  if (id.empty() || id.back() == ':') return fail(Errc::kMalformed, "did: empty method-specific id");
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':';
    if (c == '%') {
      if (i + 2 >= id.size() || !std::isxdigit(static_cast<unsigned char>(id[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(id[i + 2]))) {
        return fail(Errc::kMalformed, "did: bad percent-encoding");
      }
      i += 2;
      continue;
    }
    if (!ok) return fail(Errc::kMalformed, "did: character not allowed in a DID (no path, query or fragment)");
  }
  return {};
}

namespace {

Result<AuthKey> keyOfMethod(const json& method, std::string_view did) {
  if (!method.is_object()) return fail(Errc::kMalformed, "verification method is not an object");
  auto id = method.find("id");
  if (id == method.end() || !id->is_string()) return fail(Errc::kMalformed, "verification method without a string id");
  AuthKey out;
  out.id = id->get<std::string>();
  if (out.id.starts_with("#")) out.id = std::string(did) + out.id;
  if (auto mb = method.find("publicKeyMultibase"); mb != method.end()) {
    if (!mb->is_string()) return fail(Errc::kMalformed, out.id + ": publicKeyMultibase is not a string");
    // An Ed25519 multikey is exactly the method-specific id of a did:key: reuse its strict parser.
    auto key = identity::parseDidKey(std::string(identity::kDidKeyPrefix) + mb->get<std::string>());
    if (!key) {
      if (key.error().code == Errc::kUnsupported) return fail(Errc::kUnsupported, out.id + ": not an Ed25519 key");
      return withContext(std::move(key).error(), out.id + ": publicKeyMultibase");
    }
    out.publicKey = key->publicKey;
    return out;
  }
  if (auto jwk = method.find("publicKeyJwk"); jwk != method.end()) {
    if (!jwk->is_object()) return fail(Errc::kMalformed, out.id + ": publicKeyJwk is not an object");
    const auto kty = jwk->find("kty");
    const auto crv = jwk->find("crv");
    const auto x = jwk->find("x");
    if (kty == jwk->end() || crv == jwk->end() || *kty != "OKP" || *crv != "Ed25519") {
      return fail(Errc::kUnsupported, out.id + ": not an Ed25519 key");
    }
    if (x == jwk->end() || !x->is_string()) return fail(Errc::kMalformed, out.id + ": publicKeyJwk without x");
    AE_ASSIGN_OR_RETURN(Bytes raw, codec::base64urlDecode(x->get<std::string>()));
    if (raw.size() != crypto::kEd25519PublicKeySize) return fail(Errc::kWrongLength, out.id + ": x is not 32 bytes");
    AE_TRY(crypto::ed25519ValidatePublicKey(raw));
    std::copy(raw.begin(), raw.end(), out.publicKey.begin());
    return out;
  }
  return fail(Errc::kUnsupported, out.id + ": no publicKeyMultibase or publicKeyJwk");
}

}  // namespace

Result<std::vector<AuthKey>> authenticationKeys(const json& document) {
  if (!document.is_object()) return fail(Errc::kMalformed, "DID document is not an object");
  auto idIt = document.find("id");
  if (idIt == document.end() || !idIt->is_string()) return fail(Errc::kMalformed, "DID document has no string \"id\"");
  const std::string did = idIt->get<std::string>();
  AE_TRY(checkDidSyntax(did));
  auto auth = document.find("authentication");
  if (auth == document.end()) return fail(Errc::kNotFound, "DID document lists no \"authentication\" key");
  if (!auth->is_array()) return fail(Errc::kMalformed, "\"authentication\" is not an array");
  if (auth->size() > kMaxAuthKeys) return fail(Errc::kLimitExceeded, "more than 16 authentication entries");
  const json empty = json::array();
  auto vmIt = document.find("verificationMethod");
  const json& methods = vmIt == document.end() ? empty : *vmIt;
  if (!methods.is_array()) return fail(Errc::kMalformed, "\"verificationMethod\" is not an array");
  if (methods.size() > 64) return fail(Errc::kLimitExceeded, "more than 64 verification methods");

  std::vector<AuthKey> keys;
  for (const json& entry : *auth) {
    Result<AuthKey> key = fail(Errc::kInternal, "unreachable");
    if (entry.is_string()) {
      std::string ref = entry.get<std::string>();
      if (ref.starts_with("#")) ref = did + ref;
      const json* found = nullptr;
      for (const json& m : methods) {
        if (!m.is_object()) return fail(Errc::kMalformed, "verification method is not an object");
        auto mid = m.find("id");
        if (mid == m.end() || !mid->is_string()) return fail(Errc::kMalformed, "verification method without a string id");
        std::string abs = mid->get<std::string>();
        if (abs.starts_with("#")) abs = did + abs;
        if (abs == ref) {
          found = &m;
          break;
        }
      }
      if (found == nullptr) return fail(Errc::kMalformed, "authentication reference " + ref + " names no verification method");
      key = keyOfMethod(*found, did);
    } else {
      key = keyOfMethod(entry, did);
    }
    if (!key) {
      if (key.error().code == Errc::kUnsupported) continue;  // another key type: not ours to use
      return std::unexpected(std::move(key).error());
    }
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) return fail(Errc::kNotFound, "DID document lists no Ed25519 authentication key");
  return keys;
}

bool RateLimiter::allow(const std::string& address, std::int64_t nowMs) {
  if (rate_ <= 0) return true;
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= maxAddresses_) {
      // Forget buckets that have refilled: they carry no state worth keeping.
      std::erase_if(buckets_, [&](const auto& kv) {
        return kv.second.tokens + static_cast<double>(nowMs - kv.second.lastMs) * rate_ / 1000.0 >= burst_;
      });
      if (buckets_.size() >= maxAddresses_) return false;
    }
    it = buckets_.emplace(address, Bucket{burst_, nowMs}).first;
  }
  Bucket& b = it->second;
  if (nowMs > b.lastMs) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(nowMs - b.lastMs) * rate_ / 1000.0);
    b.lastMs = nowMs;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

// ---- HTTP mapping ------------------------------------------------------------------------------

int httpStatusFor(Errc code) {
  switch (code) {
    case Errc::kNotFound: return 404;
    case Errc::kAuthFailed:
    case Errc::kBadSignature: return 401;
    case Errc::kPermissionDenied: return 403;
    case Errc::kAlreadyExists: return 409;
    case Errc::kLimitExceeded: return 413;
    case Errc::kIo:
    case Errc::kCrypto:
    case Errc::kInternal:
    case Errc::kWasm:
    case Errc::kIntegrity: return 500;
    default: return 400;
  }
}

namespace {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return status >= 500 ? "Internal Server Error" : "Error";
  }
}

HttpResponse jsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse errorResponse(const Error& e) {
  // A field over its limit (a DID longer than 256 characters, too many credentials) is a bad
  // request; 413 is reserved for bodies over the size limit (the server's).
  const int status = e.code == Errc::kLimitExceeded ? 400 : httpStatusFor(e.code);
  return problem(status, e.message, errcName(e.code));
}

std::string percentDecode(std::string_view s, bool& ok) {
  std::string out;
  ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) {
        ok = false;
        return {};
      }
      const auto hex = hexDecode(s.substr(i + 1, 2));
      if (!hex) {
        ok = false;
        return {};
      }
      out.push_back(static_cast<char>((*hex)[0]));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

constexpr std::string_view kIdentityPrefix = "/v1/identity/";

}  // namespace

HttpResponse problem(int status, std::string_view detail, std::string_view slug) {
  HttpResponse r;
  r.status = status;
  r.contentType = "application/problem+json";
  const std::string type = slug.empty() ? "about:blank" : "urn:aether:problem:" + std::string(slug);
  r.body = json{{"type", type}, {"title", reasonPhrase(status)}, {"status", status}, {"detail", detail}}.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// ---- the service -------------------------------------------------------------------------------

struct IdentityService::State {
  ServiceOptions options;
  const crypto::Ed25519KeyPair* nodeKey;
  Clock* clock;
  crypto::Rng* rng;
  std::string nodeKeyId;
  fs::path registryDir;

  // Outstanding nonces, and the same set ordered by expiry for sweeping. Both hold exactly the
  // live entries (consuming a nonce erases it from both), so both are bounded by maxNonces.
  using ByExpiry = std::multimap<std::int64_t, std::string>;
  struct Pending {
    std::string did;
    std::string audience;
    std::int64_t expiresAtMs;
    ByExpiry::iterator expiry;
  };
  std::unordered_map<std::string, Pending> nonces;
  ByExpiry byExpiry;

  struct Stored {
    std::uint64_t version;
    json document;
  };

  fs::path fileFor(std::string_view did) const {
    return registryDir / (hexEncode(crypto::sha256(asBytes(did))) + ".json");
  }

  Result<std::optional<Stored>> load(std::string_view did) const {
    const fs::path path = fileFor(did);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::error_code ec;
      if (!fs::exists(path, ec)) return std::optional<Stored>();
      return fail(Errc::kIo, "cannot read " + path.string());
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    AE_ASSIGN_OR_RETURN(json record, identity::parseStrictJson(ss.str(), 64, Errc::kIntegrity, "registry record"));
    if (!record.contains("did") || record["did"] != did || !record.contains("version") ||
        !record["version"].is_number_unsigned() || !record.contains("document")) {
      return fail(Errc::kIntegrity, "registry record " + path.string() + " is damaged");
    }
    return std::optional<Stored>(Stored{record["version"].get<std::uint64_t>(), record["document"]});
  }

  // Drops entries that expired more than one TTL ago (kept that long so a late answer hears
  // "expired" rather than "unknown").
  void sweep(std::int64_t now) {
    while (!byExpiry.empty() && byExpiry.begin()->first + options.nonceTtlMs < now) {
      nonces.erase(byExpiry.begin()->second);
      byExpiry.erase(byExpiry.begin());
    }
  }
};

IdentityService::IdentityService(std::unique_ptr<State> state) : state_(std::move(state)) {}
IdentityService::~IdentityService() = default;

Result<std::unique_ptr<IdentityService>> IdentityService::create(ServiceOptions options,
                                                                 const crypto::Ed25519KeyPair& nodeKey,
                                                                 Clock& clock, crypto::Rng& rng) {
  if (options.nonceTtlMs <= 0 || options.maxNonces == 0 || options.tokenTtlSeconds <= 0) {
    return fail(Errc::kInvalidArgument, "identity service: TTLs and the nonce bound must be positive");
  }
  const auto nodeDid = identity::didKeyFor(nodeKey.publicKey());
  if (options.nodeDid.empty()) options.nodeDid = nodeDid.did;
  if (options.nodeDid != nodeDid.did) return fail(Errc::kInvalidArgument, "identity service: nodeDid is not the node key's");
  auto state = std::make_unique<State>();
  state->registryDir = options.home / "registry";
  AE_TRY(makePrivateDir(state->registryDir));
  state->options = std::move(options);
  state->nodeKey = &nodeKey;
  state->clock = &clock;
  state->rng = &rng;
  state->nodeKeyId = nodeDid.keyId();
  return std::unique_ptr<IdentityService>(new IdentityService(std::move(state)));
}

json IdentityService::nodeDocument() const {
  auto doc = identity::didDocument(state_->options.nodeDid);
  json out = doc ? *doc : json::object();
  if (!state_->options.tlsFingerprint.empty()) {
    out["service"] = json::array({json{{"id", state_->options.nodeDid + "#tls"},
                                       {"type", "TlsCertificateFingerprint"},
                                       {"serviceEndpoint", state_->options.publicUrl},
                                       {"fingerprint", state_->options.tlsFingerprint}}});
  }
  return out;
}

std::size_t IdentityService::nonceCacheSize() const { return state_->nonces.size(); }

Result<IdentityService::Registered> IdentityService::registerDocument(const json& document, std::string_view proof) {
  State& s = *state_;
  if (!document.is_object()) return fail(Errc::kMalformed, "did_document must be a JSON object");
  auto idIt = document.find("id");
  if (idIt == document.end() || !idIt->is_string()) return fail(Errc::kMalformed, "did_document has no string \"id\"");
  const std::string did = idIt->get<std::string>();
  AE_TRY(checkDidSyntax(did));
  if (did.starts_with(identity::kDidKeyPrefix)) {
    return fail(Errc::kInvalidArgument, "did:key documents are derived from the key itself and cannot be registered");
  }
  if (did.starts_with("did:web:")) {
    // Its domain is the authority (GET /v1/identity/did:web:... fetches it over HTTPS): a copy
    // registered here first-come-first-served would let anyone speak for the domain.
    return fail(Errc::kInvalidArgument, "did:web documents are served by their domain over HTTPS and cannot be registered");
  }
  // The new document must itself be usable: at least one Ed25519 authentication key.
  auto newKeys = authenticationKeys(document);
  if (!newKeys) {
    Error e = std::move(newKeys).error();
    if (e.code == Errc::kNotFound) e.code = Errc::kInvalidArgument;  // a bad document, not a missing resource
    return withContext(std::move(e), "did_document");
  }
  if (proof.empty()) {
    return fail(Errc::kAuthFailed, "a proof is required: a compact JWS (EdDSA) over the document by one of its "
                                   "authentication keys");
  }
  auto jws = identity::jwsParse(proof);
  if (!jws) return withContext(std::move(jws).error(), "proof");
  auto payload = identity::parseStrictJson(asChars(jws->payload), 64, Errc::kLimitExceeded, "proof payload");
  if (!payload) return std::unexpected(std::move(payload).error());
  if (*payload != document) return fail(Errc::kInvalidArgument, "proof payload is not the submitted did_document");

  AE_ASSIGN_OR_RETURN(std::optional<State::Stored> stored, s.load(did));
  const std::uint64_t version = stored ? stored->version + 1 : 1;
  auto ver = jws->header.find("ver");
  if (ver == jws->header.end() || !ver->is_number_unsigned()) {
    return fail(Errc::kInvalidArgument, "proof header needs \"ver\": the version this registration creates (" +
                                            std::to_string(version) + ")");
  }
  if (ver->get<std::uint64_t>() != version) {
    return fail(Errc::kAlreadyExists, "proof header \"ver\" is " + std::to_string(ver->get<std::uint64_t>()) +
                                          " but this registration would create version " + std::to_string(version) +
                                          " of " + did);
  }
  const std::string kid(jws->kid());
  if (kid.empty()) return fail(Errc::kInvalidArgument, "proof header needs \"kid\": a verification method id");
  std::vector<AuthKey> keys;
  if (stored) {
    auto current = authenticationKeys(stored->document);
    if (!current) return withContext(std::move(current).error(), "stored document of " + did);
    keys = std::move(*current);
  } else {
    keys = std::move(*newKeys);
  }
  auto key = std::find_if(keys.begin(), keys.end(), [&kid](const AuthKey& k) { return k.id == kid; });
  if (key == keys.end()) {
    return fail(Errc::kAuthFailed, "proof key " + kid + " is not an authentication key of the " +
                                       (stored ? "currently registered" : "submitted") + " document of " + did);
  }
  auto verified = identity::jwsVerify(*jws, key->publicKey);
  if (!verified) return withContext(std::move(verified).error(), "proof signature by " + kid);

  const json record = {{"did", did}, {"version", version}, {"updated_at", rfc3339Ms(s.clock->nowMs())},
                       {"document", document}};
  AE_TRY(writeFileAtomic(s.fileFor(did), record.dump(), 0600));
  return Registered{did, version};
}

Result<json> IdentityService::resolve(std::string_view did) {
  AE_TRY(checkDidSyntax(did));
  if (did == state_->options.nodeDid) return nodeDocument();
  if (did.starts_with(identity::kDidKeyPrefix)) return identity::didDocument(did);
  AE_ASSIGN_OR_RETURN(std::optional<State::Stored> stored, state_->load(did));
  if (!stored) return fail(Errc::kNotFound, std::string(did) + " is not registered here");
  return std::move(stored->document);
}

Result<IdentityService::Challenge> IdentityService::challenge(std::string_view did, std::string_view audience) {
  State& s = *state_;
  AE_TRY(checkDidSyntax(did));
  if (audience.empty()) audience = s.options.nodeDid;
  if (audience.size() > 256) return fail(Errc::kInvalidArgument, "audience: longer than 256 characters");
  for (char c : audience) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return fail(Errc::kInvalidArgument, "audience: only printable ASCII without spaces");
    }
  }
  // Only DIDs we can resolve can answer; refuse early rather than fill the cache.
  AE_TRY(resolve(did));
  const std::int64_t now = s.clock->nowMs();
  s.sweep(now);
  if (s.nonces.size() >= s.options.maxNonces) {
    return fail(Errc::kLimitExceeded, "too many outstanding challenges; retry shortly");
  }
  Bytes raw(32);
  s.rng->fill(raw);
  Challenge c{codec::base64urlEncode(raw), now + s.options.nonceTtlMs, std::string(audience)};
  if (s.nonces.contains(c.nonce)) return fail(Errc::kInternal, "challenge: random nonce collision");
  const auto expiry = s.byExpiry.emplace(c.expiresAtMs, c.nonce);
  s.nonces.emplace(c.nonce, State::Pending{std::string(did), c.audience, c.expiresAtMs, expiry});
  return c;
}

Result<std::string> IdentityService::attest(std::string_view did, std::string_view nonce,
                                            std::string_view signatureB64url,
                                            const std::vector<std::string>& credentials) {
  State& s = *state_;
  auto it = s.nonces.find(std::string(nonce));
  if (it == s.nonces.end()) {
    return fail(Errc::kAuthFailed, "unknown nonce: never issued, already used, or long expired");
  }
  const State::Pending pending = std::move(it->second);
  s.byExpiry.erase(pending.expiry);
  s.nonces.erase(it);  // single use, whatever happens next
  const std::int64_t now = s.clock->nowMs();
  if (now > pending.expiresAtMs) {
    return fail(Errc::kAuthFailed, "nonce expired at " + rfc3339Ms(pending.expiresAtMs));
  }
  if (pending.did != did) return fail(Errc::kAuthFailed, "nonce was issued for another DID");
  AE_TRY(checkDidSyntax(did));  // (it equals a DID that passed the check at challenge time)
  auto sig = codec::base64urlDecode(signatureB64url);
  if (!sig) return withContext(std::move(sig).error(), "signature");
  if (sig->size() != crypto::kEd25519SignatureSize) return fail(Errc::kWrongLength, "signature: not 64 bytes");
  AE_ASSIGN_OR_RETURN(json doc, resolve(did));
  auto keys = authenticationKeys(doc);
  if (!keys) return withContext(std::move(keys).error(), std::string(did));
  const std::string message = attestMessage(nonce, did, pending.audience);
  bool ok = false;
  for (const AuthKey& k : *keys) {
    if (crypto::ed25519Verify(k.publicKey, asBytes(message), *sig)) {
      ok = true;
      break;
    }
  }
  if (!ok) return fail(Errc::kBadSignature, "signature does not verify under any authentication key of " + std::string(did));

  // Capabilities: the defaults, plus the scopes of role credentials this node issued to `did`.
  std::vector<cap::Capability> caps;
  for (const char* text : {"identity.register *", "cred.verify *"}) caps.push_back(*cap::Capability::parse(text));
  if (credentials.size() > 8) return fail(Errc::kLimitExceeded, "at most 8 credentials per attest");
  for (const std::string& vcJwt : credentials) {
    auto vc = verifyCredential(vcJwt);
    if (!vc) return fail(Errc::kAuthFailed, "credential: " + vc.error().message);
    if (vc->issuer != s.options.nodeDid) return fail(Errc::kAuthFailed, "credential: not issued by this node");
    if (vc->subject != did) return fail(Errc::kAuthFailed, "credential: issued to another DID");
    if (std::find(vc->types.begin(), vc->types.end(), "AetherRoleCredential") == vc->types.end()) {
      return fail(Errc::kAuthFailed, "credential: not an AetherRoleCredential");
    }
    auto scopes = vc->claims.find("scopes");
    if (scopes == vc->claims.end() || !scopes->is_array()) continue;
    for (const auto& sc : *scopes) {
      if (!sc.is_string()) return fail(Errc::kAuthFailed, "credential: scopes must be strings \"RIGHT RESOURCE\"");
      auto c = cap::Capability::parse(sc.get<std::string>());
      if (!c) return fail(Errc::kAuthFailed, "credential: scope " + sc.get<std::string>() + ": " + c.error().message);
      caps.push_back(std::move(*c));
    }
  }
  json att = json::array();
  for (const auto& c : caps) {
    const auto u = cap::toUcan(c);
    att.push_back(json{{"with", u.with}, {"can", u.can}});
  }
  Bytes jti(16);
  s.rng->fill(jti);
  const std::int64_t iat = now / 1000;
  const json claims = {{"iss", s.options.nodeDid}, {"sub", did},       {"aud", pending.audience},
                       {"iat", iat},               {"exp", iat + s.options.tokenTtlSeconds},
                       {"jti", codec::base64urlEncode(jti)}, {"att", att}};
  return identity::jwsSign(*s.nodeKey, json{{"kid", s.nodeKeyId}, {"typ", "JWT"}}, asBytes(claims.dump()));
}

Result<std::string> IdentityService::authorize(std::string_view authorization, const cap::Capability& required) {
  State& s = *state_;
  AE_ASSIGN_OR_RETURN(BearerToken t, verifyBearer(authorization, s.nodeKey->publicKey(), s.options.nodeDid,
                                                  s.clock->nowMs() / 1000));
  if (!cap::coveredByAny(t.capabilities, required)) {
    return fail(Errc::kPermissionDenied, "the bearer token does not grant " + required.toString());
  }
  return t.subject;
}

Result<std::string> IdentityService::issueCredential(const CredentialRequest& request) {
  State& s = *state_;
  Bytes jti(16);
  s.rng->fill(jti);
  return issueVcJwt(*s.nodeKey, request, s.clock->nowMs() / 1000, jti);
}

Result<VerifiedCredential> IdentityService::verifyCredential(std::string_view jwt) {
  return verifyVcJwt(jwt, [this](std::string_view did) { return resolve(did); }, state_->clock->nowMs() / 1000);
}

// ---- routing -----------------------------------------------------------------------------------

std::string_view IdentityService::routeOf(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/healthz") return "/healthz";
  if (path == "/metrics") return "/metrics";
  if (path == "/openapi.json") return "/openapi.json";
  if (path == "/v1/identity/register") return "/v1/identity/register";
  if (path == "/v1/identity/challenge") return "/v1/identity/challenge";
  if (path == "/v1/identity/attest") return "/v1/identity/attest";
  if (path == "/v1/credentials/issue") return "/v1/credentials/issue";
  if (path == "/v1/credentials/verify") return "/v1/credentials/verify";
  if (path.starts_with(kIdentityPrefix) && path.size() > kIdentityPrefix.size()) return "/v1/identity/{did}";
  return "other";
}

namespace {

Result<json> parseBody(const HttpRequest& request) {
  std::string ct = request.contentType.substr(0, request.contentType.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  std::transform(ct.begin(), ct.end(), ct.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ct != "application/json") {
    return fail(Errc::kUnsupported, "Content-Type must be application/json");
  }
  return identity::parseStrictJson(request.body, 32, Errc::kLimitExceeded, "request body");
}

Result<std::string> stringField(const json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end()) {
    if (required) return fail(Errc::kInvalidArgument, std::string("missing field \"") + name + "\"");
    return std::string();
  }
  if (!it->is_string()) return fail(Errc::kInvalidArgument, std::string("field \"") + name + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

HttpResponse IdentityService::handle(const HttpRequest& request) {
  const std::string_view route = routeOf(request.method, request.target);
  const std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  const bool isPost = route == "/v1/identity/register" || route == "/v1/identity/challenge" ||
                      route == "/v1/identity/attest" || route == "/v1/credentials/issue" ||
                      route == "/v1/credentials/verify";
  if (route == "other" || route == "/healthz" || route == "/metrics") {
    return problem(404, "no route for " + std::string(path), "not-found");
  }
  const std::string_view wanted = isPost ? "POST" : "GET";
  if (request.method != wanted && !(wanted == "GET" && request.method == "HEAD")) {
    HttpResponse r = problem(405, std::string(route) + " allows " + std::string(wanted) + " only", "method-not-allowed");
    r.allow = wanted == "GET" ? "GET, HEAD" : "POST";
    return r;
  }
  if (route == "/openapi.json") {
    HttpResponse r;
    r.body = std::string(openApiJson());
    return r;
  }
  if (route == "/v1/identity/{did}") {
    bool ok = false;
    const std::string did = percentDecode(path.substr(kIdentityPrefix.size()), ok);
    if (!ok) return problem(400, "bad percent-encoding in the DID", "malformed");
    auto doc = resolve(did);
    if (!doc) return errorResponse(doc.error());
    HttpResponse r = jsonResponse(200, *doc);
    r.contentType = "application/did+json";
    return r;
  }

  auto body = parseBody(request);
  if (!body) {
    if (body.error().code == Errc::kUnsupported) return problem(415, body.error().message, "unsupported-media-type");
    if (body.error().code == Errc::kLimitExceeded) return problem(400, body.error().message, "malformed");
    return errorResponse(body.error());
  }
  // Bearer tokens: every route that changes or uses node state beyond a challenge.
  auto bearerError = [](const Error& e) {
    return problem(httpStatusFor(e.code), e.message, e.code == Errc::kPermissionDenied ? "forbidden" : "unauthorized");
  };
  if (route == "/v1/credentials/issue" || route == "/v1/credentials/verify") {
    if (route == "/v1/credentials/verify") {
      auto who = authorize(request.authorization, *cap::Capability::parse("cred.verify *"));
      if (!who) return bearerError(who.error());
      auto jwt = stringField(*body, "credential", true);
      if (!jwt) return errorResponse(jwt.error());
      auto vc = verifyCredential(*jwt);
      if (!vc) return problem(vc.error().code == Errc::kMalformed ? 400 : 401, vc.error().message, "invalid-credential");
      return jsonResponse(200, json{{"verified", true}, {"issuer", vc->issuer}, {"subject", vc->subject},
                                    {"id", vc->id}, {"type", vc->types}, {"claims", vc->claims},
                                    {"expires_at", rfc3339Ms(vc->expiresAt * 1000)}});
    }
    auto subject = stringField(*body, "subject", true);
    if (!subject) return errorResponse(subject.error());
    auto type = stringField(*body, "type", false);
    if (!type) return errorResponse(type.error());
    CredentialRequest req;
    req.subject = *subject;
    if (body->contains("type")) req.type = *type;  // "" is refused below
    if (auto c = body->find("claims"); c != body->end()) req.claims = *c;
    if (auto t = body->find("ttl_seconds"); t != body->end()) {
      if (!t->is_number_integer()) return problem(400, "ttl_seconds must be an integer", "invalid-argument");
      req.ttlSeconds = t->get<std::int64_t>();
    }
    // cred.issue on the requested type; the type must be a valid resource first.
    auto needed = cap::Capability::parse("cred.issue", req.type);
    if (!needed) return problem(400, "credential type: " + needed.error().message, "invalid-argument");
    auto who = authorize(request.authorization, *needed);
    if (!who) return bearerError(who.error());
    auto vc = issueCredential(req);
    if (!vc) return errorResponse(vc.error());
    return jsonResponse(201, json{{"credential", *vc}, {"issuer", state_->options.nodeDid}, {"subject", req.subject}});
  }
  if (route == "/v1/identity/register") {
    auto who = authorize(request.authorization, *cap::Capability::parse("identity.register *"));
    if (!who) return bearerError(who.error());
    auto docIt = body->find("did_document");
    if (docIt == body->end() || !docIt->is_object()) {
      return problem(400, "field \"did_document\" must be a JSON object", "invalid-argument");
    }
    auto proof = stringField(*body, "proof", false);
    if (!proof) return errorResponse(proof.error());
    auto attestation = stringField(*body, "attestation", false);  // TPM/TEE evidence: not checked yet
    if (!attestation) return errorResponse(attestation.error());
    auto reg = registerDocument(*docIt, *proof);
    if (!reg) return errorResponse(reg.error());
    return jsonResponse(201, json{{"did", reg->did}, {"version", std::to_string(reg->version)}});
  }
  if (route == "/v1/identity/challenge") {
    auto did = stringField(*body, "did", true);
    if (!did) return errorResponse(did.error());
    auto audience = stringField(*body, "audience", false);
    if (!audience) return errorResponse(audience.error());
    if (auto st = checkDidSyntax(*did); !st) return errorResponse(st.error());  // 400, not the 503 below
    auto c = challenge(*did, *audience);
    if (!c) {
      if (c.error().code == Errc::kLimitExceeded) return problem(503, c.error().message, "limit-exceeded");
      return errorResponse(c.error());
    }
    return jsonResponse(200, json{{"nonce", c->nonce}, {"expires_at", rfc3339Ms(c->expiresAtMs)}, {"audience", c->audience}});
  }
  // attest
  auto did = stringField(*body, "did", true);
  if (!did) return errorResponse(did.error());
  auto nonce = stringField(*body, "nonce", true);
  if (!nonce) return errorResponse(nonce.error());
  auto signature = stringField(*body, "signature", true);
  if (!signature) return errorResponse(signature.error());
  std::vector<std::string> credentials;
  if (auto c = body->find("credentials"); c != body->end()) {
    if (!c->is_array()) return problem(400, "credentials must be an array of VC-JWT strings", "invalid-argument");
    for (const auto& v : *c) {
      if (!v.is_string()) return problem(400, "credentials must be an array of VC-JWT strings", "invalid-argument");
      credentials.push_back(v.get<std::string>());
    }
  }
  auto token = attest(*did, *nonce, *signature, credentials);
  if (!token) return errorResponse(token.error());
  return jsonResponse(200, json{{"token", *token},
                                {"token_type", "JWT"},
                                {"expires_in", state_->options.tokenTtlSeconds}});
}

}  // namespace aether::api
