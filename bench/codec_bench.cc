// codec benchmarks: DAG-CBOR encode / decode throughput on a realistic block, CID parse and
// format latency. Run: ./build/bench/codec_bench
#include <benchmark/benchmark.h>

#include <string>

#include "codec/codec.h"

namespace aether::codec {
namespace {

Cid sampleCid(std::uint8_t seed, std::uint64_t codec = mc::kDagCbor) {
  Bytes digest(32);
  for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  return Cid::v1(codec, *Multihash::sha256(digest));
}

// Shaped like a signed action-log entry: header fields, a payload map, parent links, a signature.
Value sampleBlock() {
  Value::List parents;
  for (std::uint8_t i = 0; i < 4; ++i) parents.emplace_back(sampleCid(i));
  Value::List ops;
  for (int i = 0; i < 24; ++i) {
    ops.emplace_back(Value::Map{
        {"op", i % 3 == 0 ? "put" : "set"},
        {"path", "/spaces/personal/notes/" + std::to_string(i)},
        {"value", Value::Map{{"title", "Meeting notes " + std::to_string(i)},
                             {"body", std::string(48, static_cast<char>('a' + i % 26))},
                             {"tags", Value::List{"work", "draft"}},
                             {"rev", i * 1000}}},
        {"ts", std::int64_t{1700000000000} + i},
    });
  }
  return Value(Value::Map{
      {"v", 1},
      {"kind", "aether.action"},
      {"author", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
      {"seq", std::int64_t{4294967296}},
      {"parents", Value(std::move(parents))},
      {"ops", Value(std::move(ops))},
      {"payload", Value(sampleCid(9, mc::kRaw))},
      {"score", 0.875},
      {"sig", Value(Bytes(64, 0x5a))},
  });
}

void BM_DagCborEncode(benchmark::State& state) {
  const Value v = sampleBlock();
  const std::size_t size = encodeDagCbor(v)->size();
  for (auto _ : state) {
    auto out = encodeDagCbor(v);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
  state.counters["block_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_DagCborEncode);

void BM_DagCborDecode(benchmark::State& state) {
  const Bytes bytes = *encodeDagCbor(sampleBlock());
  for (auto _ : state) {
    auto v = decodeDagCbor(bytes);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.counters["block_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_DagCborDecode);

void BM_CidParseV1Base32(benchmark::State& state) {
  const std::string text = sampleCid(3).toString();
  for (auto _ : state) {
    auto c = Cid::parse(text);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CidParseV1Base32);

void BM_CidParseV0(benchmark::State& state) {
  const std::string text = "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR";
  for (auto _ : state) {
    auto c = Cid::parse(text);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CidParseV0);

void BM_CidFromBytes(benchmark::State& state) {
  const Bytes bytes = sampleCid(3).toBytes();
  for (auto _ : state) {
    auto c = Cid::fromBytes(bytes);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_CidFromBytes);

void BM_CidFormatV1Base32(benchmark::State& state) {
  const Cid cid = sampleCid(3);
  for (auto _ : state) {
    auto s = cid.toString();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CidFormatV1Base32);

void BM_CidFormatBase58(benchmark::State& state) {
  const Cid cid = sampleCid(3);
  for (auto _ : state) {
    auto s = cid.toString(Multibase::kBase58btc);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_CidFormatBase58);

}  // namespace
}  // namespace aether::codec
