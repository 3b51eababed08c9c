// libFuzzer target: the CARv1 reader, fed through a source that hands out odd-sized pieces.
// A CAR it reads completely must be written back by CarWriter to exactly the input, and every
// block it returns must verify against its CID. Small limits keep runs fast.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "store/store.h"

namespace {

// Returns at most `step` bytes per read, so the reader's buffering is exercised.
class ChoppySource final : public aether::store::ByteSource {
 public:
  ChoppySource(aether::ByteView data, std::size_t step) : data_(data), step_(step) {}
  aether::Result<std::size_t> read(std::span<std::uint8_t> out) override {
    const std::size_t n = std::min({out.size(), data_.size() - pos_, step_});
    if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  aether::ByteView data_;
  std::size_t step_;
  std::size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aether::store;
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 17;
  const aether::ByteView in(data + 1, size - 1);
  ChoppySource src(in, step);
  CarLimits limits;
  limits.max_header = 4096;
  limits.max_section = 64 * 1024;
  auto reader = CarReader::open(src, limits);
  if (!reader) return 0;
  MemoryByteSink out;
  auto writer = CarWriter::create(out, reader->roots());
  if (!writer) __builtin_trap();
  for (;;) {
    auto block = reader->next();
    if (!block) return 0;  // rejected somewhere: fine
    if (!*block) break;
    if (!verifyBlock((*block)->cid, (*block)->bytes)) __builtin_trap();
    if (!writer->put((*block)->cid, (*block)->bytes)) __builtin_trap();
  }
  if (out.bytes() != aether::Bytes(in.begin(), in.end())) __builtin_trap();
  return 0;
}
