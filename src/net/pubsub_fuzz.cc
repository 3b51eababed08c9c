// libFuzzer: the pubsub RPC decoder and the StrictSign verifier. Property: what decodes
// re-encodes to bytes that decode to the same RPC; verification never crashes.
#include <cstddef>
#include <cstdint>

#include "net/internal.h"

using namespace aether;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto rpc = net::decodePubsubRpc(ByteView(data, size));
  if (!rpc) return 0;
  for (const auto& m : rpc->publish) (void)net::verifyPubsubMessage(m);
  Bytes again = net::encodePubsubRpc(*rpc);
  auto rpc2 = net::decodePubsubRpc(again);
  if (!rpc2) __builtin_trap();
  if (net::encodePubsubRpc(*rpc2) != again) __builtin_trap();
  return 0;
}
