// Private to src/sandbox: what sandbox.cc (core modules) and component.cc (components) share —
// the engine handle behind Engine, owning wrappers for Wasmtime's C handles, error text helpers.
#pragma once

#include <wasmtime.h>

#include <memory>
#include <string>

#include "base/base.h"
#include "sandbox/sandbox.h"

namespace aether::sandbox {

struct Engine::Impl {
  wasm_engine_t* engine = nullptr;
  ~Impl() {
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
  void operator()(wasmtime_store_t* s) const { wasmtime_store_delete(s); }
};
using ErrorPtr = std::unique_ptr<wasmtime_error_t, ErrorDeleter>;
using TrapPtr = std::unique_ptr<wasm_trap_t, TrapDeleter>;
using StorePtr = std::unique_ptr<wasmtime_store_t, StoreDeleter>;

// Text of a Wasmtime error / trap (the C API's trailing NUL removed).
std::string errorMessage(const wasmtime_error_t* e);
std::string trapMessage(const wasm_trap_t* t);

}  // namespace internal
}  // namespace aether::sandbox
