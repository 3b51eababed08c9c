// libFuzzer target: jwsParse and parseDidKey / parseDidKeyUrl on arbitrary text. Besides "no
// crash, no sanitizer report", it checks the round-trip properties the parsers promise:
// an accepted JWS re-serializes to exactly its input and its parts are canonical base64url,
// and an accepted did:key is the canonical encoding of its key.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/codec.h"
#include "identity/identity.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether;
  using namespace aether::identity;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto jws = jwsParse(text)) {
    check(jws->compact() == text);
    std::size_t dot1 = text.find('.');
    std::size_t dot2 = text.find('.', dot1 + 1);
    check(codec::base64urlEncode(jws->payload) == text.substr(dot1 + 1, dot2 - dot1 - 1));
    check(jws->signingInput == text.substr(0, dot2));
    check(jws->header.is_object());
    check(jws->header.at("alg") == "EdDSA");
    // Verification must be well-behaved on anything the parser accepts.
    crypto::Ed25519PublicKey someKey{};
    someKey[0] = 1;
    (void)jwsVerify(*jws, someKey);
    (void)jwsVerifyWithKid(*jws);
  }

  // Inputs that look like JSON are also tried as a protected header, so the fuzzer reaches the
  // header checks without having to discover base64url first.
  if (!text.empty() && text.front() == '{') {
    static const std::string kSignature(86, 'A');
    std::string compact = codec::base64urlEncode(asBytes(text)) + "." + "." + kSignature;
    if (auto jws = jwsParse(compact)) {
      check(jws->compact() == compact);
      check(jws->header.is_object() && jws->header.at("alg") == "EdDSA");
      check(!jws->header.contains("crit") && !jws->header.contains("b64"));
    }
  }

  if (auto did = parseDidKey(text)) {
    check(didKeyFromEd25519(did->publicKey) == text);
    check(did->keyId() == std::string(text) + "#" + std::string(did->fingerprint()));
    auto doc = didDocument(*did);
    check(doc.has_value());
    auto url = parseDidKeyUrl(did->keyId());
    check(url.has_value() && url->publicKey == did->publicKey);
  }
  if (auto url = parseDidKeyUrl(text)) {
    check(url->keyId() == text);
  }
  return 0;
}
