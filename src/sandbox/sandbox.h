// sandbox: runs WebAssembly guests inside Wasmtime with explicit limits (fuel, linear memory)
// and a narrow host API; a guest can do nothing except through the host functions defined here.
// Two kinds of guest: core modules (Engine::run, the `aether.*` imports below) and components
// (Engine::runComponent, the WIT package aether:host@0.1.0 in sdk/wit/host.wit, docs/sandbox.md).
// Thread-safety: an Engine is thread-safe and meant to be shared; each run() / runComponent()
// call creates and owns its own store, so concurrent runs on one Engine are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/base.h"

namespace aether::sandbox {

// Per-run resource limits.
struct Limits {
  std::uint64_t fuel = 50'000'000;               // instructions-ish; exhaustion traps the guest;
                                                  // 0 = no fuel metering for this run
  // Wall-clock budget of the run (epoch interruption, 10 ms granularity): stops a guest that
  // loops without burning fuel too. 0 = none.
  std::uint64_t time_limit_ms = 10'000;
  std::int64_t max_memory_bytes = 16 << 20;       // memory.grow past this returns -1
  std::int64_t max_table_elements = 10'000;
  // Components only: bytes of text a run may emit (stdout + stderr + log.write messages);
  // past it writes fail (stdout/stderr) or return host-error.limit-exceeded (log.write).
  std::size_t max_output_bytes = 1 << 20;
  // Components with writable fs mounts: the most bytes the app's data directory
  // (HostContext::app_data_dir) may hold, counted by fsUsage(). The run may add
  // quota - fsUsage(at start) bytes; a WASI call that would add more fails with
  // `error-code.quota` (EDQUOT in wasi-libc) and writes nothing. Space freed during the run
  // (truncate, unlink) is only counted again at the next run's start; overwriting bytes inside a
  // file's current size is free. A run with a quota holds an exclusive flock on app_data_dir:
  // a second one at the same time fails with kLimitExceeded (both would get the whole remaining
  // budget). nullopt = no quota.
  std::optional<std::uint64_t> fs_quota_bytes = std::nullopt;
};

// What one directory entry (file, directory, symlink, hard link) counts for in fsUsage and
// against Limits::fs_quota_bytes: one block.
inline constexpr std::uint64_t kFsEntryBytes = 4096;

// The bytes `dir` holds under the fs quota's rules: the size of every regular file below it
// plus kFsEntryBytes per entry below it (symlinks are not followed). 0 for a missing
// directory; kIo if it cannot be read.
[[nodiscard]] Result<std::uint64_t> fsUsage(const std::filesystem::path& dir);

// aether:host/log.level.
enum class LogLevel : std::uint8_t { kTrace, kDebug, kInfo, kWarn, kError };

// What the host offers a guest, imported from module "aether":
//   aether.print(ptr: i32, len: i32) -> i32
//       hands `len` bytes of UTF-8 text at `ptr` to `print`; returns 0.
//   aether.node_did(ptr: i32, cap: i32) -> i32
//       copies the node's DID to `ptr`; returns its length.
// Host functions never trap on bad arguments: they return a negative HostStatus and record a
// line in RunResult::host_errors.
// A component sees the same context through aether:host@0.1.0: identity.did() returns node_did,
// its WASI stdout and stderr go to `print` (raw bytes, in the chunks the guest flushes), and
// log.write goes to `log` (to `print`, one line per call, when `log` is empty).
class Gate;
class Services;

struct HostContext {
  std::string node_did;
  std::function<void(std::string_view)> print;
  // `= nullptr` keeps `HostContext{.node_did = ..., .print = ...}` free of -Wmissing-field-initializers.
  std::function<void(LogLevel, std::string_view)> log = nullptr;
  // Components: the app's own DID (identity.app-did) and the gate / services above.
  std::string app_did = {};
  Gate* gate = nullptr;          // not owned; null denies every gated call
  Services* services = nullptr;  // not owned; null answers unavailable
  // Components: the WASI filesystem. Each mount is a directory the guest sees at `path`
  // ("/data"), backed by <app_data_dir>/<path> (created if missing) and preopened only if the
  // gate allows fs.read (read-only mount) or fs.write (writable mount) on "<path>/*" ("/*" for
  // "/"). Refused mounts are audited and left out; without app_data_dir nothing is mounted.
  // fsMountsFor() derives the mounts from granted fs capabilities.
  struct FsMount {
    std::string path;  // absolute guest path in cap's normal form: "/", "/data", "/data/cache"
    bool writable = false;
  };
  std::optional<std::filesystem::path> app_data_dir = std::nullopt;
  std::vector<FsMount> fs_mounts = {};
};

// The WASI mounts granted fs capabilities imply: "fs.read /data/*" -> {"/data", read-only},
// "fs.write /data/*" or "fs.*  /data/*" -> {"/data", writable}, "/*" -> {"/"}. Capabilities on
// single files ("fs.read /notes.txt") cannot be WASI preopens and are skipped; so are other
// namespaces. One mount per path, writable if any grant for it is.
std::vector<HostContext::FsMount> fsMountsFor(std::span<const std::pair<std::string, std::string>> grants);

// ---- capability-gated host services (components) -----------------------------------------------
//
// The sandbox does not know about tokens, stores or networks: the node hands it a Gate that
// decides, and Services that act. Every aether:host function that touches anything first asks
// gate->check(right, resource) and, on an error, returns host-error.denied to the guest and
// records an AuditEvent with allowed = false, WITHOUT calling Services. Only after the gate
// allowed does it call the matching Services method. A null gate denies everything; null
// services answer unavailable.

// Decides whether this run may exercise `right` ("kv.write") on `resource` ("app/notes"), in
// the grammar of cap::Capability (the node checks the app's UCAN through cap::TokenVerifier).
// Must be cheap: it runs on every host call.
class Gate {
 public:
  virtual ~Gate() = default;
  // ok = allowed; kPermissionDenied (or any error) = refused, with a reason for the audit log.
  [[nodiscard]] virtual Status check(std::string_view right, std::string_view resource) = 0;
};

// One line of the audit trail: what a guest asked for and what the host decided.
struct AuditEvent {
  std::string function;  // "kv.set", "http.fetch", ...
  std::string right;     // the right checked, e.g. "kv.write"
  std::string resource;  // the resource checked, e.g. "app/notes"
  bool allowed = false;
  std::string detail;    // why refused, or a short result note
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string url;     // absolute http(s) URL, normalized
  std::vector<std::pair<std::string, std::string>> headers;
  Bytes body;
};
struct HttpResponse {
  std::uint16_t status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  Bytes body;
};

// The effects behind the host API. Implementations are the node's (vault, logs, HTTP client);
// tests use recording fakes. Errors map to host-error variants: kNotFound -> not-found,
// kLimitExceeded -> limit-exceeded, kInvalidArgument/kMalformed -> invalid,
// kPermissionDenied -> denied, kIo/kUnavailable-like -> unavailable, anything else -> internal.
class Services {
 public:
  virtual ~Services() = default;
  // identity.sign: an Ed25519 signature by the app-scoped key over `message`.
  [[nodiscard]] virtual Result<Bytes> sign(ByteView message) = 0;
  // kv: keys are the app's own namespace (the node prefixes them); values at most 1 MiB.
  [[nodiscard]] virtual Result<std::optional<Bytes>> kvGet(std::string_view key) = 0;
  [[nodiscard]] virtual Status kvSet(std::string_view key, ByteView value) = 0;
  [[nodiscard]] virtual Status kvDelete(std::string_view key) = 0;
  [[nodiscard]] virtual Result<std::vector<std::string>> kvList(std::string_view prefix) = 0;
  // blocks: raw-codec blocks; returns the CID text (CIDv1 base32).
  [[nodiscard]] virtual Result<std::string> blockPut(ByteView data) = 0;
  [[nodiscard]] virtual Result<Bytes> blockGet(std::string_view cid) = 0;
  // log: append to the app's own stream `stream`; returns the new entry's sequence number.
  [[nodiscard]] virtual Result<std::uint64_t> logAppend(std::string_view stream, ByteView payload) = 0;
  // Reads entry `seq` of (author DID, stream); the payload bytes.
  [[nodiscard]] virtual Result<Bytes> logRead(std::string_view author, std::string_view stream,
                                              std::uint64_t seq) = 0;
  // http: one request to an origin the gate allowed.
  [[nodiscard]] virtual Result<HttpResponse> httpFetch(const HttpRequest& request) = 0;
  // events: every AuditEvent of the run, allowed or not (the node's audit log).
  virtual void audit(const AuditEvent& event) = 0;
};

enum class HostStatus : std::int32_t {
  kOk = 0,
  kOutOfBounds = -1,     // ptr/len outside the guest's linear memory
  kBufferTooSmall = -2,  // the answer does not fit in `cap` bytes
  kInvalidUtf8 = -3,     // print() got bytes that are not UTF-8
  kNoMemory = -4,        // the guest exports no memory named "memory"
};

struct RunResult {
  std::int32_t value = 0;                // the entry function's i32 result (0 if it returns none);
                                         // components: 0 if run() returned ok, 1 if err
  std::uint64_t fuel_used = 0;
  std::vector<std::string> host_errors;  // denials / bad calls, for the audit log
  std::string guest_error;               // components: the string run() returned as its err
                                         // (at most 64 KiB, then " [truncated]")
  // Components with a Limits::fs_quota_bytes: the bytes the run was charged for (what it added
  // to its directory) and how many WASI calls the quota refused.
  std::uint64_t fs_bytes_charged = 0;
  std::uint64_t fs_quota_refusals = 0;
};

// Engine-wide settings.
struct EngineOptions {
  // Where compiled components are kept between runs ("" = no cache). A second run of the same
  // component skips Cranelift. Files are <sha256 of component + engine config>.cwasm, 0600,
  // each authenticated with keyed BLAKE2b under `cache_key` before Wasmtime may read it
  // (deserializing untrusted bytes is unsafe): a tampered or foreign file is recompiled.
  std::filesystem::path cache_dir;
  Bytes cache_key;  // 32 bytes when cache_dir is set (the node derives it from its key)
  // Pooling allocator: instance, memory and table slots reserved once (address space only),
  // so instantiation reuses a slot instead of mapping fresh memory. `pool_slots` is how many
  // guests may run at once on this engine (more fail with kLimitExceeded); every linear memory
  // is capped at pool_max_memory_bytes whatever Limits say. If the address space cannot be
  // reserved (ulimit -v), the engine falls back to on-demand allocation (EngineStats::pooling).
  bool pooling = true;
  std::uint32_t pool_slots = 64;
  std::uint64_t pool_max_memory_bytes = std::uint64_t{4} << 30;
};

struct EngineStats {
  std::uint64_t compiles = 0;    // components compiled by Cranelift
  std::uint64_t cache_hits = 0;  // components loaded from cache_dir
  std::uint64_t cache_rejects = 0;  // cache files that failed authentication or loading
  std::uint64_t module_compiles = 0;    // core modules compiled by Cranelift (Engine::run)
  std::uint64_t module_cache_hits = 0;  // core modules loaded from cache_dir
  bool pooling = false;                 // the pooling allocator is in use
};

// A component compiled once by Engine::compileComponent and instantiated by every
// runComponent(compiled, ...) without compiling again. Cheap to copy; usable only with the
// Engine that made it.
class CompiledComponent {
 public:
  struct Impl;
  explicit CompiledComponent(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

struct HostFunctionInfo {
  std::string interface_name;  // "aether:host/kv@0.1.0"
  std::string function;        // "get"
  std::string right;           // "kv.read"
};

class Engine {
 public:
  // Creates a Wasmtime engine (Cranelift, fuel metering on, component model on, epochs, the
  // pooling allocator) with a ticker thread that advances its epoch every 10 ms.
  static Result<Engine> create();
  // kInvalidArgument for a cache_dir without a 32-byte key; kIo if cache_dir cannot be created.
  static Result<Engine> create(const EngineOptions& options);
  EngineStats stats() const;

  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  // Compiles `module` (binary Wasm, or WAT text; through the cache like components), links the host API, instantiates it under
  // `limits` and calls the exported function `entry` (type [] -> [] or [] -> [i32]).
  // Compile, link and instantiation failures, traps and fuel exhaustion are errors (Errc::kWasm,
  // or Errc::kLimitExceeded for fuel), never crashes.
  Result<RunResult> run(ByteView module, std::string_view entry, const HostContext& host,
                        const Limits& limits) const;

  // Compiles `component` (a binary component, or `(component ...)` WAT text), links WASI
  // Preview 2 — no preopened directories, no environment, argv = ["app"], no network, empty
  // stdin, stdout/stderr to `host` — and aether:host@0.1.0, instantiates it under `limits` and
  // calls its export `run: func() -> result<_, string>` (the world `app` of sdk/wit/host.wit).
  // The guest cannot sleep: wasi:clocks/monotonic-clock's subscribe-* trap (they would block
  // this thread without burning fuel).
  // Errors, never crashes: a core module is kInvalidArgument; a component importing an
  // interface or function the host does not provide is kUnsupported; a missing `run` export is
  // kNotFound; fuel exhaustion is kLimitExceeded; compile errors, traps (including a host
  // function imported under another signature) and a `run` of another type are kWasm.
  // An `err` returned by run(), or exit(n != 0), is not an error of this call: it lands in
  // RunResult::guest_error with value 1.
  Result<RunResult> runComponent(ByteView component, const HostContext& host, const Limits& limits) const;

  // Compiles (or loads from the cache) once; errors as runComponent's before instantiation.
  Result<CompiledComponent> compileComponent(ByteView component) const;
  // runComponent without the compile step: instantiates `component` in a fresh store (a pool
  // slot) and calls run(). kInvalidArgument if it was compiled by another Engine.
  Result<RunResult> runComponent(const CompiledComponent& component, const HostContext& host,
                                 const Limits& limits) const;

  // Every aether:host@0.1.0 function a component may import, with the right it is gated by
  // ("" for the few that have no effect and reveal nothing: identity.did / app-did, log.write).
  static std::vector<HostFunctionInfo> hostFunctions();

  // "wasmtime 48.0.8" — the embedded runtime's version.
  static std::string_view runtimeVersion();

  struct Impl;  // opaque (src/sandbox/internal.h)

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aether::sandbox
