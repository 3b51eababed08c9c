//! Re-exports Wasmtime's C API so that this crate's static library carries every
//! `wasm_*`, `wasi_*` and `wasmtime_*` symbol the C/C++ headers declare, plus Aether's
//! `aether_wasi_fs_quota_*` functions (fs_quota.rs).
pub use wasmtime_c_api::*;

mod fs_quota;
