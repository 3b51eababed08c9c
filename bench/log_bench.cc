// Signed streams (src/log): durable appends of 1 KiB payloads through the vault (one synced
// RocksDB commit + one Ed25519 signature per append call, plus the pin/unpin of the newest
// entry), one at a time and in batches of 100; RFC 9162 proof generation and verification on a
// 10 000-entry tree. Compare with bench/log_hypercore.mjs (scripts/log-bench prints both).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "identity/identity.h"
#include "log/log.h"

namespace aether::log {
namespace {

namespace fs = std::filesystem;

struct TempVault {
  TempVault() {
    std::string tmpl = (fs::temp_directory_path() / "aether-log-bench-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    vault = std::move(*store::Vault::open(dir / "vault", Bytes(32, 0x33)));
  }
  ~TempVault() {
    vault.reset();
    fs::remove_all(dir);
  }
  fs::path dir;
  std::unique_ptr<store::Vault> vault;
};

crypto::Ed25519KeyPair benchKey() { return std::move(*crypto::Ed25519KeyPair::fromSeed(Bytes(32, 0x21))); }

void appendBench(benchmark::State& state, std::size_t batch) {
  (void)crypto::init();
  TempVault tv;
  const auto key = benchKey();
  auto stream = std::move(*Stream::open(*tv.vault, key, "bench", systemClock()));
  std::vector<Bytes> payloads(batch, Bytes(1024, 0xab));
  std::uint64_t n = 0;
  for (auto _ : state) {
    for (auto& p : payloads) {
      p[0] = static_cast<std::uint8_t>(n);
      p[1] = static_cast<std::uint8_t>(n >> 8);
      p[2] = static_cast<std::uint8_t>(n++ >> 16);
    }
    auto r = stream->append(payloads);
    if (!r) {
      state.SkipWithError(r.error().toString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * 1024));
}

void BM_DurableAppend1KiB_One(benchmark::State& state) { appendBench(state, 1); }
void BM_DurableAppend1KiB_Batch100(benchmark::State& state) { appendBench(state, 100); }
BENCHMARK(BM_DurableAppend1KiB_One)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_DurableAppend1KiB_Batch100)->Unit(benchmark::kMicrosecond)->MinTime(2.0)->UseRealTime();

// A 10 000-leaf tree of entry-sized leaves.
const MerkleTree& tree10k() {
  static const MerkleTree t = [] {
    MerkleTree t;
    for (std::uint64_t i = 0; i < 10000; ++i) {
      Bytes leaf(1100, static_cast<std::uint8_t>(i));
      leaf[0] = static_cast<std::uint8_t>(i >> 8);
      t.append(leafHash(leaf));
    }
    return t;
  }();
  return t;
}

void BM_ProveInclusion10k(benchmark::State& state) {
  const auto& t = tree10k();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    const std::uint64_t size = 1 + rng() % 10000;
    benchmark::DoNotOptimize(t.inclusionProof(rng() % size, size));
  }
}
BENCHMARK(BM_ProveInclusion10k)->Unit(benchmark::kMicrosecond);

void BM_VerifyInclusion10k(benchmark::State& state) {
  const auto& t = tree10k();
  const std::uint64_t index = 4321;
  const auto proof = *t.inclusionProof(index, 10000);
  const Hash root = t.root();
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifyInclusion(index, 10000, t.leaf(index), proof, root));
  }
}
BENCHMARK(BM_VerifyInclusion10k)->Unit(benchmark::kMicrosecond);

void BM_ProveConsistency10k(benchmark::State& state) {
  const auto& t = tree10k();
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    const std::uint64_t second = 1 + rng() % 10000;
    benchmark::DoNotOptimize(t.consistencyProof(1 + rng() % second, second));
  }
}
BENCHMARK(BM_ProveConsistency10k)->Unit(benchmark::kMicrosecond);

void BM_VerifyConsistency10k(benchmark::State& state) {
  const auto& t = tree10k();
  const auto proof = *t.consistencyProof(3333, 10000);
  const Hash r1 = *t.root(3333), r2 = t.root();
  for (auto _ : state) benchmark::DoNotOptimize(verifyConsistency(3333, 10000, r1, r2, proof));
}
BENCHMARK(BM_VerifyConsistency10k)->Unit(benchmark::kMicrosecond);

// What a verifier does per entry it receives alone: decode it, check the head signature
// (Ed25519 against the did:key) and the inclusion proof in a 10 000-entry stream.
void BM_VerifyEntryInSignedHead10k(benchmark::State& state) {
  (void)crypto::init();
  const auto key = benchKey();
  const std::string id = identity::didKeyFromEd25519(key.publicKey()) + "/bench";
  MerkleTree t;
  std::optional<codec::Cid> prev;
  Bytes chosen;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    Entry e{id, i, prev, Bytes(1024, static_cast<std::uint8_t>(i)), std::nullopt, 1};
    Bytes block = *encodeEntry(e);
    prev = blockCid(block);
    t.append(leafHash(block));
    if (i == 4321) chosen = block;
  }
  const SignedHead head = *signHead(Head{id, 10000, t.root(), 1}, key);
  const InclusionProof proof{4321, 10000, *t.inclusionProof(4321, 10000)};
  for (auto _ : state) {
    auto st = verifyEntryInHead(chosen, proof, head);
    if (!st) state.SkipWithError(st.error().toString().c_str());
  }
}
BENCHMARK(BM_VerifyEntryInSignedHead10k)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace aether::log
