// libFuzzer: Yamux header decoding and the session state machine fed arbitrary bytes, with
// application reads / writes interleaved so window accounting runs too.
#include <cstddef>
#include <cstdint>

#include "net/internal.h"

using namespace aether;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView in(data, size);
  if (size >= net::kYamuxHeaderSize) {
    if (auto h = net::decodeYamuxHeader(in.first(net::kYamuxHeaderSize))) {
      Bytes again;
      net::appendYamuxHeader(again, *h);
      if (again != Bytes(in.begin(), in.begin() + net::kYamuxHeaderSize)) __builtin_trap();
    }
  }
  net::YamuxSession session(size % 2 ? net::YamuxSession::Role::kDialer : net::YamuxSession::Role::kListener);
  (void)session.openStream();
  std::uint8_t buf[4096];
  std::size_t chunk = 1 + (size % 97);
  for (std::size_t at = 0; at < size; at += chunk) {
    auto st = session.receive(in.subspan(at, std::min(chunk, size - at)));
    while (auto id = session.acceptStream()) {
      (void)session.write(*id, ByteView(buf, 100));
    }
    for (std::uint32_t id = 1; id < 8; ++id) {
      if (session.recvWindow(id) > net::kYamuxInitialWindow) __builtin_trap();
      (void)session.read(id, buf);
    }
    (void)session.takeOutgoing();
    if (!st) break;
  }
  return 0;
}
