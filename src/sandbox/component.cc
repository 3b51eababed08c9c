// Engine::runComponent: WebAssembly components (WASI Preview 2) against aether:host@0.1.0
// (sdk/wit/host.wit). Shares the engine with the core-module path in sandbox.cc.
#include <wasmtime.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/internal.h"
#include "sandbox/sandbox.h"

namespace aether::sandbox {
namespace {

using internal::ErrorPtr;
using internal::errorMessage;

// WIT names the host implements. Keep in sync with sdk/wit/host.wit.
constexpr std::string_view kIdentity = "aether:host/identity@0.1.0";
constexpr std::string_view kLog = "aether:host/log@0.1.0";
constexpr std::string_view kRunExport = "run";
// The WASI clocks interface as Wasmtime 48 defines it (wasmtime-wasi's wit/deps/clocks.wit);
// imports of any 0.2.x resolve to it. ComponentTest.SleepingIsDenied pins the version.
constexpr std::string_view kMonotonicClock = "wasi:clocks/monotonic-clock@0.2.12";
constexpr std::size_t kMaxLogMessage = 64 << 10;
constexpr std::array<std::string_view, 5> kLevelNames = {"trace", "debug", "info", "warn", "error"};
// The one argument a guest sees (wasi:cli/environment.get-arguments).
constexpr const char* kArgv0 = "app";

// Core instances, tables and memories a component may create per run. The hello component (C,
// wasi-libc, preview1 adapter) instantiates five core modules — main, adapter, and
// wit-component's shim, fixup and start shim — with one memory and two tables.
constexpr int kMaxInstances = 32;
constexpr int kMaxTables = 32;
constexpr int kMaxMemories = 8;

struct ComponentDeleter {
  void operator()(wasmtime_component_t* c) const { wasmtime_component_delete(c); }
};
struct ComponentLinkerDeleter {
  void operator()(wasmtime_component_linker_t* l) const { wasmtime_component_linker_delete(l); }
};
struct LinkerInstanceDeleter {
  void operator()(wasmtime_component_linker_instance_t* i) const { wasmtime_component_linker_instance_delete(i); }
};
struct ExportIndexDeleter {
  void operator()(wasmtime_component_export_index_t* e) const { wasmtime_component_export_index_delete(e); }
};
struct FuncTypeDeleter {
  void operator()(wasmtime_component_func_type_t* t) const { wasmtime_component_func_type_delete(t); }
};
struct WasiConfigDeleter {
  void operator()(wasi_config_t* c) const { wasi_config_delete(c); }
};
using LinkerInstancePtr = std::unique_ptr<wasmtime_component_linker_instance_t, LinkerInstanceDeleter>;

// Owns a wasmtime_component_val_t filled in by Wasmtime (results of a call).
struct ValGuard {
  wasmtime_component_val_t* val;
  ~ValGuard() { wasmtime_component_val_delete(val); }
};

// State the host functions and the stdout/stderr sinks see; lives on the stack of runComponent
// and outlives the store (declared before it).
struct CallEnv {
  const HostContext* host;
  const Limits* limits;
  std::vector<std::string> errors;
  std::size_t output_bytes = 0;

  // Counts `n` bytes against Limits::max_output_bytes; false once the cap would be passed.
  bool takeOutput(std::size_t n) {
    if (n > limits->max_output_bytes - output_bytes) return false;
    output_bytes += n;
    return true;
  }
};

// wasi_config_set_{stdout,stderr}_custom sink. Wasmtime's WASI p2 streams forbid partial writes:
// a chunk is taken whole or the write fails with EFBIG (the guest sees an I/O error).
// Wasmtime calls it from Rust frames, which no C++ exception may cross (`print` may throw).
ptrdiff_t outputSink(void* data, const unsigned char* buf, size_t len) noexcept {
  auto* env = static_cast<CallEnv*>(data);
  constexpr ptrdiff_t kEio = 5;
  constexpr ptrdiff_t kEfbig = 27;
  try {
    if (!env->takeOutput(len)) {
      env->errors.push_back("wasi stdout/stderr: output limit of " + std::to_string(env->limits->max_output_bytes) +
                            " bytes reached");
      return -kEfbig;
    }
    if (env->host->print) env->host->print(std::string_view(reinterpret_cast<const char*>(buf), len));
    return static_cast<ptrdiff_t>(len);
  } catch (...) {
    return -kEio;
  }
}

// Host functions are called from Rust frames, which no C++ exception may cross: HostContext
// callbacks and our own allocations may throw. An exception becomes a trap of the guest.
template <wasmtime_component_func_callback_t Impl>
wasmtime_error_t* noexceptHostFn(void* data, wasmtime_context_t* cx, const wasmtime_component_func_type_t* ty,
                                 wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                                 size_t nresults) noexcept {
  try {
    return Impl(data, cx, ty, args, nargs, results, nresults);
  } catch (...) {
    return wasmtime_error_new("an aether host function failed with a C++ exception");
  }
}

// A host-function failure that is the guest's fault (it declared our import with another
// signature): the guest traps with this message.
wasmtime_error_t* guestFault(CallEnv* env, std::string message) {
  env->errors.push_back(message);
  return wasmtime_error_new(message.c_str());
}

// Checks the shape of a host call against what sdk/wit/host.wit declares. Wasmtime lets a
// component import a host function under any signature (the host function is dynamically
// typed), so a guest can hand us other argument kinds than the WIT says.
bool argsAre(const wasmtime_component_val_t* args, size_t nargs,
             std::initializer_list<wasmtime_component_valkind_t> kinds) {
  if (nargs != kinds.size()) return false;
  std::size_t i = 0;
  for (wasmtime_component_valkind_t k : kinds) {
    if (args[i++].kind != k) return false;
  }
  return true;
}

bool resultTypeIs(const wasmtime_component_func_type_t* ty, size_t nresults,
                  wasmtime_component_valtype_kind_t kind) {
  if (nresults != 1) return false;
  wasmtime_component_valtype_t rt;
  if (!wasmtime_component_func_type_result(ty, &rt)) return false;
  const bool ok = rt.kind == kind;
  wasmtime_component_valtype_delete(&rt);
  return ok;
}

void setString(wasmtime_component_val_t* out, std::string_view s) {
  out->kind = WASMTIME_COMPONENT_STRING;
  wasm_byte_vec_new(&out->of.string, s.size(), s.data());
}

// `result<_, host-error>` values. Every string handed to Wasmtime must be valid UTF-8 (the C
// API converts it with an unwrap: invalid bytes would abort the process).
void setOk(wasmtime_component_val_t* out) {
  out->kind = WASMTIME_COMPONENT_RESULT;
  out->of.result.is_ok = true;
  out->of.result.val = nullptr;
}

void setHostError(wasmtime_component_val_t* out, std::string_view which, std::string_view detail) {
  wasmtime_component_val_t payload;
  setString(&payload, detail);
  wasmtime_component_val_t variant;
  variant.kind = WASMTIME_COMPONENT_VARIANT;
  wasm_byte_vec_new(&variant.of.variant.discriminant, which.size(), which.data());
  variant.of.variant.val = wasmtime_component_val_new(&payload);
  out->kind = WASMTIME_COMPONENT_RESULT;
  out->of.result.is_ok = false;
  out->of.result.val = wasmtime_component_val_new(&variant);
}

// aether:host/identity@0.1.0#did: func() -> string
wasmtime_error_t* hostDid(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                          wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                          size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  if (!argsAre(args, nargs, {}) || !resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_STRING)) {
    return guestFault(env, "aether:host/identity.did: imported with a signature other than func() -> string");
  }
  const std::string& did = env->host->node_did;
  if (!isValidUtf8(did)) {
    // Our bug, not the guest's; still a trap rather than handing Wasmtime invalid UTF-8.
    return guestFault(env, "aether:host/identity.did: the node DID is not valid UTF-8");
  }
  setString(&results[0], did);
  return nullptr;
}

// aether:host/log@0.1.0#write: func(level: level, message: string) -> result<_, host-error>
wasmtime_error_t* hostLogWrite(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                               wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                               size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  if (!argsAre(args, nargs, {WASMTIME_COMPONENT_ENUM, WASMTIME_COMPONENT_STRING}) ||
      !resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT)) {
    return guestFault(env,
                      "aether:host/log.write: imported with a signature other than "
                      "func(level, string) -> result<_, host-error>");
  }
  const std::string_view level_name(args[0].of.enumeration.data, args[0].of.enumeration.size);
  std::optional<LogLevel> level;
  for (std::size_t i = 0; i < kLevelNames.size(); ++i) {
    if (level_name == kLevelNames[i]) level = static_cast<LogLevel>(i);
  }
  if (!level) return guestFault(env, "aether:host/log.write: unknown level (not the enum of host.wit)");
  const std::string_view message(args[1].of.string.data, args[1].of.string.size);
  if (message.size() > kMaxLogMessage) {
    env->errors.push_back("aether:host/log.write: message of " + std::to_string(message.size()) + " bytes refused");
    setHostError(&results[0], "invalid", "message longer than " + std::to_string(kMaxLogMessage) + " bytes");
    return nullptr;
  }
  // The canonical ABI has already rejected invalid UTF-8 when lifting the string; check anyway,
  // the host callbacks below are promised text.
  if (!isValidUtf8(message)) {
    setHostError(&results[0], "invalid", "message is not valid UTF-8");
    return nullptr;
  }
  if (!env->takeOutput(message.size())) {
    env->errors.push_back("aether:host/log.write: output limit of " + std::to_string(env->limits->max_output_bytes) +
                          " bytes reached");
    setHostError(&results[0], "limit-exceeded",
                 "output limit of " + std::to_string(env->limits->max_output_bytes) + " bytes reached");
    return nullptr;
  }
  if (env->host->log) {
    env->host->log(*level, message);
  } else if (env->host->print) {
    env->host->print(std::string(message) + "\n");
  }
  setOk(&results[0]);
  return nullptr;
}

// wasi:clocks/monotonic-clock#subscribe-{duration,instant}: the only WASI calls through which a
// guest could block the host thread (a pollable that wasi:io/poll waits on) without burning
// fuel — no preopens, no network and an empty stdin leave nothing else to wait for. Shadowed by
// this function, which traps: the sandbox has no sleep and no timers.
wasmtime_error_t* denySleep(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t*,
                            wasmtime_component_val_t*, size_t, wasmtime_component_val_t*, size_t) {
  return guestFault(static_cast<CallEnv*>(data),
                    "wasi:clocks/monotonic-clock: sleeping and timers are not available in the sandbox "
                    "(subscribe-duration / subscribe-instant)");
}

bool isCoreModule(ByteView bytes) {
  // Core modules: "\0asm" 01 00 00 00. Components: "\0asm" <version> 00 01 00 (layer 1).
  return bytes.size() >= 8 && std::memcmp(bytes.data(), "\0asm", 4) == 0 && bytes[6] == 0 && bytes[7] == 0;
}

// Fuel is the one limit whose exhaustion the component API does not report as a trap code: a
// component call fails with a wasmtime_error_t and the C API (48.0.x) has no accessor for the
// trap code inside an error. A store whose fuel reads 0 after a failed call ran out of fuel.
bool outOfFuel(const wasmtime_context_t* cx) {
  std::uint64_t remaining = 1;
  ErrorPtr err(wasmtime_context_get_fuel(cx, &remaining));
  return !err && remaining == 0;
}

// Builds the linker: WASI Preview 2 plus aether:host@0.1.0. `env` is the host functions' data.
Result<std::unique_ptr<wasmtime_component_linker_t, ComponentLinkerDeleter>> makeLinker(wasm_engine_t* engine,
                                                                                         CallEnv* env) {
  std::unique_ptr<wasmtime_component_linker_t, ComponentLinkerDeleter> linker(wasmtime_component_linker_new(engine));
  // All of wasi:cli, wasi:clocks, wasi:filesystem, wasi:io, wasi:random and wasi:sockets 0.2.x
  // (not wasi:http). What a guest can reach through them is decided by the WASI context of the
  // store (makeStore): no preopens, no env, no network.
  if (ErrorPtr err(wasmtime_component_linker_add_wasip2(linker.get())); err) {
    return fail(Errc::kInternal, "cannot link WASI Preview 2: " + errorMessage(err.get()));
  }
  {
    wasmtime_component_linker_allow_shadowing(linker.get(), true);
    LinkerInstancePtr root(wasmtime_component_linker_root(linker.get()));
    wasmtime_component_linker_instance_t* raw_clock = nullptr;
    if (ErrorPtr err(wasmtime_component_linker_instance_add_instance(root.get(), kMonotonicClock.data(),
                                                                      kMonotonicClock.size(), &raw_clock));
        err) {
      return fail(Errc::kInternal, "cannot reopen " + std::string(kMonotonicClock) + ": " + errorMessage(err.get()));
    }
    LinkerInstancePtr clock(raw_clock);
    for (std::string_view fn : {"subscribe-duration", "subscribe-instant"}) {
      if (ErrorPtr err(wasmtime_component_linker_instance_add_func(clock.get(), fn.data(), fn.size(),
                                                                    noexceptHostFn<denySleep>, env, nullptr));
          err) {
        return fail(Errc::kInternal, "cannot shadow " + std::string(kMonotonicClock) + "#" + std::string(fn) + ": " +
                                         errorMessage(err.get()));
      }
    }
    clock.reset();
    root.reset();
    wasmtime_component_linker_allow_shadowing(linker.get(), false);
  }
  struct HostFn {
    std::string_view instance;
    std::string_view name;
    wasmtime_component_func_callback_t cb;
  };
  // Only one linker instance may be open at a time (each borrows the linker); the root is
  // released before the next interface is opened.
  for (const HostFn& fn : {HostFn{kIdentity, "did", noexceptHostFn<hostDid>},
                           HostFn{kLog, "write", noexceptHostFn<hostLogWrite>}}) {
    LinkerInstancePtr root(wasmtime_component_linker_root(linker.get()));
    wasmtime_component_linker_instance_t* raw_iface = nullptr;
    if (ErrorPtr err(wasmtime_component_linker_instance_add_instance(root.get(), fn.instance.data(),
                                                                      fn.instance.size(), &raw_iface));
        err) {
      return fail(Errc::kInternal, "cannot define " + std::string(fn.instance) + ": " + errorMessage(err.get()));
    }
    LinkerInstancePtr iface(raw_iface);
    if (ErrorPtr err(wasmtime_component_linker_instance_add_func(iface.get(), fn.name.data(), fn.name.size(), fn.cb,
                                                                  env, nullptr));
        err) {
      return fail(Errc::kInternal, "cannot define " + std::string(fn.instance) + "#" + std::string(fn.name) + ": " +
                                       errorMessage(err.get()));
    }
  }
  return linker;
}

// Creates the run's store with limits, fuel and — always, before anything is instantiated — a
// WASI context. Wasmtime's C API keeps the WASI state in an Option that its WASI host functions
// unwrap: a component calling any WASI function in a store without wasmtime_context_set_wasi
// aborts the whole process. This function is the only way runComponent gets a store, so a store
// without WASI state never meets a component.
Result<internal::StorePtr> makeStore(wasm_engine_t* engine, const Limits& limits, CallEnv* env) {
  internal::StorePtr store(wasmtime_store_new(engine, nullptr, nullptr));
  if (!store) return fail(Errc::kWasm, "wasmtime: cannot create store");
  wasmtime_context_t* cx = wasmtime_store_context(store.get());
  wasmtime_store_limiter(store.get(), limits.max_memory_bytes, limits.max_table_elements, kMaxInstances, kMaxTables,
                         kMaxMemories);
  if (ErrorPtr err(wasmtime_context_set_fuel(cx, limits.fuel)); err) {
    return fail(Errc::kWasm, "cannot set fuel: " + errorMessage(err.get()));
  }
  // wasi_config_new() starts empty: no preopened directories, no environment variables, no
  // arguments, empty stdin, stdout/stderr discarded, no network (every socket address denied,
  // no name lookups). Wall and monotonic clocks and random are the host's.
  std::unique_ptr<wasi_config_t, WasiConfigDeleter> wasi(wasi_config_new());
  if (!wasi) return fail(Errc::kWasm, "wasmtime: cannot allocate a WASI config");
  const char* argv[] = {kArgv0};
  if (!wasi_config_set_argv(wasi.get(), 1, argv)) return fail(Errc::kInternal, "cannot set WASI argv");
  wasi_config_set_stdout_custom(wasi.get(), outputSink, env, nullptr);
  wasi_config_set_stderr_custom(wasi.get(), outputSink, env, nullptr);
  // Takes ownership of the config, even on error.
  if (ErrorPtr err(wasmtime_context_set_wasi(cx, wasi.release())); err) {
    return fail(Errc::kWasm, "cannot set up WASI: " + errorMessage(err.get()));
  }
  return store;
}

// Wasmtime's message when an import has no (matching) definition in the linker; the test
// ComponentTest.UnknownInterfaceIsUnsupported pins it so an upgrade that rewords it fails loudly.
bool isMissingImport(std::string_view message) {
  return message.find("a matching implementation was not found in the linker") != std::string_view::npos;
}

}  // namespace

Result<RunResult> Engine::runComponent(ByteView component_bytes, const HostContext& host, const Limits& limits) const {
  // Accept WAT text (`(component ...)`) for tests and tools.
  wasm_byte_vec_t wat_out{0, nullptr};
  ByteView wasm = component_bytes;
  const bool is_binary = component_bytes.size() >= 4 && std::memcmp(component_bytes.data(), "\0asm", 4) == 0;
  if (!is_binary) {
    ErrorPtr err(wasmtime_wat2wasm(reinterpret_cast<const char*>(component_bytes.data()), component_bytes.size(),
                                   &wat_out));
    if (err) return fail(Errc::kWasm, "invalid WAT: " + errorMessage(err.get()));
    wasm = ByteView(reinterpret_cast<const std::uint8_t*>(wat_out.data), wat_out.size);
  }
  struct WatGuard {
    wasm_byte_vec_t* vec;
    ~WatGuard() {
      if (vec->data) wasm_byte_vec_delete(vec);
    }
  } wat_guard{&wat_out};
  if (isCoreModule(wasm)) {
    return fail(Errc::kInvalidArgument,
                "this is a core Wasm module, not a component (run it with Engine::run, or wrap it with "
                "`wasm-tools component new`)");
  }

  wasmtime_component_t* raw_component = nullptr;
  if (ErrorPtr err(wasmtime_component_new(impl_->engine, wasm.data(), wasm.size(), &raw_component)); err) {
    return fail(Errc::kWasm, "cannot compile component: " + errorMessage(err.get()));
  }
  std::unique_ptr<wasmtime_component_t, ComponentDeleter> component(raw_component);

  // Destroyed after the store and linker that point at it.
  CallEnv env{&host, &limits, {}, 0};
  // TODO(perf): build the linker once per Engine and pass CallEnv through the store's data.
  AE_ASSIGN_OR_RETURN(auto linker, makeLinker(impl_->engine, &env));
  AE_ASSIGN_OR_RETURN(internal::StorePtr store, makeStore(impl_->engine, limits, &env));
  wasmtime_context_t* cx = wasmtime_store_context(store.get());

  wasmtime_component_instance_t instance;
  if (ErrorPtr err(wasmtime_component_linker_instantiate(linker.get(), cx, component.get(), &instance)); err) {
    const std::string msg = errorMessage(err.get());
    if (isMissingImport(msg)) {
      return fail(Errc::kUnsupported, "component needs what this host does not provide: " + msg);
    }
    if (outOfFuel(cx)) {
      return fail(Errc::kLimitExceeded, "guest ran out of fuel during instantiation (limit " +
                                            std::to_string(limits.fuel) + ")");
    }
    return fail(Errc::kWasm, "cannot instantiate component: " + msg);
  }

  std::unique_ptr<wasmtime_component_export_index_t, ExportIndexDeleter> index(
      wasmtime_component_instance_get_export_index(&instance, cx, nullptr, kRunExport.data(), kRunExport.size()));
  wasmtime_component_func_t run;
  if (!index || !wasmtime_component_instance_get_func(&instance, cx, index.get(), &run)) {
    return fail(Errc::kNotFound, "component exports no function named 'run'");
  }
  {
    std::unique_ptr<wasmtime_component_func_type_t, FuncTypeDeleter> ty(wasmtime_component_func_type(&run, cx));
    if (wasmtime_component_func_type_param_count(ty.get()) != 0 ||
        !resultTypeIs(ty.get(), 1, WASMTIME_COMPONENT_VALTYPE_RESULT)) {
      return fail(Errc::kWasm, "export 'run' must have type func() -> result<_, string>");
    }
  }

  wasmtime_component_val_t result;
  result.kind = WASMTIME_COMPONENT_BOOL;
  result.of.boolean = false;
  ErrorPtr call_err(wasmtime_component_func_call(&run, cx, nullptr, 0, &result, 1));
  ValGuard result_guard{&result};
  std::uint64_t remaining = 0;
  wasmtime_context_get_fuel(cx, &remaining);
  if (call_err) {
    // wasi:cli/exit.exit (libc's exit()) ends the run like a return from run(): 0 is ok.
    if (int status = 0; wasmtime_error_exit_status(call_err.get(), &status)) {
      RunResult out;
      out.fuel_used = limits.fuel - remaining;
      out.host_errors = std::move(env.errors);
      if (status != 0) {
        out.value = 1;
        out.guest_error = "exited with status " + std::to_string(status);
      }
      return out;
    }
    if (outOfFuel(cx)) {
      return fail(Errc::kLimitExceeded, "guest ran out of fuel (limit " + std::to_string(limits.fuel) + ")");
    }
    return fail(Errc::kWasm, "guest trapped: " + errorMessage(call_err.get()));
  }

  RunResult out;
  out.fuel_used = limits.fuel - remaining;
  out.host_errors = std::move(env.errors);
  if (result.kind != WASMTIME_COMPONENT_RESULT) return fail(Errc::kWasm, "export 'run' returned a non-result");
  if (!result.of.result.is_ok) {
    out.value = 1;
    const wasmtime_component_val_t* payload = result.of.result.val;
    if (payload != nullptr && payload->kind == WASMTIME_COMPONENT_STRING) {
      // Valid UTF-8 (lifted by Wasmtime); kept to kMaxLogMessage bytes on a character boundary.
      std::size_t n = std::min(payload->of.string.size, kMaxLogMessage);
      while (n < payload->of.string.size && n > 0 && (payload->of.string.data[n] & 0xc0) == 0x80) --n;
      out.guest_error.assign(payload->of.string.data, n);
      if (n < payload->of.string.size) out.guest_error += " [truncated]";
    } else {
      out.guest_error = "(run returned err without a message)";
    }
  }
  return out;
}

}  // namespace aether::sandbox
