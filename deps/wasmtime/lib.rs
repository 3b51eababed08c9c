//! Re-exports Wasmtime's C API so that this crate's static library carries every
//! `wasm_*`, `wasi_*` and `wasmtime_*` symbol the C/C++ headers declare.
pub use wasmtime_c_api::*;
