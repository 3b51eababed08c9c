// JWS compact serialization with EdDSA / Ed25519 (RFC 7515, RFC 8037).
#include <set>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "identity/identity.h"

namespace aether::identity {
namespace {

// Nesting depth of JSON text, counted outside strings; enough to bound the parser's work
// before it builds anything (nlohmann's DOM would otherwise hold a million nested arrays).
std::size_t jsonDepth(std::string_view text) {
  std::size_t depth = 0, maxDepth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      maxDepth = std::max(maxDepth, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return maxDepth;
}


using nlohmann::json;

constexpr std::size_t kSignatureB64Chars = 86;  // 64 bytes, unpadded base64url

// Parses and checks a protected header. Errors carry the codes jwsParse documents.
Result<json> parseHeader(std::string_view text) {
  auto parsed = parseStrictJson(text, kMaxJwsHeaderDepth, Errc::kMalformed, "jws: protected header");
  if (!parsed) return std::unexpected(std::move(parsed).error());
  json header = std::move(*parsed);
  if (!header.is_object()) {
    return fail(Errc::kMalformed, "jws: protected header is not a JSON object");
  }
  auto alg = header.find("alg");
  if (alg == header.end()) return fail(Errc::kMalformed, "jws: protected header has no \"alg\"");
  if (!alg->is_string()) return fail(Errc::kMalformed, "jws: \"alg\" is not a string");
  const std::string& algName = alg->get_ref<const std::string&>();
  if (algName == "none") return fail(Errc::kUnsupported, "jws: alg \"none\" is never accepted");
  if (algName != "EdDSA") {
    return fail(Errc::kUnsupported, "jws: alg \"" + algName.substr(0, 32) +
                                        "\" is not supported (only EdDSA)");
  }
  if (auto crit = header.find("crit"); crit != header.end()) {
    if (!crit->is_array() || crit->empty()) {
      return fail(Errc::kMalformed, "jws: \"crit\" must be a non-empty array");
    }
    for (const json& name : *crit) {
      if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
        return fail(Errc::kMalformed, "jws: \"crit\" must list header parameter names");
      }
    }
    return fail(Errc::kUnsupported, "jws: critical extension \"" +
                                        crit->front().get<std::string>().substr(0, 32) +
                                        "\" is not understood");
  }
  if (header.contains("b64")) {
    return fail(Errc::kUnsupported, "jws: the \"b64\" header (RFC 7797) is not supported");
  }
  return header;
}

}  // namespace

// Duplicate member names are legal JSON but ambiguous (RFC 7515 §5.2 says reject or take the
// last; two parsers may disagree), so parseStrictJson rejects them at any depth.
Result<nlohmann::json> parseStrictJson(std::string_view text, std::size_t maxDepth, Errc tooDeep,
                                       std::string_view what) {
  if (jsonDepth(text) > maxDepth) {
    return fail(tooDeep, std::string(what) + " nests deeper than " + std::to_string(maxDepth));
  }
  std::vector<std::set<std::string, std::less<>>> objects;
  bool duplicate = false;
  auto callback = [&objects, &duplicate](int /*depth*/, json::parse_event_t event,
                                         json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
        objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!objects.empty()) objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!objects.empty() && parsed.is_string() &&
            !objects.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  json out;
  try {
    out = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  } catch (const std::exception& e) {  // the parser reports errors in-band; this is belt and braces
    return fail(Errc::kMalformed, std::string(what) + ": " + e.what());
  }
  if (out.is_discarded()) return fail(Errc::kMalformed, std::string(what) + " is not JSON");
  if (duplicate) return fail(Errc::kMalformed, std::string(what) + " has a duplicate member");
  if (!out.is_object()) return fail(Errc::kMalformed, std::string(what) + " is not a JSON object");
  return out;
}

std::string Jws::compact() const {
  std::string out = signingInput;
  out += '.';
  out += codec::base64urlEncode(signature);
  return out;
}

std::string_view Jws::kid() const {
  if (!header.is_object()) return {};
  auto it = header.find("kid");
  if (it == header.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

Result<std::string> jwsSign(const crypto::Ed25519KeyPair& key, const json& protectedHeaderExtra,
                            ByteView payload) {
  json header = json::object();
  if (!protectedHeaderExtra.is_null()) {
    if (!protectedHeaderExtra.is_object()) {
      return fail(Errc::kInvalidArgument, "jws: extra header parameters must be a JSON object");
    }
    header = protectedHeaderExtra;
  }
  if (auto alg = header.find("alg"); alg != header.end() && *alg != "EdDSA") {
    return fail(Errc::kInvalidArgument, "jws: alg must be EdDSA");
  }
  if (header.contains("crit") || header.contains("b64")) {
    return fail(Errc::kInvalidArgument, "jws: \"crit\" / \"b64\" extensions are not supported");
  }
  header["alg"] = "EdDSA";
  std::string headerJson;
  try {
    headerJson = header.dump();  // compact, keys sorted (nlohmann's std::map order)
  } catch (const json::exception& e) {
    return fail(Errc::kInvalidArgument, std::string("jws: header cannot be serialized: ") +
                                            e.what());
  }
  // Never produce what jwsParse would refuse.
  if (auto ok = parseHeader(headerJson); !ok) {
    return fail(Errc::kInvalidArgument, ok.error().message);
  }
  std::size_t total = (headerJson.size() + 2) / 3 * 4 + 1 + (payload.size() + 2) / 3 * 4 + 1 +
                      kSignatureB64Chars;
  if (total > kMaxJwsBytes) {
    return fail(Errc::kLimitExceeded, "jws: would exceed " + std::to_string(kMaxJwsBytes) +
                                          " bytes");
  }
  std::string out = codec::base64urlEncode(asBytes(headerJson));
  out += '.';
  out += codec::base64urlEncode(payload);
  crypto::Ed25519Signature sig = key.sign(asBytes(out));
  out += '.';
  out += codec::base64urlEncode(sig);
  return out;
}

Result<Jws> jwsParse(std::string_view compact) {
  if (compact.size() > kMaxJwsBytes) {
    return fail(Errc::kLimitExceeded, "jws: longer than " + std::to_string(kMaxJwsBytes) +
                                          " bytes");
  }
  std::size_t dot1 = compact.find('.');
  std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return fail(Errc::kMalformed, "jws: compact serialization must have exactly 3 parts");
  }
  std::string_view headerB64 = compact.substr(0, dot1);
  std::string_view payloadB64 = compact.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signatureB64 = compact.substr(dot2 + 1);
  if (headerB64.empty()) return fail(Errc::kMalformed, "jws: empty protected header");

  auto headerBytes = codec::base64urlDecode(headerB64);
  if (!headerBytes) return withContext(std::move(headerBytes).error(), "jws: protected header");
  Jws jws;
  AE_ASSIGN_OR_RETURN(jws.header, parseHeader(asChars(*headerBytes)));

  auto payload = codec::base64urlDecode(payloadB64);
  if (!payload) return withContext(std::move(payload).error(), "jws: payload");
  jws.payload = std::move(*payload);

  auto signature = codec::base64urlDecode(signatureB64);
  if (!signature) return withContext(std::move(signature).error(), "jws: signature");
  if (signature->size() != crypto::kEd25519SignatureSize) {
    return fail(Errc::kWrongLength, "jws: an EdDSA signature is 64 bytes, got " +
                                        std::to_string(signature->size()));
  }
  std::copy(signature->begin(), signature->end(), jws.signature.begin());
  jws.signingInput = std::string(compact.substr(0, dot2));
  return jws;
}

Status jwsVerify(const Jws& jws, ByteView publicKey) {
  auto ok = crypto::ed25519Verify(publicKey, asBytes(jws.signingInput), jws.signature);
  if (!ok) return withContext(std::move(ok).error(), "jws");
  return {};
}

Result<DidKey> jwsVerifyWithKid(const Jws& jws) {
  std::string_view kid = jws.kid();
  if (kid.empty()) return fail(Errc::kMalformed, "jws: protected header has no string \"kid\"");
  auto key = parseDidKeyUrl(kid);
  if (!key) return withContext(std::move(key).error(), "jws: kid");
  AE_TRY(jwsVerify(jws, key->publicKey));
  return std::move(*key);
}

}  // namespace aether::identity
