// libFuzzer target: the keystore file parser (Keystore::inspect reads and validates the header
// of <dir>/node.key). Arbitrary bytes must give a typed error or a consistent description,
// never a crash. unlock() is not fuzzed: a valid header may legitimately ask Argon2id for
// gigabytes of memory.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "identity/identity.h"

namespace {
std::filesystem::path fuzzDir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("aether-keystore-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether;
  const auto dir = fuzzDir();
  {
    std::ofstream out(dir / identity::Keystore::kFileName, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto info = identity::Keystore::inspect(dir);
  if (info) {
    // A header we accept names a valid did:key for the public key it carries.
    auto parsed = identity::parseDidKey(info->did);
    if (!parsed || parsed->publicKey != info->publicKey) __builtin_trap();
    if (info->kdf.opslimit > identity::KdfParams::kMaxOpslimit ||
        info->kdf.memlimitKiB > identity::KdfParams::kMaxMemlimitKiB) {
      __builtin_trap();
    }
  }
  return 0;
}
