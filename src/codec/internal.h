// Private helpers shared by the codec/*.cc files. Not part of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/base.h"

namespace aether::codec::internal {

// "0x1a2b" — for codes in error messages.
inline std::string codeHex(std::uint64_t code) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[code & 15]);
    code >>= 4;
  } while (code != 0);
  return "0x" + s;
}

}  // namespace aether::codec::internal
