// libFuzzer: multistream-select message decoding (varint length + newline-terminated text).
#include <cstddef>
#include <cstdint>

#include "net/internal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  aether::ByteView in(data, size);
  // Decode a sequence of messages; each accepted text must re-encode to the same bytes.
  while (true) {
    auto r = aether::net::decodeMultistreamMessage(in);
    if (!r || !*r) break;
    auto again = aether::net::encodeMultistreamMessage((*r)->text);
    if (!again || *again != aether::Bytes(in.begin(), in.begin() + (*r)->consumed)) __builtin_trap();
    in = in.subspan((*r)->consumed);
  }
  (void)aether::net::decodeMultistreamBody(aether::ByteView(data, size));
  return 0;
}
