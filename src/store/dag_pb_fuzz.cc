// libFuzzer target: the dag-pb and UnixFS Data decoders. Whatever they accept must encode back
// to exactly the input (both are canonical-only), and decode again to the same value.
#include <cstddef>
#include <cstdint>

#include "store/internal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::store::internal;
  const aether::ByteView in(data, size);
  const aether::Bytes input(in.begin(), in.end());

  if (auto node = decodePbNode(in)) {
    auto again = encodePbNode(*node);
    if (!again || *again != input) __builtin_trap();
    auto back = decodePbNode(*again);
    if (!back || *back != *node) __builtin_trap();
  }
  if (auto u = decodeUnixfs(in)) {
    auto again = encodeUnixfs(*u);
    if (!again || *again != input) __builtin_trap();
    auto back = decodeUnixfs(*again);
    if (!back || *back != *u) __builtin_trap();
  }
  return 0;
}
