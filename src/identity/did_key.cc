// did:key for Ed25519 keys and the DID documents they resolve to.
#include <algorithm>
#include <string>

#include "codec/codec.h"
#include "identity/identity.h"

namespace aether::identity {
namespace {

std::string multikey(std::uint64_t multicodec, ByteView key) {
  Bytes b;
  b.reserve(varintSize(multicodec) + key.size());
  varintAppend(b, multicodec);
  append(b, key);
  return codec::multibaseEncode(codec::Multibase::kBase58btc, b);
}

std::string hexCode(std::uint64_t code) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[code & 0xf]);
    code >>= 4;
  } while (code != 0);
  return "0x" + s;
}

}  // namespace

std::string DidKey::keyId() const {
  std::string id = did;
  id += '#';
  id += fingerprint();
  return id;
}

std::string ed25519Multikey(const crypto::Ed25519PublicKey& publicKey) {
  return multikey(codec::mc::kEd25519Pub, publicKey);
}

std::string x25519Multikey(const crypto::X25519PublicKey& publicKey) {
  return multikey(codec::mc::kX25519Pub, publicKey);
}

std::string didKeyFromEd25519(const crypto::Ed25519PublicKey& publicKey) {
  return std::string(kDidKeyPrefix) + ed25519Multikey(publicKey);
}

DidKey didKeyFor(const crypto::Ed25519PublicKey& publicKey) {
  return DidKey{publicKey, didKeyFromEd25519(publicKey)};
}

Result<DidKey> parseDidKey(std::string_view did) {
  if (did.size() > kMaxDidKeyLength) {
    return fail(Errc::kLimitExceeded, "did:key: longer than " +
                                          std::to_string(kMaxDidKeyLength) + " characters");
  }
  if (!did.starts_with(kDidKeyPrefix)) {
    return fail(Errc::kMalformed, "did:key: does not start with \"did:key:\"");
  }
  std::string_view id = did.substr(kDidKeyPrefix.size());
  if (id.empty()) return fail(Errc::kMalformed, "did:key: empty method-specific id");
  if (id.find_first_of("#?/") != std::string_view::npos) {
    return fail(Errc::kMalformed,
                "did:key: unexpected path, query or fragment (a DID URL, not a DID)");
  }
  if (id.front() != 'z') {
    return fail(Errc::kMalformed, "did:key: method-specific id must be base58btc multibase "
                                  "(start with 'z')");
  }
  auto decoded = codec::base58btcDecode(id.substr(1));
  if (!decoded) return withContext(std::move(decoded).error(), "did:key");
  auto code = varintDecode(*decoded);
  if (!code) return withContext(std::move(code).error(), "did:key: multicodec");
  if (code->value != codec::mc::kEd25519Pub) {
    auto name = codec::multicodecName(code->value);
    return fail(Errc::kUnsupported, "did:key: multicodec " + hexCode(code->value) +
                                        (name ? " (" + std::string(*name) + ")" : "") +
                                        " is not supported; only ed25519-pub (0xed)");
  }
  ByteView key = ByteView(*decoded).subspan(code->length);
  if (key.size() != crypto::kEd25519PublicKeySize) {
    return fail(Errc::kWrongLength, "did:key: ed25519 public key must be 32 bytes, got " +
                                        std::to_string(key.size()));
  }
  if (auto ok = crypto::ed25519ValidatePublicKey(key); !ok) {
    return withContext(std::move(ok).error(), "did:key");
  }
  DidKey out;
  std::copy(key.begin(), key.end(), out.publicKey.begin());
  out.did = std::string(did);
  // base58btc and minimal varints are bijective, so this holds; keep the invariant explicit.
  if (didKeyFromEd25519(out.publicKey) != out.did) {
    return fail(Errc::kNonCanonical, "did:key: not the canonical encoding of its key");
  }
  return out;
}

Result<DidKey> parseDidKeyUrl(std::string_view url) {
  if (url.size() > 2 * kMaxDidKeyLength) {
    return fail(Errc::kLimitExceeded, "did:key URL: too long");
  }
  std::size_t hash = url.find('#');
  if (hash == std::string_view::npos) {
    return fail(Errc::kMalformed, "did:key URL: no '#fragment' naming the key");
  }
  AE_ASSIGN_OR_RETURN(DidKey key, parseDidKey(url.substr(0, hash)));
  if (url.substr(hash + 1) != key.fingerprint()) {
    return fail(Errc::kMalformed, "did:key URL: fragment is not the key's own fingerprint");
  }
  return key;
}

Result<nlohmann::json> didDocument(std::string_view did, DidDocumentFormat format) {
  AE_ASSIGN_OR_RETURN(DidKey key, parseDidKey(did));
  return didDocument(key, format);
}

Result<nlohmann::json> didDocument(const DidKey& key, DidDocumentFormat format) {
  const std::string fingerprint(key.fingerprint());
  const std::string keyId = key.keyId();
  using nlohmann::json;
  json doc = json::object();
  json method = {{"id", keyId},
                 {"controller", key.did},
                 {"publicKeyMultibase", fingerprint}};
  if (format == DidDocumentFormat::kMultikey) {
    doc["@context"] = json::array({"https://www.w3.org/ns/did/v1",
                                   "https://w3id.org/security/multikey/v1"});
    method["type"] = "Multikey";
  } else {
    doc["@context"] = json::array({"https://www.w3.org/ns/did/v1",
                                   "https://w3id.org/security/suites/ed25519-2020/v1",
                                   "https://w3id.org/security/suites/x25519-2020/v1"});
    method["type"] = "Ed25519VerificationKey2020";
  }
  doc["id"] = key.did;
  doc["verificationMethod"] = json::array({method});
  for (const char* relation :
       {"authentication", "assertionMethod", "capabilityDelegation", "capabilityInvocation"}) {
    doc[relation] = json::array({keyId});
  }
  if (format == DidDocumentFormat::kEd25519VerificationKey2020) {
    auto x = crypto::ed25519PublicToX25519(key.publicKey);
    if (!x) return withContext(std::move(x).error(), "did:key: keyAgreement");
    std::string xFingerprint = x25519Multikey(*x);
    doc["keyAgreement"] = json::array({json{{"id", key.did + "#" + xFingerprint},
                                            {"type", "X25519KeyAgreementKey2020"},
                                            {"controller", key.did},
                                            {"publicKeyMultibase", xFingerprint}}});
  }
  return doc;
}

}  // namespace aether::identity
