// Verifiable credentials as JWTs (W3C VC Data Model 1.1, "JWT encoding": iss, sub, nbf, exp,
// jti, vc) and the daemon's Bearer tokens (our attest JWTs with a UCAN-style "att" list of
// capabilities). Signatures are EdDSA (RFC 8037) through identity/'s strict JWS code.
#include <algorithm>

#include "api/api.h"
#include "api/internal.h"
#include "cap/cap.h"
#include "codec/codec.h"
#include "identity/identity.h"

namespace aether::api {

using nlohmann::json;

namespace {

constexpr std::string_view kVcContext = "https://www.w3.org/2018/credentials/v1";
constexpr std::int64_t kClockSkewSeconds = 60;

bool validTypeName(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// A JSON object of at most 64 members without "id" (the subject goes in sub).
Status checkClaims(const json& claims) {
  if (!claims.is_object()) return fail(Errc::kInvalidArgument, "credential claims must be a JSON object");
  if (claims.size() > 64) return fail(Errc::kLimitExceeded, "credential: more than 64 claims");
  if (claims.contains("id")) return fail(Errc::kInvalidArgument, "credential claims must not set \"id\" (the subject is sub)");
  return {};
}

std::int64_t intClaim(const json& p, const char* k, std::int64_t missing) {
  auto it = p.find(k);
  if (it == p.end() || !it->is_number_integer()) return missing;
  return it->get<std::int64_t>();
}

}  // namespace

Result<std::string> issueVcJwt(const crypto::Ed25519KeyPair& issuerKey, const CredentialRequest& req,
                               std::int64_t nowSeconds, ByteView jtiBytes) {
  AE_TRY(checkDidSyntax(req.subject));
  if (!validTypeName(req.type)) {
    return fail(Errc::kInvalidArgument, "credential type must be 1-64 characters of [A-Za-z0-9_.-]");
  }
  AE_TRY(checkClaims(req.claims));
  if (req.ttlSeconds <= 0 || req.ttlSeconds > 10LL * 365 * 24 * 3600) {
    return fail(Errc::kInvalidArgument, "credential lifetime must be 1 s .. 10 years");
  }
  const auto issuer = identity::didKeyFor(issuerKey.publicKey());
  json subject = req.claims;
  const json payload = {
      {"iss", issuer.did},
      {"sub", req.subject},
      {"nbf", nowSeconds},
      {"iat", nowSeconds},
      {"exp", nowSeconds + req.ttlSeconds},
      {"jti", "urn:aether:vc:" + codec::base64urlEncode(jtiBytes)},
      {"vc",
       {{"@context", json::array({kVcContext})},
        {"type", json::array({"VerifiableCredential", req.type})},
        {"credentialSubject", subject}}}};
  return identity::jwsSign(issuerKey, json{{"kid", issuer.keyId()}, {"typ", "JWT"}}, asBytes(payload.dump()));
}

Result<VerifiedCredential> verifyVcJwt(std::string_view jwt, const DidResolver& resolve, std::int64_t nowSeconds) {
  AE_ASSIGN_OR_RETURN(identity::Jws jws, identity::jwsParse(jwt));
  AE_ASSIGN_OR_RETURN(json p, identity::parseStrictJson(asChars(jws.payload), 16, Errc::kMalformed, "credential payload"));
  if (!p.is_object()) return fail(Errc::kMalformed, "credential payload is not a JSON object");
  VerifiedCredential out;
  if (!p.contains("iss") || !p["iss"].is_string()) return fail(Errc::kMalformed, "credential without a string iss");
  if (!p.contains("sub") || !p["sub"].is_string()) return fail(Errc::kMalformed, "credential without a string sub");
  out.issuer = p["iss"].get<std::string>();
  out.subject = p["sub"].get<std::string>();
  AE_TRY(checkDidSyntax(out.issuer));
  // The signing key: kid must name an authentication key of the issuer's document.
  const std::string kid(jws.kid());
  if (kid.empty()) return fail(Errc::kMalformed, "credential header has no kid");
  if (!kid.starts_with(out.issuer + "#")) return fail(Errc::kAuthFailed, "credential kid is not a key of its issuer");
  AE_ASSIGN_OR_RETURN(json doc, resolve(out.issuer));
  AE_ASSIGN_OR_RETURN(auto keys, authenticationKeys(doc));
  bool verified = false;
  for (const AuthKey& k : keys) {
    if (k.id == kid) {
      AE_TRY(identity::jwsVerify(jws, k.publicKey));
      verified = true;
      break;
    }
  }
  if (!verified) return fail(Errc::kAuthFailed, "credential kid " + kid + " is not an authentication key of " + out.issuer);
  out.notBefore = intClaim(p, "nbf", 0);
  out.expiresAt = intClaim(p, "exp", -1);
  if (out.expiresAt < 0) return fail(Errc::kMalformed, "credential without an integer exp");
  if (nowSeconds >= out.expiresAt + kClockSkewSeconds) return fail(Errc::kAuthFailed, "credential expired");
  if (nowSeconds + kClockSkewSeconds < out.notBefore) return fail(Errc::kAuthFailed, "credential not valid yet");
  if (p.contains("jti") && p["jti"].is_string()) out.id = p["jti"].get<std::string>();
  auto vc = p.find("vc");
  if (vc == p.end() || !vc->is_object()) return fail(Errc::kMalformed, "credential without a vc object");
  auto ctx = vc->find("@context");
  if (ctx == vc->end() || !ctx->is_array() || ctx->empty() || (*ctx)[0] != kVcContext) {
    return fail(Errc::kMalformed, "vc.@context must start with " + std::string(kVcContext));
  }
  auto types = vc->find("type");
  if (types == vc->end() || !types->is_array()) return fail(Errc::kMalformed, "vc.type must be an array");
  for (const auto& t : *types) {
    if (!t.is_string()) return fail(Errc::kMalformed, "vc.type entries must be strings");
    out.types.push_back(t.get<std::string>());
  }
  if (std::find(out.types.begin(), out.types.end(), "VerifiableCredential") == out.types.end()) {
    return fail(Errc::kMalformed, "vc.type lacks VerifiableCredential");
  }
  auto cs = vc->find("credentialSubject");
  if (cs == vc->end() || !cs->is_object()) return fail(Errc::kMalformed, "vc.credentialSubject must be an object");
  if (cs->contains("id") && (*cs)["id"] != out.subject) return fail(Errc::kMalformed, "credentialSubject.id differs from sub");
  out.claims = *cs;
  return out;
}

Result<std::vector<cap::Capability>> capabilitiesOfToken(const json& payload) {
  std::vector<cap::Capability> out;
  auto att = payload.find("att");
  if (att == payload.end()) return out;
  if (!att->is_array() || att->size() > 64) return fail(Errc::kMalformed, "token att must be an array of at most 64");
  for (const auto& a : *att) {
    if (!a.is_object() || !a.contains("with") || !a.contains("can") || !a["with"].is_string() || !a["can"].is_string()) {
      return fail(Errc::kMalformed, "token att entries are {\"with\": .., \"can\": ..}");
    }
    AE_ASSIGN_OR_RETURN(cap::Capability c, cap::fromUcan(a["with"].get<std::string>(), a["can"].get<std::string>()));
    out.push_back(std::move(c));
  }
  return out;
}

Result<BearerToken> verifyBearer(std::string_view authorization, const crypto::Ed25519PublicKey& nodeKey,
                                 std::string_view nodeDid, std::int64_t nowSeconds) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.empty()) return fail(Errc::kAuthFailed, "this route needs Authorization: Bearer <token from /v1/identity/attest>");
  if (authorization.size() <= kScheme.size() || !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
      })) {
    return fail(Errc::kAuthFailed, "Authorization must use the Bearer scheme");
  }
  auto jws = identity::jwsParse(authorization.substr(kScheme.size()));
  if (!jws) return fail(Errc::kAuthFailed, "bearer token: " + jws.error().message);
  if (!identity::jwsVerify(*jws, nodeKey)) return fail(Errc::kAuthFailed, "bearer token: not signed by this node");
  auto p = identity::parseStrictJson(asChars(jws->payload), 16, Errc::kMalformed, "token payload");
  if (!p || !p->is_object()) return fail(Errc::kAuthFailed, "bearer token: payload is not a JSON object");
  BearerToken t;
  if ((*p).value("iss", std::string()) != nodeDid) return fail(Errc::kAuthFailed, "bearer token: issued by another node");
  const auto& aud = (*p)["aud"];
  const bool forUs = (aud.is_string() && aud == nodeDid) ||
                     (aud.is_array() && std::find(aud.begin(), aud.end(), json(nodeDid)) != aud.end());
  if (!forUs) return fail(Errc::kAuthFailed, "bearer token: wrong audience (it was issued for another service)");
  const std::int64_t exp = intClaim(*p, "exp", -1);
  if (exp < 0) return fail(Errc::kAuthFailed, "bearer token: no exp");
  if (nowSeconds >= exp) return fail(Errc::kAuthFailed, "bearer token: expired");
  if (nowSeconds + kClockSkewSeconds < intClaim(*p, "nbf", intClaim(*p, "iat", 0))) {
    return fail(Errc::kAuthFailed, "bearer token: not valid yet");
  }
  t.subject = (*p).value("sub", std::string());
  t.expiresAt = exp;
  auto caps = capabilitiesOfToken(*p);
  if (!caps) return fail(Errc::kAuthFailed, "bearer token: " + caps.error().message);
  t.capabilities = std::move(*caps);
  return t;
}

}  // namespace aether::api
