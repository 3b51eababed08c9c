// libFuzzer target: multiaddr binary and text parsers. Accepted bytes must survive
// bytes -> string -> bytes exactly; accepted text must reach a fixed point after one re-print.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::codec;
  const aether::ByteView in(data, size);

  if (auto ma = Multiaddr::fromBytes(in)) {
    if (ma->bytes() != aether::Bytes(in.begin(), in.end())) __builtin_trap();
    const std::string text = ma->toString();
    auto again = Multiaddr::parse(text);
    if (!again || again->bytes() != ma->bytes() || again->toString() != text) __builtin_trap();
    auto rebuilt = Multiaddr::fromComponents(ma->components());
    if (!rebuilt || rebuilt->bytes() != ma->bytes()) __builtin_trap();
  }

  if (auto ma = Multiaddr::parse(aether::asChars(in))) {
    auto from_bytes = Multiaddr::fromBytes(ma->bytes());
    if (!from_bytes || !(*from_bytes == *ma)) __builtin_trap();
    auto reparsed = Multiaddr::parse(ma->toString());
    if (!reparsed || reparsed->bytes() != ma->bytes()) __builtin_trap();
  }
  return 0;
}
