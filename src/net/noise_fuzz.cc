// libFuzzer: the Noise handshake payload protobuf, the libp2p PublicKey protobuf, and a responder
// reading an arbitrary message 1 / message 3 (with a fixed key and seed, so runs replay).
#include <cstddef>
#include <cstdint>

#include "net/internal.h"

using namespace aether;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView in(data, size);
  if (auto p = net::decodeNoiseHandshakePayload(in)) {
    auto again = net::decodeNoiseHandshakePayload(net::encodeNoiseHandshakePayload(*p));
    if (!again || again->identity_key != p->identity_key || again->identity_sig != p->identity_sig ||
        again->stream_muxers != p->stream_muxers) {
      __builtin_trap();
    }
  }
  if (auto k = net::decodeEd25519PublicKeyProto(in)) {
    if (net::encodeEd25519PublicKeyProto(*k) != Bytes(in.begin(), in.end())) __builtin_trap();
  }
  // Responder: message 1 from the input, then (if it is accepted) message 3 from the input too.
  crypto::SeededRng rng(1);
  static const crypto::Ed25519KeyPair identity = *crypto::Ed25519KeyPair::fromSeed(Bytes(32, 5));
  auto hs = net::NoiseHandshake::create(net::NoiseHandshake::Role::kResponder, identity, rng);
  if (hs && hs->readMessage(in)) {
    if (hs->writeMessage()) (void)hs->readMessage(in);
  }
  return 0;
}
