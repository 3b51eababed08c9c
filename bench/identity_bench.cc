// identity/: keystore unlock (Argon2id + XChaCha20-Poly1305 open + key expansion) at the presets
// the CLI uses, next to the bare Argon2id it is dominated by; plus JWS and did:key costs.
#include <benchmark/benchmark.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "identity/identity.h"

namespace {

namespace fs = std::filesystem;
namespace crypto = aether::crypto;
namespace identity = aether::identity;
using aether::asBytes;

// One temp keystore per preset, created on first use and removed at exit.
class TempKeystore {
 public:
  explicit TempKeystore(const identity::KdfParams& kdf) {
    char tmpl[] = "/tmp/aether-identity-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir_ = fs::path(tmpl) / "keystore";
    crypto::SystemRng rng;
    if (!identity::Keystore::create(dir_, asBytes("bench passphrase"), kdf, rng)) std::abort();
  }
  ~TempKeystore() {
    std::error_code ec;
    fs::remove_all(dir_.parent_path(), ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

void unlock(benchmark::State& state, const identity::KdfParams& kdf) {
  TempKeystore ks(kdf);
  for (auto _ : state) {
    auto unlocked = identity::Keystore::unlock(ks.dir(), asBytes("bench passphrase"));
    if (!unlocked) state.SkipWithError(unlocked.error().toString().c_str());
    benchmark::DoNotOptimize(unlocked);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_KeystoreUnlock_moderate(benchmark::State& state) {
  unlock(state, identity::KdfParams::moderate());
}
BENCHMARK(BM_KeystoreUnlock_moderate)
    ->Name("BM_KeystoreUnlock/moderate_3x256MiB")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

void BM_KeystoreUnlock_interactive(benchmark::State& state) {
  unlock(state, identity::KdfParams::interactive());
}
BENCHMARK(BM_KeystoreUnlock_interactive)
    ->Name("BM_KeystoreUnlock/interactive_2x64MiB")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(10);

void BM_Argon2id_sodium(benchmark::State& state) {
  unsigned char out[32], salt[16] = {1};
  for (auto _ : state) {
    int rc = crypto_pwhash(out, sizeof(out), "bench passphrase", 16, salt,
                           static_cast<unsigned long long>(state.range(0)),
                           static_cast<std::size_t>(state.range(1)) << 20,
                           crypto_pwhash_ALG_ARGON2ID13);
    benchmark::DoNotOptimize(rc);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2id_sodium)
    ->Name("BM_Argon2id/libsodium_raw")
    ->Args({3, 256})
    ->Args({2, 64})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

// ---- JWS / did:key ----

void BM_JwsSign(benchmark::State& state) {
  auto kp = crypto::Ed25519KeyPair::generate();
  nlohmann::json extra = {{"kid", identity::didKeyFor(kp->publicKey()).keyId()}, {"typ", "JWT"}};
  std::string payload(256, 'p');
  for (auto _ : state) benchmark::DoNotOptimize(identity::jwsSign(*kp, extra, asBytes(payload)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JwsSign)->Name("BM_Jws/sign_256B");

void BM_JwsParseVerify(benchmark::State& state) {
  auto kp = crypto::Ed25519KeyPair::generate();
  nlohmann::json extra = {{"kid", identity::didKeyFor(kp->publicKey()).keyId()}, {"typ", "JWT"}};
  std::string payload(256, 'p');
  std::string compact = identity::jwsSign(*kp, extra, asBytes(payload)).value();
  for (auto _ : state) {
    auto jws = identity::jwsParse(compact);
    benchmark::DoNotOptimize(identity::jwsVerifyWithKid(*jws));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JwsParseVerify)->Name("BM_Jws/parse_and_verify_by_kid_256B");

void BM_DidKeyParse(benchmark::State& state) {
  auto kp = crypto::Ed25519KeyPair::generate();
  std::string did = identity::didKeyFromEd25519(kp->publicKey());
  for (auto _ : state) benchmark::DoNotOptimize(identity::parseDidKey(did));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DidKeyParse)->Name("BM_DidKey/parse");

}  // namespace
