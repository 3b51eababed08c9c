// Private to src/sandbox: the byte quota on WASI filesystem writes, implemented in Rust beside
// Wasmtime's C API (deps/wasmtime/fs_quota.rs, linked into libwasmtime.a). It re-registers
// wasi:filesystem/types in a component linker with a wrapper that charges every call that can
// grow the app's directory against a per-store budget before it acts, and refuses with
// `error-code.quota` what the budget cannot pay for.
#pragma once

#include <wasmtime.h>

#include <cstdint>

extern "C" {
// Shadows wasi:filesystem/types in `linker`; call after wasmtime_component_linker_add_wasip2.
wasmtime_error_t* aether_wasi_fs_quota_link(wasmtime_component_linker_t* linker);
// The store may add `bytes` (UINT64_MAX: unlimited). A store without a budget may add nothing.
void aether_wasi_fs_quota_set(wasmtime_context_t* context, std::uint64_t bytes);
// Bytes charged and calls refused so far; false if the store has no budget.
bool aether_wasi_fs_quota_stats(wasmtime_context_t* context, std::uint64_t* charged, std::uint64_t* refused);
// Forgets the store's budget (budgets are keyed by the store's address): before deleting it.
void aether_wasi_fs_quota_clear(wasmtime_context_t* context);
}
