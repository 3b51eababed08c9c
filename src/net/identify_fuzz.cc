// libFuzzer: the identify stream decoder (/ipfs/id/1.0.0 delimited protobuf messages). Property:
// whatever decodes re-encodes to one message that decodes to the same fields.
#include <cstddef>
#include <cstdint>

#include "net/internal.h"

using namespace aether;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = net::decodeIdentifyStream(ByteView(data, size));
  if (!m) return 0;
  Bytes body = net::encodeIdentify(*m);
  net::IdentifyMessage again;
  if (body.size() <= net::kMaxIdentifyMessage) {
    if (!net::mergeIdentify(body, again)) __builtin_trap();
    if (again.protocols != m->protocols || again.listen_addrs != m->listen_addrs ||
        again.agent_version != m->agent_version || again.public_key != m->public_key) {
      __builtin_trap();
    }
  }
  return 0;
}
