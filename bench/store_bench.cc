// The vault's add path side by side with its limits, one core, one run:
//   BM_Limit_Sha256PlusXChaCha  the fastest raw work per byte an encrypted add must do (SHA-256
//                               for the CID + XChaCha20-Poly1305 sealing, crypto.h's OpenSSL paths)
//   BM_Import_NoStore           UnixFS import into a sink that keeps nothing (CPU of the importer)
//   BM_VaultAdd_Durable         UnixFS import into the vault + flush() (synced), as `vault add`
// Node's ipfs-unixfs-importer into blockstore-fs / blockstore-level is the other peer (issue
// note figures); its stores are unencrypted and not synced.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>

#include "crypto/crypto.h"
#include "store/store.h"

namespace {

using aether::Bytes;
using aether::ByteView;
namespace crypto = aether::crypto;
namespace store = aether::store;
namespace fs = std::filesystem;

constexpr std::int64_t kMiB = 1 << 20;

Bytes randomBytes(std::size_t n) {
  Bytes b(n);
  crypto::SeededRng(42).fill(b);
  return b;
}

void BM_Limit_Sha256PlusXChaCha(benchmark::State& state) {
  const Bytes data = randomBytes(state.range(0));
  const Bytes key(32, 7), nonce(24, 9);
  constexpr std::size_t kChunk = 262144;
  Bytes out(kChunk + crypto::kAeadTagSize);
  for (auto _ : state) {
    for (std::size_t off = 0; off < data.size(); off += kChunk) {
      ByteView chunk(data.data() + off, std::min(kChunk, data.size() - off));
      benchmark::DoNotOptimize(crypto::sha256(chunk));
      (void)crypto::xchacha20poly1305SealInto(key, nonce, {}, chunk,
                                              std::span<std::uint8_t>(out.data(), chunk.size() + crypto::kAeadTagSize));
    }
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Limit_Sha256PlusXChaCha)->Arg(256 * kMiB)->Unit(benchmark::kMillisecond);

class NullSink final : public store::BlockSink {
 public:
  aether::Status put(const aether::codec::Cid&, ByteView) override { return {}; }
};

void BM_Import_NoStore(benchmark::State& state) {
  const Bytes data = randomBytes(state.range(0));
  NullSink sink;
  for (auto _ : state) {
    store::MemoryByteSource src(data);
    benchmark::DoNotOptimize(store::importFile(src, sink, store::kProfileDefault));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Import_NoStore)->Arg(256 * kMiB)->Unit(benchmark::kMillisecond);

void BM_VaultAdd_Durable(benchmark::State& state) {
  const Bytes data = randomBytes(state.range(0));
  std::string tmpl = (fs::temp_directory_path() / "aether-bench-vault-XXXXXX").string();
  const fs::path dir = ::mkdtemp(tmpl.data());
  std::uint64_t round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto vault = store::Vault::open(dir / std::to_string(round++), Bytes(32, 1));
    if (!vault) {
      state.SkipWithError(vault.error().toString().c_str());
      break;
    }
    state.ResumeTiming();
    store::MemoryByteSource src(data);
    auto r = store::importFile(src, **vault, store::kProfileDefault);
    auto f = (*vault)->flush();
    if (!r || !f) {
      state.SkipWithError("import failed");
      break;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_VaultAdd_Durable)->Arg(256 * kMiB)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
