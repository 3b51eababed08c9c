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

// What a compiled artifact depends on besides the component bytes.
constexpr std::string_view kEngineTag = "wasmtime " WASMTIME_VERSION " cranelift fuel epochs component-model";

fs::path entryPath(const Engine::Impl& e, ByteView wasm) {
  crypto::Sha256 h;
  h.update(asBytes(kEngineTag));
  h.update(wasm);
  const auto digest = h.finish();
  return e.options.cache_dir / (hexEncode(digest) + ".cwasm");
}

Result<ComponentPtr> compileFresh(Engine::Impl& e, ByteView wasm) {
  wasmtime_component_t* raw = nullptr;
  if (ErrorPtr err(wasmtime_component_new(e.engine, wasm.data(), wasm.size(), &raw)); err) {
    return fail(Errc::kWasm, "cannot compile component: " + errorMessage(err.get()));
  }
  ++e.compiles;
  return ComponentPtr(raw);
}

// The cached artifact if the file exists and its MAC verifies; nullopt otherwise.
std::optional<ComponentPtr> load(Engine::Impl& e, const fs::path& path) {
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
  wasmtime_component_t* raw = nullptr;
  if (ErrorPtr err(wasmtime_component_deserialize(e.engine, body.data(), body.size(), &raw)); err) {
    ++e.cache_rejects;
    return std::nullopt;
  }
  ++e.cache_hits;
  return ComponentPtr(raw);
}

void store(const Engine::Impl& e, const fs::path& path, const wasmtime_component_t* component) {
  wasm_byte_vec_t bytes{0, nullptr};
  if (ErrorPtr err(wasmtime_component_serialize(component, &bytes)); err) return;
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

}  // namespace

Result<ComponentPtr> compileComponent(Engine::Impl& e, ByteView wasm) {
  if (e.options.cache_dir.empty()) return compileFresh(e, wasm);
  const fs::path path = entryPath(e, wasm);
  if (auto cached = load(e, path)) return std::move(*cached);
  AE_ASSIGN_OR_RETURN(ComponentPtr component, compileFresh(e, wasm));
  store(e, path, component.get());  // a cache that cannot be written only costs speed
  return component;
}

}  // namespace aether::sandbox::internal
