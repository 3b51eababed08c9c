// sandbox: runs WebAssembly guests inside Wasmtime with explicit limits (fuel, linear memory)
// and a narrow host API; a guest can do nothing except through the host functions defined here.
// Thread-safety: an Engine is thread-safe and meant to be shared; each run() call creates and
// owns its own store, so concurrent runs on one Engine are fine.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/base.h"

namespace aether::sandbox {

// Per-run resource limits.
struct Limits {
  std::uint64_t fuel = 50'000'000;               // instructions-ish; exhaustion traps the guest
  std::int64_t max_memory_bytes = 16 << 20;       // memory.grow past this returns -1
  std::int64_t max_table_elements = 10'000;
};

// What the host offers a guest, imported from module "aether":
//   aether.print(ptr: i32, len: i32) -> i32
//       hands `len` bytes of UTF-8 text at `ptr` to `print`; returns 0.
//   aether.node_did(ptr: i32, cap: i32) -> i32
//       copies the node's DID to `ptr`; returns its length.
// Host functions never trap on bad arguments: they return a negative HostStatus and record a
// line in RunResult::host_errors.
struct HostContext {
  std::string node_did;
  std::function<void(std::string_view)> print;
};

enum class HostStatus : std::int32_t {
  kOk = 0,
  kOutOfBounds = -1,     // ptr/len outside the guest's linear memory
  kBufferTooSmall = -2,  // the answer does not fit in `cap` bytes
  kInvalidUtf8 = -3,     // print() got bytes that are not UTF-8
  kNoMemory = -4,        // the guest exports no memory named "memory"
};

struct RunResult {
  std::int32_t value = 0;                // the entry function's i32 result (0 if it returns none)
  std::uint64_t fuel_used = 0;
  std::vector<std::string> host_errors;  // denials / bad calls, for the audit log
};

class Engine {
 public:
  // Creates a Wasmtime engine (Cranelift, fuel metering on).
  static Result<Engine> create();

  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  // Compiles `module` (binary Wasm, or WAT text), links the host API, instantiates it under
  // `limits` and calls the exported function `entry` (type [] -> [] or [] -> [i32]).
  // Compile, link and instantiation failures, traps and fuel exhaustion are errors (Errc::kWasm,
  // or Errc::kLimitExceeded for fuel), never crashes.
  Result<RunResult> run(ByteView module, std::string_view entry, const HostContext& host,
                        const Limits& limits) const;

  // "wasmtime 48.0.8" — the embedded runtime's version.
  static std::string_view runtimeVersion();

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aether::sandbox
