// libFuzzer target: the log decoders (entry, head, signed head, signed entry, inclusion and
// consistency proofs) and the exported-stream verifier. Whatever a decoder accepts must encode
// back to exactly the input (the formats are canonical); the verifier must answer, not crash.
#include <cstddef>
#include <cstdint>

#include "log/log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::log;
  if (size == 0) return 0;
  const aether::ByteView in(data + 1, size - 1);
  const aether::Bytes input(in.begin(), in.end());
  switch (data[0] % 7) {
    case 0:
      if (auto e = decodeEntry(in)) {
        if (*encodeEntry(*e) != input) __builtin_trap();
      }
      break;
    case 1:
      if (auto h = decodeHead(in)) {
        if (*encodeHead(*h) != input) __builtin_trap();
      }
      break;
    case 2:
      if (auto h = decodeSignedHead(in)) {
        if (encodeSignedHead(*h) != input) __builtin_trap();
        (void)verifySignedHead(*h);
      }
      break;
    case 3:
      if (auto e = decodeSignedEntry(in)) {
        if (encodeSignedEntry(*e) != input) __builtin_trap();
        (void)verifySignedEntry(*e);
      }
      break;
    case 4:
      if (auto p = decodeInclusionProof(in)) {
        if (*encodeInclusionProof(*p) != input) __builtin_trap();
        Hash zero{};
        (void)verifyInclusion(p->index, p->size, zero, p->path, zero);
      }
      break;
    case 5:
      if (auto p = decodeConsistencyProof(in)) {
        if (*encodeConsistencyProof(*p) != input) __builtin_trap();
        Hash zero{};
        (void)verifyConsistency(p->first, p->second, zero, zero, p->path);
      }
      break;
    default: {
      aether::store::MemoryByteSource src(in);
      (void)verifyExport(src);
      break;
    }
  }
  return 0;
}
