// libFuzzer target: the UCAN token parser and the chain verifier. An accepted token must
// re-serialize to exactly its input and its capabilities must survive the UCAN mapping. Inputs
// that look like JSON are also signed as a payload with a fixed key that the verifier trusts
// ("@root" in them stands for that key's did:key, "@app" for another), so the fuzzer reaches the
// payload checks and the chain logic without forging signatures or guessing DIDs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cap/cap.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

class FixedClock final : public aether::cap::Clock {
 public:
  std::int64_t now() const override { return 1'700'000'000; }
};

const aether::crypto::Ed25519KeyPair& rootKey() {
  static const aether::crypto::Ed25519KeyPair key =
      aether::crypto::Ed25519KeyPair::fromSeed(aether::Bytes(32, 7)).value();
  return key;
}

void exercise(std::string_view token) {
  using namespace aether;
  using namespace aether::cap;
  auto u = parseUcan(token);
  if (!u) {
    (void)tokenFault(u.error());
    return;
  }
  check(u->encoded() == token);
  check(u->cid() == ucanCid(token));
  for (const Capability& c : u->capabilities) {
    const UcanCapability m = toUcan(c);
    check(fromUcan(m.with, m.can).value() == c);
  }
  static const FixedClock clock;
  static const Ed25519SignatureVerifier signatures;
  TokenVerifier verifier({identity::didKeyFromEd25519(rootKey().publicKey())}, clock, signatures);
  auto v = verifier.verify(token);
  if (v) {
    check(!v->chain.empty() && v->expiresAt > clock.now());
    for (const Capability& c : v->capabilities) {
      check(verifier.check(token, v->audience, c).has_value());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  exercise(text);
  if (!text.empty() && text.front() == '{') {
    static const std::string kRoot = identity::didKeyFromEd25519(rootKey().publicKey());
    static const std::string kApp = identity::didKeyFromEd25519(
        crypto::Ed25519KeyPair::fromSeed(Bytes(32, 8)).value().publicKey());
    std::string payload;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text.substr(i).starts_with("@root")) {
        payload += kRoot;
        i += 4;
      } else if (text.substr(i).starts_with("@app")) {
        payload += kApp;
        i += 3;
      } else {
        payload += text[i];
      }
    }
    const nlohmann::json header = {{"typ", "JWT"}, {"ucv", "0.8.1"}};
    if (auto token = identity::jwsSign(rootKey(), header, asBytes(payload))) exercise(*token);
  }
  return 0;
}
