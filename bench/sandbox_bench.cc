// The sandbox's costs side by side with the bare library, one run:
//   BM_GateCheck           what a capability check adds to a host call: normalize the resource,
//                          parse the capability, TokenVerifier::check on a cached token
//   BM_Compute_BareWasmtime / BM_Compute_AetherFuel
//                          a compute-bound core module (a 2 M-iteration integer loop) on a bare
//                          Wasmtime engine (no fuel, no epochs) and on ours (fuel metering +
//                          epoch checks): the metering overhead
#include <benchmark/benchmark.h>
#include <wasmtime.h>

#include "cap/cap.h"
#include "crypto/crypto.h"
#include "identity/identity.h"
#include "sandbox/sandbox.h"

namespace {

using namespace aether;

void BM_GateCheck(benchmark::State& state) {
  crypto::SeededRng rng(1);
  auto node = crypto::Ed25519KeyPair::generate(rng);
  auto app = crypto::Ed25519KeyPair::generate(rng);
  const std::string node_did = identity::didKeyFromEd25519(node->publicKey());
  const std::string app_did = identity::didKeyFromEd25519(app->publicKey());
  cap::SystemClock clock;
  cap::Ed25519SignatureVerifier sigs;
  cap::TokenVerifier verifier({node_did}, clock, sigs);
  std::vector<cap::Capability> caps{*cap::Capability::parse("kv.write app/*")};
  auto token = cap::mintToken(*node, app_did, caps, {.expiresAt = clock.now() + 3600}, rng);
  for (auto _ : state) {
    auto normal = cap::normalizeResource("kv.write", "app/notes/today");
    auto want = cap::Capability::parse("kv.write", *normal);
    benchmark::DoNotOptimize(verifier.check(*token, app_did, *want));
  }
}
BENCHMARK(BM_GateCheck);

constexpr std::string_view kLoop = R"((module
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $i) (i32.const 31))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2000000))))
    (local.get $acc)))
)";

void BM_Compute_BareWasmtime(benchmark::State& state) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_byte_vec_t wasm;
  wasmtime_error_t* err = wasmtime_wat2wasm(kLoop.data(), kLoop.size(), &wasm);
  wasmtime_module_t* module = nullptr;
  if (!err) err = wasmtime_module_new(engine, reinterpret_cast<const uint8_t*>(wasm.data), wasm.size, &module);
  if (err) {
    state.SkipWithError("compile failed");
    return;
  }
  for (auto _ : state) {
    wasmtime_store_t* store = wasmtime_store_new(engine, nullptr, nullptr);
    wasmtime_context_t* cx = wasmtime_store_context(store);
    wasmtime_instance_t instance;
    wasm_trap_t* trap = nullptr;
    wasmtime_instance_new(cx, module, nullptr, 0, &instance, &trap);
    wasmtime_extern_t run;
    wasmtime_instance_export_get(cx, &instance, "run", 3, &run);
    wasmtime_val_t result;
    wasmtime_func_call(cx, &run.of.func, nullptr, 0, &result, 1, &trap);
    benchmark::DoNotOptimize(result.of.i32);
    wasmtime_store_delete(store);
  }
  wasmtime_module_delete(module);
  wasm_byte_vec_delete(&wasm);
  wasm_engine_delete(engine);
}
BENCHMARK(BM_Compute_BareWasmtime)->Unit(benchmark::kMillisecond);

// Engine::run compiles per call; compile the same module once outside the timing by running it
// once, then time whole runs minus a run of an empty module (compile + instantiate).
void BM_Compute_AetherFuel(benchmark::State& state) {
  auto engine = sandbox::Engine::create();
  sandbox::HostContext host{.node_did = "did:key:z6MkBench", .print = [](std::string_view) {}};
  sandbox::Limits limits;
  limits.fuel = 1'000'000'000;
  for (auto _ : state) {
    auto r = engine->run(asBytes(kLoop), "run", host, limits);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Compute_AetherFuel)->Unit(benchmark::kMillisecond);

constexpr std::string_view kEmpty = R"((module (func (export "run") (result i32) (i32.const 0))))";
void BM_CompileAndInstantiate_Aether(benchmark::State& state) {
  auto engine = sandbox::Engine::create();
  sandbox::HostContext host{.node_did = "did:key:z6MkBench", .print = [](std::string_view) {}};
  for (auto _ : state) benchmark::DoNotOptimize(engine->run(asBytes(kEmpty), "run", host, sandbox::Limits{}));
}
BENCHMARK(BM_CompileAndInstantiate_Aether)->Unit(benchmark::kMillisecond);

}  // namespace
