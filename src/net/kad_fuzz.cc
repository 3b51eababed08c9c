// libFuzzer: the Kademlia message decoder. Property: what decodes re-encodes to bytes that
// decode to the same message.
#include <cstddef>
#include <cstdint>

#include "net/internal.h"

using namespace aether;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = net::decodeKadMessage(ByteView(data, size));
  if (!m) return 0;
  Bytes again = net::encodeKadMessage(*m);
  auto m2 = net::decodeKadMessage(again);
  if (!m2) __builtin_trap();
  if (net::encodeKadMessage(*m2) != again) __builtin_trap();
  return 0;
}
