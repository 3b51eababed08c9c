// The sandbox's costs side by side with the bare library, one run:
//   BM_GateCheck           what a capability check adds to a host call: normalize the resource,
//                          parse the capability, TokenVerifier::check on a cached token
//   BM_Compute_BareWasmtime / BM_Compute_AetherFuel
//                          a compute-bound core module (a 2 M-iteration integer loop) on a bare
//                          Wasmtime engine (/0: no fuel, no epochs; /1: both) and on ours (which
//                          also compiles per Engine::run without a cache_dir): /1 vs /0 is the
//                          metering overhead
//   BM_ColdInstantiate_Bare / _Aether
//                          one run of the precompiled hello component (C, wasi-libc: five core
//                          instances) in a fresh store on a pooling engine: bare = store + WASI
//                          context + instantiate + run() through a linker of no-op stubs; ours =
//                          Engine::runComponent(CompiledComponent) (limiter, fuel, epoch
//                          deadline, WASI context, shared linker, result mapping)
//   BM_HostCall_Bare / _AetherAllowAll / _AetherToken  (arg = calls per run: 0 and 10 000)
//                          a component calling kv.delete("app/k") in a loop: a bare host function
//                          returning ok vs ours (argument checks, Gate::check, audit, Services);
//                          per call = (t(10000) - t(0)) / 10000. _BareMetered compiles the guest
//                          with fuel + epoch checks like ours: ours - it = the host API's cost.
#include <benchmark/benchmark.h>
#include <wasi.h>

#include <cstring>
#include <wasmtime.h>

#include "cap/cap.h"
#include "crypto/crypto.h"
#include "identity/identity.h"
#include "guests/guests.h"
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

// state.range(0) = 1: fuel + epoch checks compiled in (a budget that never runs out), so
// BM_Compute_BareWasmtime/1 vs /0 is the metering overhead alone, without our compile per run.
void BM_Compute_BareWasmtime(benchmark::State& state) {
  const bool metered = state.range(0) != 0;
  wasm_config_t* config = wasm_config_new();
  wasmtime_config_consume_fuel_set(config, metered);
  wasmtime_config_epoch_interruption_set(config, metered);
  wasm_engine_t* engine = wasm_engine_new_with_config(config);
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
    if (metered) {
      if (wasmtime_error_t* e = wasmtime_context_set_fuel(cx, UINT64_MAX)) wasmtime_error_delete(e);
      wasmtime_context_set_epoch_deadline(cx, UINT64_MAX / 2);
    }
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
BENCHMARK(BM_Compute_BareWasmtime)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

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

// ---- the bare harness: the same library, nothing of ours --------------------------------------

// The pool our Engine configures by default (sandbox.cc), so both sides allocate alike.
// metered: fuel and epoch checks compiled in, as in ours (to split their cost from the host API's).
wasm_engine_t* bareEngine(bool metered) {
  wasm_config_t* config = wasm_config_new();
  wasmtime_config_wasm_component_model_set(config, true);
  wasmtime_config_consume_fuel_set(config, metered);
  wasmtime_config_epoch_interruption_set(config, metered);
  wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
  wasmtime_pooling_allocation_config_total_component_instances_set(pool, 64);
  wasmtime_pooling_allocation_config_total_core_instances_set(pool, 64 * 16);
  wasmtime_pooling_allocation_config_total_memories_set(pool, 64 * 2);
  wasmtime_pooling_allocation_config_total_tables_set(pool, 64 * 8);
  wasmtime_pooling_allocation_config_max_tables_per_module_set(pool, 4);
  wasmtime_pooling_allocation_config_max_memories_per_component_set(pool, 2);
  wasmtime_pooling_allocation_config_max_tables_per_component_set(pool, 8);
  wasmtime_pooling_allocation_config_max_core_instances_per_component_set(pool, 16);
  wasmtime_pooling_allocation_config_table_elements_set(pool, 100'000);
  wasmtime_pooling_allocation_strategy_set(config, pool);
  wasmtime_pooling_allocation_config_delete(pool);
  return wasm_engine_new_with_config(config);
}

// Any aether:host function: a string result gets "", a result<_, E> gets ok.
wasmtime_error_t* bareStub(void*, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                           wasmtime_component_val_t*, size_t, wasmtime_component_val_t* results, size_t nresults) {
  if (nresults == 0) return nullptr;
  wasmtime_component_valtype_t rt;
  wasmtime_component_func_type_result(ty, &rt);
  if (rt.kind == WASMTIME_COMPONENT_VALTYPE_STRING) {
    results[0].kind = WASMTIME_COMPONENT_STRING;
    wasm_byte_vec_new(&results[0].of.string, 12, "did:key:bare");
  } else {
    results[0].kind = WASMTIME_COMPONENT_RESULT;
    results[0].of.result.is_ok = true;
    results[0].of.result.val = nullptr;
  }
  wasmtime_component_valtype_delete(&rt);
  return nullptr;
}

ptrdiff_t discard(void*, const unsigned char*, size_t n) { return static_cast<ptrdiff_t>(n); }

struct Bare {
  bool metered;
  wasm_engine_t* engine = bareEngine(metered);
  wasmtime_component_linker_t* linker = wasmtime_component_linker_new(engine);
  wasmtime_component_t* component = nullptr;
  explicit Bare(ByteView wasm, bool metered_ = false) : metered(metered_) {
    wasmtime_component_linker_add_wasip2(linker);
    const std::pair<const char*, std::vector<const char*>> ifaces[] = {
        {"aether:host/identity@0.1.0", {"did", "app-did"}},
        {"aether:host/log@0.1.0", {"write"}},
        {"aether:host/kv@0.1.0", {"delete"}},
    };
    for (const auto& [name, fns] : ifaces) {
      wasmtime_component_linker_instance_t* root = wasmtime_component_linker_root(linker);
      wasmtime_component_linker_instance_t* inst = nullptr;
      wasmtime_component_linker_instance_add_instance(root, name, std::strlen(name), &inst);
      for (const char* fn : fns) {
        wasmtime_component_linker_instance_add_func(inst, fn, std::strlen(fn), bareStub, nullptr, nullptr);
      }
      wasmtime_component_linker_instance_delete(inst);
      wasmtime_component_linker_instance_delete(root);
    }
    if (wasmtime_error_t* err = wasmtime_component_new(engine, wasm.data(), wasm.size(), &component)) {
      wasmtime_error_delete(err);
      component = nullptr;
    }
  }
  ~Bare() {
    if (component) wasmtime_component_delete(component);
    wasmtime_component_linker_delete(linker);
    wasm_engine_delete(engine);
  }
  // One run: a fresh store with a WASI context, instantiate, call run().
  bool run() {
    wasmtime_store_t* store = wasmtime_store_new(engine, nullptr, nullptr);
    wasmtime_context_t* cx = wasmtime_store_context(store);
    if (metered) {
      if (wasmtime_error_t* err = wasmtime_context_set_fuel(cx, UINT64_MAX)) wasmtime_error_delete(err);
      wasmtime_context_set_epoch_deadline(cx, UINT64_MAX / 2);
    }
    wasi_config_t* wasi = wasi_config_new();
    wasi_config_set_stdout_custom(wasi, discard, nullptr, nullptr);
    wasi_config_set_stderr_custom(wasi, discard, nullptr, nullptr);
    bool ok = wasmtime_context_set_wasi(cx, wasi) == nullptr;
    wasmtime_component_instance_t instance;
    ok = ok && wasmtime_component_linker_instantiate(linker, cx, component, &instance) == nullptr;
    if (ok) {
      wasmtime_component_export_index_t* idx =
          wasmtime_component_instance_get_export_index(&instance, cx, nullptr, "run", 3);
      wasmtime_component_func_t run;
      ok = idx && wasmtime_component_instance_get_func(&instance, cx, idx, &run);
      if (idx) wasmtime_component_export_index_delete(idx);
      wasmtime_component_val_t result;  // the call drops what the slot held: make it a plain value
      result.kind = WASMTIME_COMPONENT_BOOL;
      result.of.boolean = false;
      if (ok) {
        wasmtime_error_t* err = wasmtime_component_func_call(&run, cx, nullptr, 0, &result, 1);
        ok = err == nullptr;
        if (err) wasmtime_error_delete(err);
        else wasmtime_component_val_delete(&result);
      }
    }
    wasmtime_store_delete(store);
    return ok;
  }
};

sandbox::HostContext quietHost() {
  return sandbox::HostContext{.node_did = "did:key:z6MkBench", .print = [](std::string_view) {}};
}

void BM_ColdInstantiate_Bare(benchmark::State& state) {
  Bare bare(guests::helloComponent());
  if (!bare.component || !bare.run()) return state.SkipWithError("bare harness failed");
  for (auto _ : state) benchmark::DoNotOptimize(bare.run());
}
BENCHMARK(BM_ColdInstantiate_Bare)->Unit(benchmark::kMicrosecond);

void BM_ColdInstantiate_BareMetered(benchmark::State& state) {
  Bare bare(guests::helloComponent(), /*metered=*/true);
  if (!bare.component || !bare.run()) return state.SkipWithError("bare harness failed");
  for (auto _ : state) benchmark::DoNotOptimize(bare.run());
}
BENCHMARK(BM_ColdInstantiate_BareMetered)->Unit(benchmark::kMicrosecond);

void BM_ColdInstantiate_Aether(benchmark::State& state) {
  auto engine = sandbox::Engine::create();
  auto component = engine->compileComponent(guests::helloComponent());
  if (!component || !engine->stats().pooling) return state.SkipWithError("compile failed or no pooling");
  auto host = quietHost();
  for (auto _ : state) benchmark::DoNotOptimize(engine->runComponent(*component, host, sandbox::Limits{}));
}
BENCHMARK(BM_ColdInstantiate_Aether)->Unit(benchmark::kMicrosecond);

// run() calls kv.delete("app/k") `calls` times, then returns ok.
std::string hostCallComponent(int calls) {
  return R"((component
  (core module $libc
    (memory (export "memory") 3)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
  (import "aether:host/kv@0.1.0" (instance $kv
    (type $herr (variant (case "denied" string) (case "invalid" string) (case "not-found" string)
                         (case "limit-exceeded" string) (case "unavailable" string) (case "internal" string)))
    (export "host-error" (type $e (eq $herr)))
    (export "delete" (func (param "key" string) (result (result (error $e)))))))
  (core func $delete (canon lower (func $kv "delete")
               (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (core module $m
    (import "libc" "memory" (memory 3))
    (import "host" "delete" (func $delete (param i32 i32 i32)))
    (data (i32.const 65536) "app/k")
    (func (export "run") (result i32) (local $i i32)
      (block $done
        (loop $l
          (br_if $done (i32.ge_u (local.get $i) (i32.const )" + std::to_string(calls) + R"()))
          (call $delete (i32.const 65536) (i32.const 5) (i32.const 0))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
      (i32.const 512)))
  (core instance $i (instantiate $m (with "libc" (instance $libc))
                                    (with "host" (instance (export "delete" (func $delete))))))
  (func (export "run") (result (result (error string)))
    (canon lift (core func $i "run") (memory (core memory $libc "memory"))))
))";
}

Bytes componentBinary(const std::string& wat) {
  wasm_byte_vec_t out;
  if (wasmtime_error_t* err = wasmtime_wat2wasm(wat.data(), wat.size(), &out)) {
    wasmtime_error_delete(err);
    return {};
  }
  Bytes b(reinterpret_cast<const std::uint8_t*>(out.data), reinterpret_cast<const std::uint8_t*>(out.data) + out.size);
  wasm_byte_vec_delete(&out);
  return b;
}

void BM_HostCall_Bare(benchmark::State& state) {
  const Bytes wasm = componentBinary(hostCallComponent(static_cast<int>(state.range(0))));
  Bare bare(wasm);
  if (wasm.empty() || !bare.component || !bare.run()) return state.SkipWithError("bare harness failed");
  for (auto _ : state) benchmark::DoNotOptimize(bare.run());
}
BENCHMARK(BM_HostCall_Bare)->Arg(0)->Arg(10'000)->Unit(benchmark::kMicrosecond);

void BM_HostCall_BareMetered(benchmark::State& state) {
  const Bytes wasm = componentBinary(hostCallComponent(static_cast<int>(state.range(0))));
  Bare bare(wasm, /*metered=*/true);
  if (wasm.empty() || !bare.component || !bare.run()) return state.SkipWithError("bare harness failed");
  for (auto _ : state) benchmark::DoNotOptimize(bare.run());
}
BENCHMARK(BM_HostCall_BareMetered)->Arg(0)->Arg(10'000)->Unit(benchmark::kMicrosecond);

class AllowAll final : public sandbox::Gate {
 public:
  Status check(std::string_view, std::string_view) override { return {}; }
};

// What the node's TokenGate does on every call: normalize, parse, verify (cached after the first).
class TokenGate final : public sandbox::Gate {
 public:
  TokenGate() : verifier_({node_did_}, clock_, sigs_) {}
  Status check(std::string_view right, std::string_view resource) override {
    AE_ASSIGN_OR_RETURN(std::string normal, cap::normalizeResource(right, resource));
    AE_ASSIGN_OR_RETURN(cap::Capability want, cap::Capability::parse(right, normal));
    AE_TRY(verifier_.check(token_, app_did_, want));
    return {};
  }

 private:
  crypto::SeededRng rng_{1};
  crypto::Ed25519KeyPair node_ = *crypto::Ed25519KeyPair::generate(rng_);
  crypto::Ed25519KeyPair app_ = *crypto::Ed25519KeyPair::generate(rng_);
  std::string node_did_ = identity::didKeyFromEd25519(node_.publicKey());
  std::string app_did_ = identity::didKeyFromEd25519(app_.publicKey());
  cap::SystemClock clock_;
  cap::Ed25519SignatureVerifier sigs_;
  cap::TokenVerifier verifier_;
  std::string token_ = *cap::mintToken(node_, app_did_, std::vector<cap::Capability>{*cap::Capability::parse("kv.delete app/*")},
                                       {.expiresAt = clock_.now() + 3600}, rng_);
};

// Services that do nothing: the cost measured is the host API's, not a vault's.
class NoopServices final : public sandbox::Services {
 public:
  Result<Bytes> sign(ByteView) override { return Bytes{}; }
  Result<std::optional<Bytes>> kvGet(std::string_view) override { return std::optional<Bytes>(); }
  Status kvSet(std::string_view, ByteView) override { return {}; }
  Status kvDelete(std::string_view) override { return {}; }
  Result<std::vector<std::string>> kvList(std::string_view) override { return std::vector<std::string>{}; }
  Result<std::string> blockPut(ByteView) override { return std::string(); }
  Result<Bytes> blockGet(std::string_view) override { return Bytes{}; }
  Result<std::uint64_t> logAppend(std::string_view, ByteView) override { return std::uint64_t{0}; }
  Result<Bytes> logRead(std::string_view, std::string_view, std::uint64_t) override { return Bytes{}; }
  Result<sandbox::HttpResponse> httpFetch(const sandbox::HttpRequest&) override { return sandbox::HttpResponse{}; }
  void audit(const sandbox::AuditEvent&) override {}
};

void hostCallAether(benchmark::State& state, sandbox::Gate& gate) {
  auto engine = sandbox::Engine::create();
  auto component = engine->compileComponent(componentBinary(hostCallComponent(static_cast<int>(state.range(0)))));
  if (!component) return state.SkipWithError(component.error().toString().c_str());
  NoopServices services;
  auto host = quietHost();
  host.gate = &gate;
  host.services = &services;
  sandbox::Limits limits;
  limits.fuel = 0;  // the bare side meters nothing either
  auto first = engine->runComponent(*component, host, limits);
  if (!first || first->value != 0 || !first->host_errors.empty()) return state.SkipWithError("host call run failed");
  for (auto _ : state) benchmark::DoNotOptimize(engine->runComponent(*component, host, limits));
}

void BM_HostCall_AetherAllowAll(benchmark::State& state) {
  AllowAll gate;
  hostCallAether(state, gate);
}
BENCHMARK(BM_HostCall_AetherAllowAll)->Arg(0)->Arg(10'000)->Unit(benchmark::kMicrosecond);

void BM_HostCall_AetherToken(benchmark::State& state) {
  TokenGate gate;
  hostCallAether(state, gate);
}
BENCHMARK(BM_HostCall_AetherToken)->Arg(0)->Arg(10'000)->Unit(benchmark::kMicrosecond);

}  // namespace
