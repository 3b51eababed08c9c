// libFuzzer target: multibase and the bare base decoders. Accepted text must re-encode to exactly
// the same string (no padding, no alternative alphabets, zero trailing bits).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::codec;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto d = multibaseDecodeWithBase(text)) {
    if (multibaseEncode(d->base, d->data) != text) __builtin_trap();
  }
  if (auto d = base58btcDecode(text)) {
    if (base58btcEncode(*d) != text) __builtin_trap();
  }
  if (auto d = base32LowerDecode(text)) {
    if (base32LowerEncode(*d) != text) __builtin_trap();
  }
  if (auto d = base64urlDecode(text)) {
    if (base64urlEncode(*d) != text) __builtin_trap();
  }
  // The other direction: raw bytes always survive every base.
  const aether::ByteView raw(data, size);
  for (Multibase b : {Multibase::kBase58btc, Multibase::kBase32, Multibase::kBase64url, Multibase::kBase16}) {
    auto back = multibaseDecode(multibaseEncode(b, raw));
    if (!back || *back != aether::Bytes(raw.begin(), raw.end())) __builtin_trap();
  }
  return 0;
}
