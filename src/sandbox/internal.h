// Private to src/sandbox: what sandbox.cc (core modules) and component.cc (components) share —
// the engine handle behind Engine, owning wrappers for Wasmtime's C handles, error text helpers.
#pragma once

#include <wasmtime.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <string>

#include "base/base.h"
#include "sandbox/fs_quota.h"
#include "sandbox/sandbox.h"

namespace aether::sandbox {

// Epoch interruption: a ticker thread advances the engine's epoch every kEpochTick; a store's
// deadline is its time limit in ticks.
inline constexpr std::chrono::milliseconds kEpochTick{10};

struct Engine::Impl {
  wasm_engine_t* engine = nullptr;
  EngineOptions options;
  std::atomic<std::uint64_t> compiles{0};
  std::atomic<std::uint64_t> cache_hits{0};
  std::atomic<std::uint64_t> cache_rejects{0};
  std::atomic<std::uint64_t> module_compiles{0};
  std::atomic<std::uint64_t> module_cache_hits{0};
  bool pooling = false;
  // WASI Preview 2 + aether:host, built once by Engine::create and shared by every component run
  // (instantiation only reads it); host functions find their run's state in the store's data.
  wasmtime_component_linker_t* component_linker = nullptr;
  std::jthread ticker;  // started by Engine::create; stopped before the engine is deleted
  ~Impl() {
    if (ticker.joinable()) {
      ticker.request_stop();
      ticker.join();
    }
    if (component_linker) wasmtime_component_linker_delete(component_linker);
    if (engine) wasm_engine_delete(engine);
  }
};

namespace internal {

struct ErrorDeleter {
  void operator()(wasmtime_error_t* e) const { wasmtime_error_delete(e); }
};
struct TrapDeleter {
  void operator()(wasm_trap_t* t) const { wasm_trap_delete(t); }
};
struct StoreDeleter {
  void operator()(wasmtime_store_t* s) const {
    // A later store at the same address must not inherit this one's fs budget (fs_quota.h).
    aether_wasi_fs_quota_clear(wasmtime_store_context(s));
    wasmtime_store_delete(s);
  }
};
using ErrorPtr = std::unique_ptr<wasmtime_error_t, ErrorDeleter>;
using TrapPtr = std::unique_ptr<wasm_trap_t, TrapDeleter>;
using StorePtr = std::unique_ptr<wasmtime_store_t, StoreDeleter>;

// Fuel and the epoch deadline of a new store from `limits` (fuel 0 = unmetered).
Status applyRunLimits(wasmtime_context_t* cx, const Limits& limits);
std::uint64_t fuelBudget(const Limits& limits);

// A compiled component for `wasm` (binary), from the engine's cache when it has a valid entry.
struct ComponentDeleter {
  void operator()(wasmtime_component_t* c) const { wasmtime_component_delete(c); }
};
using ComponentPtr = std::unique_ptr<wasmtime_component_t, ComponentDeleter>;
Result<ComponentPtr> compileComponent(Engine::Impl& engine, ByteView wasm);

// The same for core modules (Engine::run).
struct ModuleDeleter {
  void operator()(wasmtime_module_t* m) const { wasmtime_module_delete(m); }
};
using ModulePtr = std::unique_ptr<wasmtime_module_t, ModuleDeleter>;
Result<ModulePtr> compileModule(Engine::Impl& engine, ByteView wasm);

// The shared component linker (component.cc); called once by Engine::create.
Result<wasmtime_component_linker_t*> buildComponentLinker(wasm_engine_t* engine);

// Text of a Wasmtime error / trap (the C API's trailing NUL removed).
std::string errorMessage(const wasmtime_error_t* e);
std::string trapMessage(const wasm_trap_t* t);

}  // namespace internal

struct CompiledComponent::Impl {
  const Engine::Impl* engine = nullptr;  // the engine that compiled it
  internal::ComponentPtr component;
};
}  // namespace aether::sandbox
