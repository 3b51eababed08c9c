// Private to crypto/: helpers shared by the .cc files.
#pragma once

#include <cstdint>
#include <span>

#include "base/base.h"

namespace aether::crypto::internal {

// Aborts with a message: for "cannot happen" failures of a library call on valid inputs
// (allocation failure inside OpenSSL, an EVP call rejecting parameters we checked). Never used
// for anything untrusted input can cause.
[[noreturn]] void fatal(const char* what);

// Calls sodium_init() once per process (cheap after the first call).
void ensureInit();

// True when `out` and `in` are disjoint or `out` starts exactly where `in` starts.
inline bool overlapAllowed(ByteView in, std::span<const std::uint8_t> out) {
  if (in.empty() || out.empty() || in.data() == out.data()) return true;
  auto a = reinterpret_cast<std::uintptr_t>(in.data());
  auto b = reinterpret_cast<std::uintptr_t>(out.data());
  return a + in.size() <= b || b + out.size() <= a;
}

}  // namespace aether::crypto::internal
