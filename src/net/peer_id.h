// net/peer_id.h: libp2p peer ids and the PublicKey protobuf — value types and pure functions
// (thread-compatible), split from net.h so the sans-IO layers and fuzzers need no Asio.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"

namespace aether::net {

// ---- peer ids ---------------------------------------------------------------------------------

// libp2p PublicKey protobuf { KeyType Type = 1; bytes Data = 2; } for an Ed25519 key (KeyType 1):
// always the 36 bytes 08 01 12 20 <key>.
Bytes encodeEd25519PublicKeyProto(const crypto::Ed25519PublicKey& key);
// Strict decoder of the deterministic encoding: exactly field 1 then field 2, nothing else.
// Other key types (RSA 0, Secp256k1 2, ECDSA 3) -> kUnsupported; Ed25519 data not 32 bytes ->
// kWrongLength; anything else off -> kMalformed / kTruncated / kTrailingData.
[[nodiscard]] Result<crypto::Ed25519PublicKey> decodeEd25519PublicKeyProto(ByteView in);

// A libp2p peer id: the multihash of the protobuf-encoded public key (identity multihash for
// keys of at most 42 encoded bytes, which covers Ed25519: text "12D3KooW..."). Only Ed25519
// identities are produced here; parse() accepts any identity or sha2-256 multihash peer id.
class PeerId {
 public:
  static PeerId fromEd25519(const crypto::Ed25519PublicKey& key);
  // base58btc text of the multihash ("12D3KooW...", "Qm..."); the CIDv1 form is not accepted.
  [[nodiscard]] static Result<PeerId> parse(std::string_view text);
  [[nodiscard]] static Result<PeerId> fromMultihash(codec::Multihash hash);

  std::string toString() const;
  const codec::Multihash& multihash() const { return hash_; }
  // The Ed25519 key inlined in an identity peer id, if it is one.
  std::optional<crypto::Ed25519PublicKey> ed25519Key() const;

  friend bool operator==(const PeerId&, const PeerId&) = default;
  friend std::strong_ordering operator<=>(const PeerId& a, const PeerId& b) {
    return a.hash_ <=> b.hash_;
  }

 private:
  explicit PeerId(codec::Multihash hash) : hash_(std::move(hash)) {}
  codec::Multihash hash_;
};

}  // namespace aether::net
