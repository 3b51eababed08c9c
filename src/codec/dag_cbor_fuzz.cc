// libFuzzer target: decodeDagCbor must never crash, and whatever it accepts must re-encode to
// exactly the input bytes (DAG-CBOR has one encoding per value).
#include <cstddef>
#include <cstdint>

#include "codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::codec;
  const aether::ByteView in(data, size);
  auto value = decodeDagCbor(in);
  if (!value) return 0;
  auto again = encodeDagCbor(*value);
  if (!again || *again != aether::Bytes(in.begin(), in.end())) __builtin_trap();
  auto twice = decodeDagCbor(*again);
  if (!twice || !(*twice == *value)) __builtin_trap();
  return 0;
}
