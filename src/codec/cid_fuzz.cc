// libFuzzer target: CID binary and text parsers. Accepted input must print back identically:
// fromBytes -> toBytes, readPrefix -> the consumed prefix, parse -> toString in the same base.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::codec;
  const aether::ByteView in(data, size);

  if (auto cid = Cid::fromBytes(in)) {
    if (cid->toBytes() != aether::Bytes(in.begin(), in.end())) __builtin_trap();
  }
  std::size_t used = 0;
  if (auto cid = Cid::readPrefix(in, &used)) {
    if (used == 0 || used > size) __builtin_trap();
    if (cid->toBytes() != aether::Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used))) __builtin_trap();
  }

  const std::string_view text = aether::asChars(in);
  if (auto cid = Cid::parse(text)) {
    const std::string printed =
        cid->version() == 0 ? cid->toString() : cid->toString(static_cast<Multibase>(text[0]));
    if (printed != text) __builtin_trap();
    auto again = Cid::fromBytes(cid->toBytes());
    if (!again || *again != *cid) __builtin_trap();
  }
  return 0;
}
