// Engine::runComponent: WebAssembly components (WASI Preview 2) against aether:host@0.1.0
// (sdk/wit/host.wit). Shares the engine with the core-module path in sandbox.cc.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <wasmtime.h>

#include <algorithm>
#include <array>
#include <cerrno>
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
constexpr std::string_view kKv = "aether:host/kv@0.1.0";
constexpr std::string_view kBlocks = "aether:host/blocks@0.1.0";
constexpr std::string_view kStreams = "aether:host/streams@0.1.0";
constexpr std::string_view kHttp = "aether:host/http@0.1.0";
constexpr std::string_view kEvents = "aether:host/events@0.1.0";
// Bytes crossing the host API as list<u8> (each element is a value struct in the C API, so
// keep these modest).
constexpr std::size_t kMaxBytesArg = 256 << 10;
constexpr std::size_t kMaxSignMessage = 64 << 10;
constexpr std::size_t kMaxKeyBytes = 256;
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

using internal::ComponentDeleter;
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

// A file descriptor closed on destruction.
struct UniqueFd {
  int fd = -1;
  UniqueFd() = default;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd >= 0) ::close(fd);
  }
};

// State the host functions and the stdout/stderr sinks see; lives on the stack of runComponent
// and outlives the store (declared before it).
struct CallEnv {
  const HostContext* host;
  const Limits* limits;
  std::vector<std::string> errors;
  std::size_t output_bytes = 0;
  // The fs quota (Limits::fs_quota_bytes) when the run has a writable mount: usage at start,
  // and an exclusive flock on app_data_dir held for the run (two runs writing at once would
  // each get the whole remaining budget).
  std::optional<std::uint64_t> fs_usage_at_start;
  UniqueFd fs_lock;

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
  (void)data;  // the linker is shared by every run: the run's CallEnv is the store's data
  try {
    return Impl(wasmtime_context_get_data(cx), cx, ty, args, nargs, results, nresults);
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

// ---- gated host functions --------------------------------------------------------------------

std::optional<Bytes> bytesOf(const wasmtime_component_val_t& v) {
  if (v.kind != WASMTIME_COMPONENT_LIST) return std::nullopt;
  Bytes out;
  out.reserve(v.of.list.size);
  for (std::size_t i = 0; i < v.of.list.size; ++i) {
    const auto& e = v.of.list.data[i];
    if (e.kind != WASMTIME_COMPONENT_U8) return std::nullopt;
    out.push_back(e.of.u8);
  }
  return out;
}

std::optional<std::string_view> stringOf(const wasmtime_component_val_t& v) {
  if (v.kind != WASMTIME_COMPONENT_STRING) return std::nullopt;
  return std::string_view(v.of.string.data, v.of.string.size);
}

void setBytes(wasmtime_component_val_t* out, ByteView b) {
  out->kind = WASMTIME_COMPONENT_LIST;
  wasmtime_component_vallist_new_uninit(&out->of.list, b.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    out->of.list.data[i].kind = WASMTIME_COMPONENT_U8;
    out->of.list.data[i].of.u8 = b[i];
  }
}

void setOkWith(wasmtime_component_val_t* out, wasmtime_component_val_t payload) {
  out->kind = WASMTIME_COMPONENT_RESULT;
  out->of.result.is_ok = true;
  out->of.result.val = wasmtime_component_val_new(&payload);
}

// The host-error case for a Services error.
std::string_view hostErrorCase(Errc code) {
  switch (code) {
    case Errc::kNotFound:
      return "not-found";
    case Errc::kLimitExceeded:
      return "limit-exceeded";
    case Errc::kInvalidArgument:
    case Errc::kMalformed:
    case Errc::kNonCanonical:
    case Errc::kTruncated:
    case Errc::kWrongLength:
    case Errc::kUnsupported:
      return "invalid";
    case Errc::kPermissionDenied:
      return "denied";
    case Errc::kIo:
      return "unavailable";
    default:
      return "internal";
  }
}

// Text for the guest: valid UTF-8 only (Wasmtime aborts on anything else).
std::string safeText(std::string_view s) {
  if (isValidUtf8(s)) return std::string(s);
  std::string out;
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x80 ? c : '?');
  return out;
}

void setServiceError(wasmtime_component_val_t* out, const Error& e) {
  setHostError(out, hostErrorCase(e.code), safeText(e.message));
}

// The capability check every gated host function makes before anything else. Records the
// decision in the audit trail; on refusal fills `result` with host-error.denied.
// Runs on every gated call: nothing is allocated on the allowed path beyond the AuditEvent.
bool allowed(CallEnv* env, std::string_view function, std::string_view right, std::string_view resource,
             wasmtime_component_val_t* result) {
  Status st = env->host->gate != nullptr ? env->host->gate->check(right, resource)
                                         : Status(fail(Errc::kPermissionDenied, "no capability gate for this run"));
  if (env->host->services != nullptr) {
    env->host->services->audit(AuditEvent{std::string(function), std::string(right), std::string(resource),
                                          static_cast<bool>(st), st ? std::string() : st.error().message});
  }
  if (!st) {
    const std::string what = std::string(right) + " " + std::string(resource);
    env->errors.push_back(std::string(function) + ": denied " + what + ": " + st.error().message);
    setHostError(result, "denied",
                 safeText("needs " + std::string(right) + " on " + std::string(resource) + ": " + st.error().message));
    return false;
  }
  return true;
}

// Services, or host-error.unavailable when the node gave none.
Services* services(CallEnv* env, wasmtime_component_val_t* result) {
  if (env->host->services == nullptr) {
    setHostError(result, "unavailable", "this node offers no services to apps in this run");
  }
  return env->host->services;
}

#define AE_GUEST_SHAPE(cond, what)                                                                 \
  do {                                                                                             \
    if (!(cond)) return guestFault(env, std::string(what) + ": imported with a signature other than host.wit's"); \
  } while (0)

bool validKey(std::string_view key, bool allow_empty_prefix) {
  if (key.empty()) return allow_empty_prefix;
  if (key.size() > kMaxKeyBytes) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '~' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// identity.app-did: func() -> string
wasmtime_error_t* hostAppDid(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                             wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                             size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_STRING),
                 "aether:host/identity.app-did");
  setString(&results[0], safeText(env->host->app_did));
  return nullptr;
}

// identity.sign: func(message: list<u8>) -> result<list<u8>, host-error>
wasmtime_error_t* hostSign(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                           wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                           size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_LIST}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/identity.sign");
  if (!allowed(env, "identity.sign", "identity.sign", "*", &results[0])) return nullptr;
  auto msg = bytesOf(args[0]);
  AE_GUEST_SHAPE(msg, "aether:host/identity.sign");
  if (msg->size() > kMaxSignMessage) {
    setHostError(&results[0], "invalid", "message longer than 64 KiB");
    return nullptr;
  }
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto sig = sv->sign(*msg);
  if (!sig) {
    setServiceError(&results[0], sig.error());
    return nullptr;
  }
  wasmtime_component_val_t payload;
  setBytes(&payload, *sig);
  setOkWith(&results[0], payload);
  return nullptr;
}

// kv.get: func(key: string) -> result<option<list<u8>>, host-error>
wasmtime_error_t* hostKvGet(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                            wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                            size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/kv.get");
  const std::string key(*stringOf(args[0]));
  if (!validKey(key, false)) {
    setHostError(&results[0], "invalid", "a key is 1..256 bytes of [A-Za-z0-9._~-/]");
    return nullptr;
  }
  if (!allowed(env, "kv.get", "kv.read", key, &results[0])) return nullptr;
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto v = sv->kvGet(key);
  if (!v) {
    setServiceError(&results[0], v.error());
    return nullptr;
  }
  wasmtime_component_val_t opt;
  opt.kind = WASMTIME_COMPONENT_OPTION;
  opt.of.option = nullptr;
  if (*v) {
    wasmtime_component_val_t bytes;
    setBytes(&bytes, **v);
    opt.of.option = wasmtime_component_val_new(&bytes);
  }
  setOkWith(&results[0], opt);
  return nullptr;
}

// kv.set: func(key: string, value: list<u8>) -> result<_, host-error>
wasmtime_error_t* hostKvSet(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                            wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                            size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING, WASMTIME_COMPONENT_LIST}) &&
                     resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/kv.set");
  const std::string key(*stringOf(args[0]));
  if (!validKey(key, false)) {
    setHostError(&results[0], "invalid", "a key is 1..256 bytes of [A-Za-z0-9._~-/]");
    return nullptr;
  }
  if (!allowed(env, "kv.set", "kv.write", key, &results[0])) return nullptr;
  if (args[1].of.list.size > kMaxBytesArg) {
    setHostError(&results[0], "limit-exceeded", "values are at most 256 KiB");
    return nullptr;
  }
  auto value = bytesOf(args[1]);
  AE_GUEST_SHAPE(value, "aether:host/kv.set");
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  if (auto st = sv->kvSet(key, *value); !st) {
    setServiceError(&results[0], st.error());
    return nullptr;
  }
  setOk(&results[0]);
  return nullptr;
}

// kv.delete: func(key: string) -> result<_, host-error>
wasmtime_error_t* hostKvDelete(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                               wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                               size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/kv.delete");
  const std::string key(*stringOf(args[0]));
  if (!validKey(key, false)) {
    setHostError(&results[0], "invalid", "a key is 1..256 bytes of [A-Za-z0-9._~-/]");
    return nullptr;
  }
  if (!allowed(env, "kv.delete", "kv.delete", key, &results[0])) return nullptr;
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  if (auto st = sv->kvDelete(key); !st) {
    setServiceError(&results[0], st.error());
    return nullptr;
  }
  setOk(&results[0]);
  return nullptr;
}

// kv.keys: func(prefix: string) -> result<list<string>, host-error>
wasmtime_error_t* hostKvKeys(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                             wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                             size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/kv.keys");
  const std::string prefix(*stringOf(args[0]));
  if (!validKey(prefix, true) || (!prefix.empty() && prefix.back() != '/')) {
    setHostError(&results[0], "invalid", "a prefix is empty or ends with '/'");
    return nullptr;
  }
  if (!allowed(env, "kv.keys", "kv.list", prefix + "*", &results[0])) return nullptr;
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto keys = sv->kvList(prefix);
  if (!keys) {
    setServiceError(&results[0], keys.error());
    return nullptr;
  }
  wasmtime_component_val_t list;
  list.kind = WASMTIME_COMPONENT_LIST;
  wasmtime_component_vallist_new_uninit(&list.of.list, keys->size());
  for (std::size_t i = 0; i < keys->size(); ++i) setString(&list.of.list.data[i], safeText((*keys)[i]));
  setOkWith(&results[0], list);
  return nullptr;
}

// blocks.put: func(data: list<u8>) -> result<string, host-error>
wasmtime_error_t* hostBlockPut(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                               wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                               size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_LIST}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/blocks.put");
  if (!allowed(env, "blocks.put", "blocks.put", "*", &results[0])) return nullptr;
  if (args[0].of.list.size > kMaxBytesArg) {
    setHostError(&results[0], "limit-exceeded", "blocks are at most 256 KiB");
    return nullptr;
  }
  auto bytes = bytesOf(args[0]);
  AE_GUEST_SHAPE(bytes, "aether:host/blocks.put");
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto cid = sv->blockPut(*bytes);
  if (!cid) {
    setServiceError(&results[0], cid.error());
    return nullptr;
  }
  wasmtime_component_val_t text;
  setString(&text, safeText(*cid));
  setOkWith(&results[0], text);
  return nullptr;
}

// blocks.get: func(cid: string) -> result<list<u8>, host-error>
wasmtime_error_t* hostBlockGet(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                               wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                               size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/blocks.get");
  if (!allowed(env, "blocks.get", "blocks.get", "*", &results[0])) return nullptr;
  const std::string cid(*stringOf(args[0]));
  if (cid.size() > 512) {
    setHostError(&results[0], "invalid", "not a CID");
    return nullptr;
  }
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto bytes = sv->blockGet(cid);
  if (!bytes) {
    setServiceError(&results[0], bytes.error());
    return nullptr;
  }
  if (bytes->size() > kMaxBytesArg) {
    setHostError(&results[0], "limit-exceeded", "the block is larger than 256 KiB");
    return nullptr;
  }
  wasmtime_component_val_t payload;
  setBytes(&payload, *bytes);
  setOkWith(&results[0], payload);
  return nullptr;
}

// A stream name as src/log takes it: 1..64 characters of [A-Za-z0-9._-], not "." or "..".
// (A valid capability key too: streams.* resources are keys.)
bool validStreamName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// An Ed25519 did:key as text: "did:key:z" and base58btc characters (the node parses it fully).
bool plausibleDidKey(std::string_view did) {
  constexpr std::string_view kPrefix = "did:key:z";
  if (!did.starts_with(kPrefix) || did.size() > 128 || did.size() == kPrefix.size()) return false;
  for (char c : did.substr(kPrefix.size())) {
    const bool ok = (c >= '1' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O') ||
                    (c >= 'a' && c <= 'z' && c != 'l');
    if (!ok) return false;
  }
  return true;
}

// The resource streams.read is checked on: the stream name for the app's own streams,
// "<author's did:key without 'did:key:'>/<name>" for another author's ("z6Mk.../notes").
std::string streamReadResource(const CallEnv* env, std::string_view author, std::string_view name) {
  if (author == env->host->app_did) return std::string(name);
  return std::string(author.substr(std::string_view("did:key:").size())) + "/" + std::string(name);
}

// streams.append: func(name: string, payload: list<u8>) -> result<u64, host-error>
wasmtime_error_t* hostStreamAppend(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                                   wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                                   size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING, WASMTIME_COMPONENT_LIST}) &&
                     resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/streams.append");
  const std::string name(*stringOf(args[0]));
  if (!validStreamName(name)) {
    setHostError(&results[0], "invalid", "a stream name is 1..64 characters of [A-Za-z0-9._-], not . or ..");
    return nullptr;
  }
  if (!allowed(env, "streams.append", "streams.append", name, &results[0])) return nullptr;
  if (args[1].of.list.size > kMaxBytesArg) {
    setHostError(&results[0], "limit-exceeded", "payloads are at most 256 KiB");
    return nullptr;
  }
  auto payload = bytesOf(args[1]);
  AE_GUEST_SHAPE(payload, "aether:host/streams.append");
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto seq = sv->logAppend(name, *payload);
  if (!seq) {
    setServiceError(&results[0], seq.error());
    return nullptr;
  }
  wasmtime_component_val_t v;
  v.kind = WASMTIME_COMPONENT_U64;
  v.of.u64 = *seq;
  setOkWith(&results[0], v);
  return nullptr;
}

// streams.read: func(author: string, name: string, seq: u64) -> result<list<u8>, host-error>
wasmtime_error_t* hostStreamRead(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                                 wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                                 size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING, WASMTIME_COMPONENT_STRING, WASMTIME_COMPONENT_U64}) &&
                     resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/streams.read");
  const std::string author(*stringOf(args[0]));
  const std::string name(*stringOf(args[1]));
  if (!plausibleDidKey(author) || !validStreamName(name)) {
    setHostError(&results[0], "invalid",
                 "the author is a did:key and a stream name 1..64 characters of [A-Za-z0-9._-], not . or ..");
    return nullptr;
  }
  if (!allowed(env, "streams.read", "streams.read", streamReadResource(env, author, name), &results[0])) return nullptr;
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto payload = sv->logRead(author, name, args[2].of.u64);
  if (!payload) {
    setServiceError(&results[0], payload.error());
    return nullptr;
  }
  if (payload->size() > kMaxBytesArg) {
    setHostError(&results[0], "limit-exceeded", "the entry's payload is larger than 256 KiB");
    return nullptr;
  }
  wasmtime_component_val_t v;
  setBytes(&v, *payload);
  setOkWith(&results[0], v);
  return nullptr;
}

const wasmtime_component_val_t* recordField(const wasmtime_component_val_t& rec, std::string_view name) {
  if (rec.kind != WASMTIME_COMPONENT_RECORD) return nullptr;
  for (std::size_t i = 0; i < rec.of.record.size; ++i) {
    const auto& e = rec.of.record.data[i];
    if (std::string_view(e.name.data, e.name.size) == name) return &e.val;
  }
  return nullptr;
}

void setHeaders(wasmtime_component_val_t* out, const std::vector<std::pair<std::string, std::string>>& headers) {
  out->kind = WASMTIME_COMPONENT_LIST;
  wasmtime_component_vallist_new_uninit(&out->of.list, headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) {
    auto& rec = out->of.list.data[i];
    rec.kind = WASMTIME_COMPONENT_RECORD;
    wasmtime_component_valrecord_new_uninit(&rec.of.record, 2);
    wasm_name_new_from_string(&rec.of.record.data[0].name, "name");
    setString(&rec.of.record.data[0].val, safeText(headers[i].first));
    wasm_name_new_from_string(&rec.of.record.data[1].name, "value");
    setString(&rec.of.record.data[1].val, safeText(headers[i].second));
  }
}

// http.fetch: func(request: request) -> result<response, host-error>
wasmtime_error_t* hostHttpFetch(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                                wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                                size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_RECORD}) && resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/http.fetch");
  const auto* method = recordField(args[0], "method");
  const auto* url = recordField(args[0], "url");
  const auto* headers = recordField(args[0], "headers");
  const auto* body = recordField(args[0], "body");
  AE_GUEST_SHAPE(method && url && headers && body && stringOf(*method) && stringOf(*url) &&
                     headers->kind == WASMTIME_COMPONENT_LIST && body->kind == WASMTIME_COMPONENT_LIST,
                 "aether:host/http.fetch");
  std::string m(*stringOf(*method));
  for (char& c : m) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  static constexpr std::string_view kMethods[] = {"get", "head", "post", "put", "patch", "delete"};
  if (std::find(std::begin(kMethods), std::end(kMethods), m) == std::end(kMethods)) {
    setHostError(&results[0], "invalid", "method must be GET, HEAD, POST, PUT, PATCH or DELETE");
    return nullptr;
  }
  const std::string u(*stringOf(*url));
  if (u.size() > 2048) {
    setHostError(&results[0], "invalid", "URL longer than 2048 bytes");
    return nullptr;
  }
  if (!allowed(env, "http.fetch", "http." + m, u, &results[0])) return nullptr;
  HttpRequest req;
  for (char& c : m) c = static_cast<char>(c - 'a' + 'A');
  req.method = m;
  req.url = u;
  for (std::size_t i = 0; i < headers->of.list.size; ++i) {
    const auto* n = recordField(headers->of.list.data[i], "name");
    const auto* v = recordField(headers->of.list.data[i], "value");
    AE_GUEST_SHAPE(n && v && stringOf(*n) && stringOf(*v), "aether:host/http.fetch");
    req.headers.emplace_back(std::string(*stringOf(*n)), std::string(*stringOf(*v)));
  }
  if (body->of.list.size > kMaxBytesArg) {
    setHostError(&results[0], "limit-exceeded", "request bodies are at most 256 KiB");
    return nullptr;
  }
  auto b = bytesOf(*body);
  AE_GUEST_SHAPE(b, "aether:host/http.fetch");
  req.body = std::move(*b);
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  auto resp = sv->httpFetch(req);
  if (!resp) {
    setServiceError(&results[0], resp.error());
    return nullptr;
  }
  wasmtime_component_val_t rec;
  rec.kind = WASMTIME_COMPONENT_RECORD;
  wasmtime_component_valrecord_new_uninit(&rec.of.record, 3);
  wasm_name_new_from_string(&rec.of.record.data[0].name, "status");
  rec.of.record.data[0].val.kind = WASMTIME_COMPONENT_U16;
  rec.of.record.data[0].val.of.u16 = resp->status;
  wasm_name_new_from_string(&rec.of.record.data[1].name, "headers");
  setHeaders(&rec.of.record.data[1].val, resp->headers);
  wasm_name_new_from_string(&rec.of.record.data[2].name, "body");
  setBytes(&rec.of.record.data[2].val, ByteView(resp->body).first(std::min(resp->body.size(), kMaxBytesArg)));
  setOkWith(&results[0], rec);
  return nullptr;
}

// events.emit: func(name: string, detail: string) -> result<_, host-error>
wasmtime_error_t* hostEventEmit(void* data, wasmtime_context_t*, const wasmtime_component_func_type_t* ty,
                                wasmtime_component_val_t* args, size_t nargs, wasmtime_component_val_t* results,
                                size_t nresults) {
  auto* env = static_cast<CallEnv*>(data);
  AE_GUEST_SHAPE(argsAre(args, nargs, {WASMTIME_COMPONENT_STRING, WASMTIME_COMPONENT_STRING}) &&
                     resultTypeIs(ty, nresults, WASMTIME_COMPONENT_VALTYPE_RESULT),
                 "aether:host/events.emit");
  const std::string name(*stringOf(args[0]));
  const std::string_view detail = *stringOf(args[1]);
  if (!validKey(name, false) || detail.size() > 4096) {
    setHostError(&results[0], "invalid", "an event name is 1..256 bytes of [A-Za-z0-9._~-/], detail at most 4 KiB");
    return nullptr;
  }
  if (!allowed(env, "events.emit", "events.emit", name, &results[0])) return nullptr;
  Services* sv = services(env, &results[0]);
  if (!sv) return nullptr;
  sv->audit(AuditEvent{"events.emit", "events.emit", name, true, safeText(detail)});
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

struct HostFn {
  std::string_view instance;
  std::string_view name;
  wasmtime_component_func_callback_t cb;
  std::string_view right;  // empty: needs no capability (no effect, nothing secret)
};

// Every function of aether:host@0.1.0 this host implements (sdk/wit/host.wit).
const std::vector<HostFn>& hostFunctions() {
  static const std::vector<HostFn> fns = {
      {kIdentity, "did", noexceptHostFn<hostDid>, ""},
      {kIdentity, "app-did", noexceptHostFn<hostAppDid>, ""},
      {kIdentity, "sign", noexceptHostFn<hostSign>, "identity.sign"},
      {kLog, "write", noexceptHostFn<hostLogWrite>, ""},
      {kKv, "get", noexceptHostFn<hostKvGet>, "kv.read"},
      {kKv, "set", noexceptHostFn<hostKvSet>, "kv.write"},
      {kKv, "delete", noexceptHostFn<hostKvDelete>, "kv.delete"},
      {kKv, "keys", noexceptHostFn<hostKvKeys>, "kv.list"},
      {kBlocks, "put", noexceptHostFn<hostBlockPut>, "blocks.put"},
      {kBlocks, "get", noexceptHostFn<hostBlockGet>, "blocks.get"},
      {kStreams, "append", noexceptHostFn<hostStreamAppend>, "streams.append"},
      {kStreams, "read", noexceptHostFn<hostStreamRead>, "streams.read"},
      {kHttp, "fetch", noexceptHostFn<hostHttpFetch>, "http.*"},
      {kEvents, "emit", noexceptHostFn<hostEventEmit>, "events.emit"},
  };
  return fns;
}

// Builds the linker: WASI Preview 2 plus aether:host@0.1.0. Host functions get no data of
// their own: noexceptHostFn hands them the store's data, the CallEnv of the run.
Result<std::unique_ptr<wasmtime_component_linker_t, ComponentLinkerDeleter>> makeLinker(wasm_engine_t* engine) {
  void* const env = nullptr;
  std::unique_ptr<wasmtime_component_linker_t, ComponentLinkerDeleter> linker(wasmtime_component_linker_new(engine));
  // All of wasi:cli, wasi:clocks, wasi:filesystem, wasi:io, wasi:random and wasi:sockets 0.2.x
  // (not wasi:http). What a guest can reach through them is decided by the WASI context of the
  // store (makeStore): no preopens, no env, no network.
  if (ErrorPtr err(wasmtime_component_linker_add_wasip2(linker.get())); err) {
    return fail(Errc::kInternal, "cannot link WASI Preview 2: " + errorMessage(err.get()));
  }
  // wasi:filesystem/types again, wrapped: writes that would grow the app's directory past its
  // budget fail with error-code.quota (fs_quota.h, deps/wasmtime/fs_quota.rs).
  if (ErrorPtr err(aether_wasi_fs_quota_link(linker.get())); err) {
    return fail(Errc::kInternal, "cannot link the WASI filesystem quota: " + errorMessage(err.get()));
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
  // Only one linker instance may be open at a time (each borrows the linker); the root is
  // released before the next interface is opened.
  // One linker instance per interface, holding all of its functions.
  std::vector<std::pair<std::string_view, std::vector<HostFn>>> interfaces;
  for (const HostFn& fn : hostFunctions()) {
    auto it = std::find_if(interfaces.begin(), interfaces.end(), [&](const auto& p) { return p.first == fn.instance; });
    if (it == interfaces.end()) {
      interfaces.emplace_back(fn.instance, std::vector<HostFn>{});
      it = std::prev(interfaces.end());
    }
    it->second.push_back(fn);
  }
  for (const auto& [instance, fns] : interfaces) {
    LinkerInstancePtr root(wasmtime_component_linker_root(linker.get()));
    wasmtime_component_linker_instance_t* raw_iface = nullptr;
    if (ErrorPtr err(wasmtime_component_linker_instance_add_instance(root.get(), instance.data(),
                                                                      instance.size(), &raw_iface));
        err) {
      return fail(Errc::kInternal, "cannot define " + std::string(instance) + ": " + errorMessage(err.get()));
    }
    LinkerInstancePtr iface(raw_iface);
    for (const HostFn& fn : fns) {
      if (ErrorPtr err(wasmtime_component_linker_instance_add_func(iface.get(), fn.name.data(), fn.name.size(), fn.cb,
                                                                    env, nullptr));
          err) {
        return fail(Errc::kInternal, "cannot define " + std::string(instance) + "#" + std::string(fn.name) + ": " +
                                         errorMessage(err.get()));
      }
    }
  }
  return linker;
}

// A guest path in cap's normal form for fs resources: "/" or "/seg/seg" with segments of
// [A-Za-z0-9._~-] that are not "." or "..". Mounts are checked exactly as given (no normalizing).
bool validMountPath(std::string_view p) {
  if (p == "/") return true;
  if (p.empty() || p.front() != '/' || p.back() == '/' || p.size() > 1024) return false;
  std::size_t start = 1;
  while (start <= p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view seg = p.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '~' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

// The WASI preopens of a run: each HostContext::fs_mounts entry the gate allows, backed by a
// directory inside app_data_dir. Wasmtime (cap-std) confines every path the guest opens to the
// preopened directory: "..", absolute paths and symlinks leading out are refused.
Status preopenMounts(wasi_config_t* wasi, CallEnv* env) {
  namespace fs = std::filesystem;
  const HostContext& host = *env->host;
  if (host.fs_mounts.empty()) return {};
  std::error_code ec;
  std::optional<fs::path> root;
  if (host.app_data_dir) {
    fs::create_directories(*host.app_data_dir, ec);
    if (!ec) root = fs::canonical(*host.app_data_dir, ec);
    if (ec) return fail(Errc::kIo, "cannot prepare the app's data directory " + host.app_data_dir->string() + ": " + ec.message());
  }
  for (const HostContext::FsMount& m : host.fs_mounts) {
    const std::string what = std::string("wasi:filesystem mount ") + (m.writable ? "(rw) " : "(ro) ") + m.path;
    if (!validMountPath(m.path)) {
      env->errors.push_back(what + ": not an absolute path in normal form; not mounted");
      continue;
    }
    const std::string right = m.writable ? "fs.write" : "fs.read";
    const std::string resource = m.path == "/" ? "/*" : m.path + "/*";
    Status st = fail(Errc::kPermissionDenied, "no capability gate for this run");
    if (host.gate != nullptr) st = host.gate->check(right, resource);
    if (st && !root) st = fail(Errc::kInvalidArgument, "the node gave this run no app data directory");
    if (host.services != nullptr) {
      host.services->audit(AuditEvent{"wasi:filesystem/preopens", right, resource, static_cast<bool>(st),
                                      st ? std::string("mounted") : st.error().message});
    }
    if (!st) {
      env->errors.push_back("wasi:filesystem/preopens: denied " + right + " " + resource + ": " + st.error().message);
      continue;
    }
    const fs::path dir = m.path == "/" ? *root : *root / m.path.substr(1);
    fs::create_directories(dir, ec);
    const fs::path real = ec ? fs::path() : fs::canonical(dir, ec);
    // A symlink planted inside app_data_dir must not carry the mount outside it.
    const auto rel = real.lexically_relative(*root);
    if (ec || rel.empty() || *rel.begin() == "..") {
      return fail(Errc::kIo, "cannot mount " + m.path + ": " + dir.string() + " is not a directory inside " +
                                 root->string() + (ec ? ": " + ec.message() : std::string()));
    }
    if (!wasi_config_preopen_dir(wasi, real.c_str(), m.path.c_str(), m.writable)) {
      return fail(Errc::kIo, "cannot preopen " + real.string() + " as " + m.path);
    }
  }
  return {};
}

// Creates the run's store with limits, fuel and — always, before anything is instantiated — a
// WASI context. Wasmtime's C API keeps the WASI state in an Option that its WASI host functions
// unwrap: a component calling any WASI function in a store without wasmtime_context_set_wasi
// aborts the whole process. This function is the only way runComponent gets a store, so a store
// without WASI state never meets a component.
Result<internal::StorePtr> makeStore(wasm_engine_t* engine, const Limits& limits, CallEnv* env) {
  internal::StorePtr store(wasmtime_store_new(engine, env, nullptr));
  if (!store) return fail(Errc::kWasm, "wasmtime: cannot create store");
  wasmtime_context_t* cx = wasmtime_store_context(store.get());
  wasmtime_store_limiter(store.get(), limits.max_memory_bytes, limits.max_table_elements, kMaxInstances, kMaxTables,
                         kMaxMemories);
  AE_TRY(internal::applyRunLimits(cx, limits));
  // wasi_config_new() starts empty: no preopened directories, no environment variables, no
  // arguments, empty stdin, stdout/stderr discarded, no network (every socket address denied,
  // no name lookups). Wall and monotonic clocks and random are the host's.
  std::unique_ptr<wasi_config_t, WasiConfigDeleter> wasi(wasi_config_new());
  if (!wasi) return fail(Errc::kWasm, "wasmtime: cannot allocate a WASI config");
  const char* argv[] = {kArgv0};
  if (!wasi_config_set_argv(wasi.get(), 1, argv)) return fail(Errc::kInternal, "cannot set WASI argv");
  wasi_config_set_stdout_custom(wasi.get(), outputSink, env, nullptr);
  wasi_config_set_stderr_custom(wasi.get(), outputSink, env, nullptr);
  AE_TRY(preopenMounts(wasi.get(), env));
  // The fs budget: what the run may add to its directory. Every store gets one (a store
  // without one may grow nothing); unlimited unless a quota applies to a writable mount.
  std::uint64_t budget = UINT64_MAX;
  const bool writable = std::any_of(env->host->fs_mounts.begin(), env->host->fs_mounts.end(),
                                    [](const HostContext::FsMount& m) { return m.writable; });
  if (limits.fs_quota_bytes && writable && env->host->app_data_dir) {
    const std::string dir = env->host->app_data_dir->string();
    env->fs_lock.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (env->fs_lock.fd < 0) return fail(Errc::kIo, "cannot open " + dir + ": " + std::strerror(errno));
    if (::flock(env->fs_lock.fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return fail(Errc::kLimitExceeded, "another run is writing to " + dir +
                                              ": with a file storage quota, one run at a time may write there");
      }
      return fail(Errc::kIo, "cannot lock " + dir + ": " + std::strerror(errno));
    }
    AE_ASSIGN_OR_RETURN(std::uint64_t used, fsUsage(*env->host->app_data_dir));
    env->fs_usage_at_start = used;
    budget = used < *limits.fs_quota_bytes ? *limits.fs_quota_bytes - used : 0;
  }
  aether_wasi_fs_quota_set(cx, budget);
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

Result<RunResult> runCompiled(const Engine::Impl& engine, const wasmtime_component_t* component,
                              const HostContext& host, const Limits& limits);

}  // namespace

Result<std::uint64_t> fsUsage(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return std::uint64_t{0};
  std::uint64_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    total += kFsEntryBytes;
    if (fs::is_regular_file(st)) {
      const std::uintmax_t size = it->file_size(ec);
      if (ec) break;
      total += size;
    }
  }
  if (ec) return fail(Errc::kIo, "cannot measure " + dir.string() + ": " + ec.message());
  return total;
}

std::vector<HostFunctionInfo> Engine::hostFunctions() {
  std::vector<HostFunctionInfo> out;
  for (const auto& fn : aether::sandbox::hostFunctions()) {
    out.push_back(HostFunctionInfo{std::string(fn.instance), std::string(fn.name), std::string(fn.right)});
  }
  return out;
}

Result<RunResult> Engine::runComponent(ByteView component_bytes, const HostContext& host, const Limits& limits) const {
  AE_ASSIGN_OR_RETURN(CompiledComponent component, compileComponent(component_bytes));
  return runComponent(component, host, limits);
}

Result<CompiledComponent> Engine::compileComponent(ByteView component_bytes) const {
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
  AE_ASSIGN_OR_RETURN(internal::ComponentPtr component, internal::compileComponent(*impl_, wasm));
  auto impl = std::make_shared<CompiledComponent::Impl>();
  impl->engine = impl_.get();
  impl->component = std::move(component);
  return CompiledComponent(std::move(impl));
}

Result<RunResult> Engine::runComponent(const CompiledComponent& component, const HostContext& host,
                                       const Limits& limits) const {
  if (component.impl().engine != impl_.get()) {
    return fail(Errc::kInvalidArgument, "this component was compiled by another Engine");
  }
  return runCompiled(*impl_, component.impl().component.get(), host, limits);
}

namespace {

struct FsQuotaUse {
  std::uint64_t charged = 0;
  std::uint64_t refused = 0;
};

// After the run: what the fs budget paid for. Refusals are one audit event (allowed = false,
// detail "limit-exceeded: ...") and one host error for the whole run, not one per write.
FsQuotaUse reportFsQuota(CallEnv* env, wasmtime_context_t* cx, const Limits& limits) {
  FsQuotaUse use;
  if (!aether_wasi_fs_quota_stats(cx, &use.charged, &use.refused) || use.refused == 0) return use;
  std::string detail = "limit-exceeded: " + std::to_string(use.refused) + " filesystem write" +
                       (use.refused == 1 ? " was" : "s were") + " refused";
  if (limits.fs_quota_bytes && env->fs_usage_at_start) {
    detail += ": the app's file storage quota of " + std::to_string(*limits.fs_quota_bytes) + " bytes is used up (" +
              std::to_string(*env->fs_usage_at_start) + " bytes held at the start of the run, " +
              std::to_string(use.charged) + " added)";
  }
  env->errors.push_back("wasi:filesystem: " + detail);
  std::string mounts;
  for (const auto& m : env->host->fs_mounts) {
    if (!m.writable) continue;
    if (!mounts.empty()) mounts += " ";
    mounts += m.path == "/" ? "/*" : m.path + "/*";
  }
  if (env->host->services != nullptr) {
    env->host->services->audit(AuditEvent{"wasi:filesystem", "fs.write", mounts, false, detail});
  }
  return use;
}

Result<RunResult> runCompiled(const Engine::Impl& engine, const wasmtime_component_t* component,
                              const HostContext& host, const Limits& limits) {
  // Destroyed after the store that points at it.
  CallEnv env{&host, &limits, {}, 0, std::nullopt, {}};
  AE_ASSIGN_OR_RETURN(internal::StorePtr store, makeStore(engine.engine, limits, &env));
  wasmtime_context_t* cx = wasmtime_store_context(store.get());

  wasmtime_component_instance_t instance;
  if (ErrorPtr err(wasmtime_component_linker_instantiate(engine.component_linker, cx, component, &instance)); err) {
    const std::string msg = errorMessage(err.get());
    if (msg.find("maximum concurrent") != std::string::npos) {
      return fail(Errc::kLimitExceeded, "the node runs too many guests at once (" + msg + "); retry later");
    }
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
  const FsQuotaUse fs_use = reportFsQuota(&env, cx, limits);
  std::uint64_t remaining = 0;
  wasmtime_context_get_fuel(cx, &remaining);
  if (call_err) {
    // wasi:cli/exit.exit (libc's exit()) ends the run like a return from run(): 0 is ok.
    if (int status = 0; wasmtime_error_exit_status(call_err.get(), &status)) {
      RunResult out;
      out.fuel_used = internal::fuelBudget(limits) - remaining;
      out.host_errors = std::move(env.errors);
      out.fs_bytes_charged = fs_use.charged;
      out.fs_quota_refusals = fs_use.refused;
      if (status != 0) {
        out.value = 1;
        out.guest_error = "exited with status " + std::to_string(status);
      }
      return out;
    }
    if (outOfFuel(cx)) {
      return fail(Errc::kLimitExceeded, "guest ran out of fuel (limit " + std::to_string(limits.fuel) + ")");
    }
    const std::string msg = errorMessage(call_err.get());
    if (msg.find("wasm trap: interrupt") != std::string::npos) {
      return fail(Errc::kLimitExceeded, "guest ran past its time limit of " + std::to_string(limits.time_limit_ms) + " ms");
    }
    return fail(Errc::kWasm, "guest trapped: " + msg);
  }

  RunResult out;
  out.fuel_used = internal::fuelBudget(limits) - remaining;
  out.host_errors = std::move(env.errors);
  out.fs_bytes_charged = fs_use.charged;
  out.fs_quota_refusals = fs_use.refused;
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

}  // namespace

namespace internal {
Result<wasmtime_component_linker_t*> buildComponentLinker(wasm_engine_t* engine) {
  AE_ASSIGN_OR_RETURN(auto linker, makeLinker(engine));
  return linker.release();
}
}  // namespace internal

std::vector<HostContext::FsMount> fsMountsFor(std::span<const std::pair<std::string, std::string>> grants) {
  std::vector<HostContext::FsMount> out;
  for (const auto& [right, resource] : grants) {
    if (right != "fs.read" && right != "fs.write" && right != "fs.*") continue;
    std::string path;
    if (resource == "/*") {
      path = "/";
    } else if (resource.size() > 2 && resource.ends_with("/*")) {
      path = resource.substr(0, resource.size() - 2);
    } else {
      continue;  // a single file: not a directory to preopen
    }
    if (!validMountPath(path)) continue;
    const bool writable = right != "fs.read";
    auto it = std::find_if(out.begin(), out.end(), [&](const HostContext::FsMount& m) { return m.path == path; });
    if (it == out.end()) {
      out.push_back(HostContext::FsMount{path, writable});
    } else {
      it->writable = it->writable || writable;
    }
  }
  return out;
}

}  // namespace aether::sandbox
