// libFuzzer target: multiformats varint and hex decoding. Anything accepted must re-encode to
// exactly the bytes it was decoded from (varints have one encoding; hex re-encodes lower case).
#include <cstdint>
#include <cstdlib>

#include "base/base.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether;
  ByteView in(data, size);
  if (auto v = varintDecode(in)) {
    if (v->length > kMaxVarintBytes || v->length > size) __builtin_trap();
    const Bytes again = varintEncode(v->value);
    if (again.size() != v->length || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  }
  if (auto h = hexDecode(asChars(in))) {
    const std::string lower = hexEncode(*h);
    if (lower.size() != size) __builtin_trap();
    if (auto back = hexDecode(lower); !back || *back != *h) __builtin_trap();
  }
  return 0;
}
