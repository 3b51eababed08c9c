// The compiled-component cache: Cranelift output kept on disk between runs, authenticated with a
// node-held key before Wasmtime deserializes it (deserialize trusts its input completely).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "crypto/crypto.h"
#include "sandbox/internal.h"

namespace aether::sandbox::internal {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "aether-cwasm-1\n";

// What a compiled artifact depends on besides the wasm bytes: the runtime and every engine
// setting that changes generated code (fuel and epoch checks are compiled in; the pooling
// allocator is not part of the artifact). "component"/"module" keeps the two kinds apart.
constexpr std::string_view kEngineTag = "wasmtime " WASMTIME_VERSION " cranelift fuel epochs component-model";

fs::path entryPath(const Engine::Impl& e, std::string_view kind, ByteView wasm) {
  crypto::Sha256 h;
  h.update(asBytes(kEngineTag));
  h.update(asBytes(kind));
  h.update(wasm);
  const auto digest = h.finish();
  return e.options.cache_dir / (hexEncode(digest) + (kind == "module" ? ".cwasm-module" : ".cwasm"));
}

// How one kind of artifact is compiled, serialized and loaded.
template <typename T>
struct Kind {
  std::string_view name;
  wasmtime_error_t* (*compile)(wasm_engine_t*, const std::uint8_t*, std::size_t, T**);
  wasmtime_error_t* (*serialize)(const T*, wasm_byte_vec_t*);
  wasmtime_error_t* (*deserialize)(wasm_engine_t*, const std::uint8_t*, std::size_t, T**);
  std::atomic<std::uint64_t> Engine::Impl::*compiles;
  std::atomic<std::uint64_t> Engine::Impl::*hits;
};

// The C API's signatures differ in constness; these give both kinds one shape.
wasmtime_error_t* componentNew(wasm_engine_t* e, const std::uint8_t* b, std::size_t n, wasmtime_component_t** out) {
  return wasmtime_component_new(e, b, n, out);
}
wasmtime_error_t* componentSerialize(const wasmtime_component_t* c, wasm_byte_vec_t* out) {
  return wasmtime_component_serialize(c, out);
}
wasmtime_error_t* componentDeserialize(wasm_engine_t* e, const std::uint8_t* b, std::size_t n,
                                       wasmtime_component_t** out) {
  return wasmtime_component_deserialize(e, b, n, out);
}
wasmtime_error_t* moduleNew(wasm_engine_t* e, const std::uint8_t* b, std::size_t n, wasmtime_module_t** out) {
  return wasmtime_module_new(e, b, n, out);
}
wasmtime_error_t* moduleSerialize(const wasmtime_module_t* m, wasm_byte_vec_t* out) {
  return wasmtime_module_serialize(m, out);
}
wasmtime_error_t* moduleDeserialize(wasm_engine_t* e, const std::uint8_t* b, std::size_t n, wasmtime_module_t** out) {
  return wasmtime_module_deserialize(e, b, n, out);
}

const Kind<wasmtime_component_t> kComponent{"component", componentNew, componentSerialize, componentDeserialize,
                                            &Engine::Impl::compiles, &Engine::Impl::cache_hits};
const Kind<wasmtime_module_t> kModule{"module", moduleNew, moduleSerialize, moduleDeserialize,
                                      &Engine::Impl::module_compiles, &Engine::Impl::module_cache_hits};

template <typename T, typename Ptr>
Result<Ptr> compileFresh(Engine::Impl& e, const Kind<T>& kind, ByteView wasm) {
  T* raw = nullptr;
  if (ErrorPtr err(kind.compile(e.engine, wasm.data(), wasm.size(), &raw)); err) {
    return fail(Errc::kWasm, "cannot compile " + std::string(kind.name) + ": " + errorMessage(err.get()));
  }
  ++(e.*kind.compiles);
  return Ptr(raw);
}

// The cached artifact if the file exists and its MAC verifies; nullopt otherwise.
template <typename T, typename Ptr>
std::optional<Ptr> load(Engine::Impl& e, const Kind<T>& kind, const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  Bytes file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t header = kMagic.size() + crypto::kBlake2b256Size;
  if (file.size() <= header || asChars(ByteView(file).first(kMagic.size())) != kMagic) {
    ++e.cache_rejects;
    return std::nullopt;
  }
  const ByteView body = ByteView(file).subspan(header);
  auto mac = crypto::blake2b256Keyed(e.options.cache_key, body);
  if (!mac || !std::equal(mac->begin(), mac->end(), file.begin() + static_cast<std::ptrdiff_t>(kMagic.size()))) {
    ++e.cache_rejects;
    return std::nullopt;
  }
  T* raw = nullptr;
  if (ErrorPtr err(kind.deserialize(e.engine, body.data(), body.size(), &raw)); err) {
    ++e.cache_rejects;
    return std::nullopt;
  }
  ++(e.*kind.hits);
  return Ptr(raw);
}

template <typename T>
void store(const Engine::Impl& e, const Kind<T>& kind, const fs::path& path, const T* artifact) {
  wasm_byte_vec_t bytes{0, nullptr};
  if (ErrorPtr err(kind.serialize(artifact, &bytes)); err) return;
  const ByteView body(reinterpret_cast<const std::uint8_t*>(bytes.data), bytes.size);
  auto mac = crypto::blake2b256Keyed(e.options.cache_key, body);
  if (mac) {
    // Write a private temp file, then rename: readers never see a partial entry.
    const fs::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      bool ok = ::write(fd, kMagic.data(), kMagic.size()) == static_cast<ssize_t>(kMagic.size()) &&
                ::write(fd, mac->data(), mac->size()) == static_cast<ssize_t>(mac->size()) &&
                ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
      ok = (::close(fd) == 0) && ok;
      std::error_code ec;
      if (ok) fs::rename(tmp, path, ec);
      if (!ok || ec) fs::remove(tmp, ec);
    }
  }
  wasm_byte_vec_delete(&bytes);
}

template <typename T, typename Ptr>
Result<Ptr> compileCached(Engine::Impl& e, const Kind<T>& kind, ByteView wasm) {
  if (e.options.cache_dir.empty()) return compileFresh<T, Ptr>(e, kind, wasm);
  const fs::path path = entryPath(e, kind.name, wasm);
  if (auto cached = load<T, Ptr>(e, kind, path)) return std::move(*cached);
  AE_ASSIGN_OR_RETURN(Ptr artifact, (compileFresh<T, Ptr>(e, kind, wasm)));
  store(e, kind, path, artifact.get());  // a cache that cannot be written only costs speed
  return artifact;
}

}  // namespace

Result<ComponentPtr> compileComponent(Engine::Impl& e, ByteView wasm) {
  return compileCached<wasmtime_component_t, ComponentPtr>(e, kComponent, wasm);
}

Result<ModulePtr> compileModule(Engine::Impl& e, ByteView wasm) {
  return compileCached<wasmtime_module_t, ModulePtr>(e, kModule, wasm);
}

}  // namespace aether::sandbox::internal
