#include "sandbox/sandbox.h"

#include <wasmtime.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <limits>
#include <vector>

#include "sandbox/internal.h"

namespace aether::sandbox {
namespace internal {

namespace {
// Wasmtime's messages put the backtrace first ("error while executing at wasm backtrace: <one
// line per frame> ... Caused by: <reason>"); a stack overflow has thousands of frames. Keep the
// reason first and at most a few frames, so a user reads why in one line.
std::string summarize(std::string s) {
  constexpr std::string_view kBacktrace = "error while executing at wasm backtrace:";
  constexpr std::size_t kFrames = 3;
  if (!s.starts_with(kBacktrace)) return s;
  std::string reason;
  if (const auto caused = s.find("Caused by:"); caused != std::string::npos) {
    reason = s.substr(caused + std::string_view("Caused by:").size());
    s.resize(caused);
  }
  auto trim = [](std::string t) {
    const auto b = t.find_first_not_of(" \n\t");
    const auto e = t.find_last_not_of(" \n\t");
    return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  };
  std::vector<std::string> frames;
  std::size_t pos = kBacktrace.size();
  while (pos < s.size()) {
    auto nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    if (auto f = trim(s.substr(pos, nl - pos)); !f.empty()) frames.push_back(f);
    pos = nl + 1;
  }
  std::string out = reason.empty() ? "trap" : trim(reason);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\n') out[i] = ' ';
  }
  if (!frames.empty()) {
    out += " (backtrace: ";
    for (std::size_t i = 0; i < frames.size() && i < kFrames; ++i) out += (i ? " <- " : "") + frames[i];
    if (frames.size() > kFrames) out += " <- ... " + std::to_string(frames.size() - kFrames) + " more frames";
    out += ")";
  }
  return out;
}

std::string takeMessage(wasm_byte_vec_t& vec) {
  std::string s(vec.data, vec.size);
  wasm_byte_vec_delete(&vec);
  // The C API's messages may carry a trailing NUL.
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return summarize(std::move(s));
}
}  // namespace

std::string errorMessage(const wasmtime_error_t* e) {
  wasm_byte_vec_t msg;
  wasmtime_error_message(e, &msg);
  return takeMessage(msg);
}

std::string trapMessage(const wasm_trap_t* t) {
  wasm_message_t msg;
  wasm_trap_message(t, &msg);
  return takeMessage(msg);
}

std::uint64_t fuelBudget(const Limits& limits) {
  return limits.fuel == 0 ? std::numeric_limits<std::uint64_t>::max() : limits.fuel;
}

Status applyRunLimits(wasmtime_context_t* cx, const Limits& limits) {
  if (ErrorPtr err(wasmtime_context_set_fuel(cx, fuelBudget(limits))); err) {
    return fail(Errc::kWasm, "cannot set fuel: " + errorMessage(err.get()));
  }
  // Ticks from now; +1 so a deadline never lands before a full tick has passed.
  const std::uint64_t ticks = limits.time_limit_ms == 0
                                  ? std::numeric_limits<std::uint64_t>::max() / 2
                                  : limits.time_limit_ms / static_cast<std::uint64_t>(kEpochTick.count()) + 1;
  wasmtime_context_set_epoch_deadline(cx, ticks);
  return {};
}

}  // namespace internal

namespace {

using internal::ErrorPtr;
using internal::TrapPtr;
using internal::errorMessage;
using internal::trapMessage;

constexpr std::string_view kHostModule = "aether";

struct LinkerDeleter {
  void operator()(wasmtime_linker_t* l) const { wasmtime_linker_delete(l); }
};
struct FuncTypeDeleter {
  void operator()(wasm_functype_t* f) const { wasm_functype_delete(f); }
};

// State a host function sees; lives on the stack of Engine::run for the whole call.
struct CallEnv {
  const HostContext* host;
  std::vector<std::string>* errors;
};

// Resolves [ptr, ptr+len) in the caller's exported memory. Re-read on every call: memory.grow
// may move the base. Overflow-safe: the sum is computed in 64 bits from two u32s.
HostStatus guestRange(wasmtime_caller_t* caller, std::uint32_t ptr, std::uint32_t len, std::uint8_t** out) {
  wasmtime_extern_t item;
  if (!wasmtime_caller_export_get(caller, "memory", 6, &item) || item.kind != WASMTIME_EXTERN_MEMORY) {
    return HostStatus::kNoMemory;
  }
  wasmtime_context_t* cx = wasmtime_caller_context(caller);
  const std::uint64_t size = wasmtime_memory_data_size(cx, &item.of.memory);
  const std::uint64_t end = std::uint64_t{ptr} + std::uint64_t{len};
  wasmtime_extern_delete(&item);
  if (end > size) return HostStatus::kOutOfBounds;
  wasmtime_extern_t again;
  wasmtime_caller_export_get(caller, "memory", 6, &again);
  *out = wasmtime_memory_data(cx, &again.of.memory) + ptr;
  wasmtime_extern_delete(&again);
  return HostStatus::kOk;
}

wasm_trap_t* setStatus(CallEnv* env, wasmtime_val_t* results, HostStatus status, std::string_view fn,
                       std::uint32_t ptr, std::uint32_t len) {
  if (status != HostStatus::kOk) {
    env->errors->push_back(std::string(kHostModule) + "." + std::string(fn) + "(ptr=" + std::to_string(ptr) +
                           ", len=" + std::to_string(len) + "): status " +
                           std::to_string(static_cast<int>(status)));
  }
  results[0].kind = WASMTIME_I32;
  results[0].of.i32 = static_cast<std::int32_t>(status);
  return nullptr;
}

wasm_trap_t* hostPrint(void* data, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                       wasmtime_val_t* results, size_t) {
  auto* env = static_cast<CallEnv*>(data);
  const auto ptr = static_cast<std::uint32_t>(args[0].of.i32);
  const auto len = static_cast<std::uint32_t>(args[1].of.i32);
  std::uint8_t* p = nullptr;
  HostStatus status = guestRange(caller, ptr, len, &p);
  if (status == HostStatus::kOk) {
    ByteView text(p, len);
    if (!isValidUtf8(asChars(text))) {
      status = HostStatus::kInvalidUtf8;
    } else if (env->host->print) {
      env->host->print(asChars(text));
    }
  }
  return setStatus(env, results, status, "print", ptr, len);
}

wasm_trap_t* hostNodeDid(void* data, wasmtime_caller_t* caller, const wasmtime_val_t* args, size_t,
                         wasmtime_val_t* results, size_t) {
  auto* env = static_cast<CallEnv*>(data);
  const auto ptr = static_cast<std::uint32_t>(args[0].of.i32);
  const auto cap = static_cast<std::uint32_t>(args[1].of.i32);
  const std::string& did = env->host->node_did;
  if (did.size() > cap) return setStatus(env, results, HostStatus::kBufferTooSmall, "node_did", ptr, cap);
  std::uint8_t* p = nullptr;
  HostStatus status = guestRange(caller, ptr, static_cast<std::uint32_t>(did.size()), &p);
  if (status != HostStatus::kOk) return setStatus(env, results, status, "node_did", ptr, cap);
  std::memcpy(p, did.data(), did.size());
  results[0].kind = WASMTIME_I32;
  results[0].of.i32 = static_cast<std::int32_t>(did.size());
  return nullptr;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

std::string_view Engine::runtimeVersion() { return "wasmtime " WASMTIME_VERSION; }

Result<Engine> Engine::create() { return create(EngineOptions{}); }

EngineStats Engine::stats() const {
  EngineStats s;
  s.compiles = impl_->compiles.load();
  s.cache_hits = impl_->cache_hits.load();
  s.cache_rejects = impl_->cache_rejects.load();
  s.module_compiles = impl_->module_compiles.load();
  s.module_cache_hits = impl_->module_cache_hits.load();
  s.pooling = impl_->pooling;
  return s;
}

namespace {

// Wasmtime 48's defaults: each linear memory slot reserves 4 GiB plus a 32 MiB guard region.
constexpr std::uint64_t kMemorySlotBytes = (std::uint64_t{4} << 30) + (std::uint64_t{32} << 20);
// Per run, a component instantiates a handful of core modules (kMaxInstances in component.cc
// bounds it at 32); two memories and eight tables a run cover wasi-libc guests with the adapter.
constexpr std::uint32_t kCoreInstancesPerSlot = 16;
constexpr std::uint32_t kMemoriesPerSlot = 2;
constexpr std::uint32_t kTablesPerSlot = 8;

// wasm_engine_new_with_config cannot report failure (it unwraps Engine::new in Rust and would
// abort the process), so check first that the pool's address space can be reserved at all.
bool canReserve(std::uint64_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  ::munmap(p, bytes);
  return true;
}

}  // namespace

Result<Engine> Engine::create(const EngineOptions& options) {
  if (!options.cache_dir.empty()) {
    if (options.cache_key.size() != 32) return fail(Errc::kInvalidArgument, "engine: the module cache needs a 32-byte key");
    std::error_code ec;
    std::filesystem::create_directories(options.cache_dir, ec);
    if (ec) return fail(Errc::kIo, "engine: cannot create " + options.cache_dir.string() + ": " + ec.message());
    ::chmod(options.cache_dir.c_str(), 0700);
  }
  wasm_config_t* config = wasm_config_new();
  if (config == nullptr) return fail(Errc::kWasm, "wasmtime: cannot allocate engine config");
  wasmtime_config_consume_fuel_set(config, true);
  wasmtime_config_strategy_set(config, WASMTIME_STRATEGY_CRANELIFT);
  wasmtime_config_wasm_component_model_set(config, true);  // for runComponent (component.cc)
  wasmtime_config_epoch_interruption_set(config, true);
  bool pooling = false;
  if (options.pooling) {
    if (options.pool_slots == 0 || options.pool_slots > 4096) {
      wasm_config_delete(config);
      return fail(Errc::kInvalidArgument, "engine: pool_slots must be 1..4096");
    }
    const std::uint32_t slots = options.pool_slots;
    if (canReserve(std::uint64_t{slots} * kMemoriesPerSlot * kMemorySlotBytes)) {
      wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
      wasmtime_pooling_allocation_config_total_component_instances_set(pool, slots);
      wasmtime_pooling_allocation_config_total_core_instances_set(pool, slots * kCoreInstancesPerSlot);
      wasmtime_pooling_allocation_config_total_memories_set(pool, slots * kMemoriesPerSlot);
      wasmtime_pooling_allocation_config_total_tables_set(pool, slots * kTablesPerSlot);
      wasmtime_pooling_allocation_config_max_memories_per_module_set(pool, 1);
      wasmtime_pooling_allocation_config_max_tables_per_module_set(pool, 4);
      wasmtime_pooling_allocation_config_max_memories_per_component_set(pool, kMemoriesPerSlot);
      wasmtime_pooling_allocation_config_max_tables_per_component_set(pool, kTablesPerSlot);
      wasmtime_pooling_allocation_config_max_core_instances_per_component_set(pool, kCoreInstancesPerSlot);
      wasmtime_pooling_allocation_config_table_elements_set(pool, 100'000);
      wasmtime_pooling_allocation_config_max_memory_size_set(
          pool, static_cast<std::size_t>(std::min<std::uint64_t>(options.pool_max_memory_bytes, std::uint64_t{4} << 30)));
      wasmtime_pooling_allocation_strategy_set(config, pool);  // copies the pool config
      wasmtime_pooling_allocation_config_delete(pool);
      pooling = true;
    }
  }
  wasm_engine_t* engine = wasm_engine_new_with_config(config);  // takes ownership of config
  if (engine == nullptr) return fail(Errc::kWasm, "wasmtime: cannot create engine");
  auto impl = std::make_unique<Impl>();
  impl->engine = engine;
  impl->options = options;
  impl->pooling = pooling;
  AE_ASSIGN_OR_RETURN(impl->component_linker, internal::buildComponentLinker(engine));
  impl->ticker = std::jthread([engine](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(kEpochTick);
      wasmtime_engine_increment_epoch(engine);
    }
  });
  return Engine(std::move(impl));
}

Result<RunResult> Engine::run(ByteView module_bytes, std::string_view entry, const HostContext& host,
                              const Limits& limits) const {
  // Accept WAT text for tests and tools; binary modules start with "\0asm".
  wasm_byte_vec_t wat_out{0, nullptr};
  ByteView wasm = module_bytes;
  const bool is_binary = module_bytes.size() >= 4 && std::memcmp(module_bytes.data(), "\0asm", 4) == 0;
  if (!is_binary) {
    ErrorPtr err(wasmtime_wat2wasm(reinterpret_cast<const char*>(module_bytes.data()), module_bytes.size(),
                                   &wat_out));
    if (err) return fail(Errc::kWasm, "invalid WAT: " + errorMessage(err.get()));
    wasm = ByteView(reinterpret_cast<const std::uint8_t*>(wat_out.data), wat_out.size);
  }

  auto compiled = internal::compileModule(*impl_, wasm);
  if (!is_binary) wasm_byte_vec_delete(&wat_out);
  AE_ASSIGN_OR_RETURN(internal::ModulePtr module, std::move(compiled));

  internal::StorePtr store(wasmtime_store_new(impl_->engine, nullptr, nullptr));
  wasmtime_context_t* cx = wasmtime_store_context(store.get());
  wasmtime_store_limiter(store.get(), limits.max_memory_bytes, limits.max_table_elements,
                         /*instances=*/1, /*tables=*/4, /*memories=*/1);
  AE_TRY(internal::applyRunLimits(cx, limits));

  std::vector<std::string> host_errors;
  CallEnv env{&host, &host_errors};
  std::unique_ptr<wasmtime_linker_t, LinkerDeleter> linker(wasmtime_linker_new(impl_->engine));
  std::unique_ptr<wasm_functype_t, FuncTypeDeleter> ty(
      wasm_functype_new_2_1(wasm_valtype_new_i32(), wasm_valtype_new_i32(), wasm_valtype_new_i32()));
  struct HostFn {
    std::string_view name;
    wasmtime_func_callback_t cb;
  };
  for (const HostFn& fn : {HostFn{"print", hostPrint}, HostFn{"node_did", hostNodeDid}}) {
    ErrorPtr err(wasmtime_linker_define_func(linker.get(), kHostModule.data(), kHostModule.size(), fn.name.data(),
                                             fn.name.size(), ty.get(), fn.cb, &env, nullptr));
    if (err) return fail(Errc::kInternal, "cannot define host function: " + errorMessage(err.get()));
  }

  wasmtime_instance_t instance;
  wasm_trap_t* raw_trap = nullptr;
  ErrorPtr link_err(wasmtime_linker_instantiate(linker.get(), cx, module.get(), &instance, &raw_trap));
  TrapPtr trap(raw_trap);
  if (link_err) {
    const std::string msg = errorMessage(link_err.get());
    if (msg.find("maximum concurrent") != std::string::npos) {
      return fail(Errc::kLimitExceeded, "the node runs too many guests at once (" + msg + "); retry later");
    }
    return fail(Errc::kWasm, "cannot instantiate: " + msg);
  }
  if (trap) return fail(Errc::kWasm, "trap during instantiation: " + trapMessage(trap.get()));

  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(cx, &instance, entry.data(), entry.size(), &item) ||
      item.kind != WASMTIME_EXTERN_FUNC) {
    return fail(Errc::kNotFound, "module exports no function named '" + std::string(entry) + "'");
  }
  wasmtime_val_t result;
  result.kind = WASMTIME_I32;
  result.of.i32 = 0;
  wasm_functype_t* entry_ty = wasmtime_func_type(cx, &item.of.func);
  const std::size_t nresults = wasm_functype_results(entry_ty)->size;
  const std::size_t nparams = wasm_functype_params(entry_ty)->size;
  const bool returns_i32 = nresults == 1 && wasm_valtype_kind(wasm_functype_results(entry_ty)->data[0]) == WASM_I32;
  wasm_functype_delete(entry_ty);
  if (nparams != 0 || !(nresults == 0 || returns_i32)) {
    return fail(Errc::kWasm, "entry '" + std::string(entry) + "' must have type [] -> [] or [] -> [i32]");
  }

  raw_trap = nullptr;
  ErrorPtr call_err(wasmtime_func_call(cx, &item.of.func, nullptr, 0, &result, nresults, &raw_trap));
  trap.reset(raw_trap);
  std::uint64_t remaining = 0;
  wasmtime_context_get_fuel(cx, &remaining);
  if (call_err) return fail(Errc::kWasm, "call failed: " + errorMessage(call_err.get()));
  if (trap) {
    wasmtime_trap_code_t code;
    if (wasmtime_trap_code(trap.get(), &code) && code == WASMTIME_TRAP_CODE_OUT_OF_FUEL) {
      return fail(Errc::kLimitExceeded, "guest ran out of fuel (limit " + std::to_string(limits.fuel) + ")");
    }
    if (wasmtime_trap_code(trap.get(), &code) && code == WASMTIME_TRAP_CODE_INTERRUPT) {
      return fail(Errc::kLimitExceeded, "guest ran past its time limit of " + std::to_string(limits.time_limit_ms) + " ms");
    }
    return fail(Errc::kWasm, "guest trapped: " + trapMessage(trap.get()));
  }
  RunResult out;
  out.value = returns_i32 ? result.of.i32 : 0;
  out.fuel_used = internal::fuelBudget(limits) - remaining;
  out.host_errors = std::move(host_errors);
  return out;
}

}  // namespace aether::sandbox
