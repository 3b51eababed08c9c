// net internals: the sans-IO wire layers (multistream-select messages, the Noise XX handshake
// and transport cipher states, the Yamux frame codec and session state machine). No I/O here:
// each takes bytes and returns bytes, so unit tests and fuzzers drive them directly.
// Thread-compatible; the Asio layer (host.cc) owns one of each per connection on its thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/base.h"
#include "crypto/crypto.h"
#include "net/peer_id.h"

namespace aether::net {

// ---- protobuf (proto2/proto3 wire format, the subset libp2p messages use) --------------------

inline constexpr std::uint32_t kWireVarint = 0;
inline constexpr std::uint32_t kWireFixed64 = 1;
inline constexpr std::uint32_t kWireBytes = 2;
inline constexpr std::uint32_t kWireFixed32 = 5;

void appendBytesField(Bytes& out, std::uint32_t field, ByteView value);
void appendVarintField(Bytes& out, std::uint32_t field, std::uint64_t value);

struct Field {
  std::uint32_t number;
  std::uint32_t wire;
  std::uint64_t varint = 0;  // wire 0
  ByteView bytes;            // wire 2 (a view into the input)
};

// Reads one field from the front of `in` and advances it. Fixed32/64 fields are skipped (their
// value is not returned); groups (wire types 3/4) and field number 0 are kMalformed; a
// length running past the end is kTruncated.
[[nodiscard]] Result<Field> readField(ByteView& in, std::string_view what);

// Well-formed UTF-8 without control characters (protocol ids, agent strings).
bool validProtocolText(ByteView b);

// ---- multistream-select 1.0 -------------------------------------------------------------------
//
// A message is uvarint(len) || text || '\n' with len counting the newline.

inline constexpr std::string_view kMultistreamProtocol = "/multistream/1.0.0";
inline constexpr std::string_view kMultistreamNa = "na";
// Longest message body (text + '\n') we accept; go-libp2p caps protocol ids far below this.
inline constexpr std::size_t kMaxMultistreamMessage = 1024;

// REQUIRES nothing; kInvalidArgument for empty text, text containing '\n', or too long.
[[nodiscard]] Result<Bytes> encodeMultistreamMessage(std::string_view text);
void appendMultistreamMessage(Bytes& out, std::string_view text);  // REQUIRES: valid text

// Validates a message body (the `len` bytes after the varint) and returns its text.
// kMalformed: empty, no trailing '\n', '\n' or NUL inside, invalid UTF-8 / control characters.
[[nodiscard]] Result<std::string> decodeMultistreamBody(ByteView body);

struct MultistreamDecoded {
  std::string text;
  std::size_t consumed;
};
// One message from the front of `in`: nullopt when more bytes are needed, an error when the
// bytes can never form a valid message (bad varint, len 0, len > limit, bad body).
[[nodiscard]] Result<std::optional<MultistreamDecoded>> decodeMultistreamMessage(ByteView in);

// ---- Noise handshake payload ------------------------------------------------------------------

inline constexpr std::string_view kNoiseProtocol = "/noise";
inline constexpr std::string_view kNoiseSignaturePrefix = "noise-libp2p-static-key:";

struct NoiseHandshakePayload {
  Bytes identity_key;  // libp2p PublicKey protobuf
  Bytes identity_sig;
  std::vector<Bytes> webtransport_certhashes;  // extensions field 1 (parsed, unused)
  std::vector<std::string> stream_muxers;      // extensions field 2 (parsed, unused)
  bool has_extensions = false;
};

inline constexpr std::size_t kMaxNoiseExtensionEntries = 64;

Bytes encodeNoiseHandshakePayload(const NoiseHandshakePayload& payload);
// Protobuf decoder: skips unknown fields of wire types 0/1/2/5; rejects groups, field 0,
// wrong wire types for known fields, repeated singular fields, truncation, > 64 entries.
[[nodiscard]] Result<NoiseHandshakePayload> decodeNoiseHandshakePayload(ByteView in);

// ---- Noise XX ---------------------------------------------------------------------------------

inline constexpr std::size_t kNoiseMaxMessage = 65535;
inline constexpr std::size_t kNoiseMaxPlaintext = kNoiseMaxMessage - crypto::kAeadTagSize;

// One direction of the transport phase: ChaCha20-Poly1305 with nonce 0^32 || LE64(n), empty AD.
class CipherState {
 public:
  [[nodiscard]] static Result<CipherState> create(ByteView key);
  // REQUIRES: plaintext.size() <= kNoiseMaxPlaintext. Appends ciphertext || tag to `out`.
  [[nodiscard]] Status encryptAppend(ByteView plaintext, Bytes& out);
  // kAuthFailed on a bad tag, kMalformed for frames shorter than a tag / longer than 65535.
  [[nodiscard]] Result<Bytes> decrypt(ByteView ciphertext);
  std::uint64_t nonce() const { return n_; }
  void setNonceForTest(std::uint64_t n) { n_ = n; }

 private:
  explicit CipherState(crypto::ChaCha20Poly1305 aead) : aead_(std::move(aead)) {}
  crypto::ChaCha20Poly1305 aead_;
  std::uint64_t n_ = 0;
};

struct NoiseTransport {
  CipherState send;
  CipherState recv;
  PeerId remote;
  NoiseHandshakePayload remote_payload;
};

// Noise_XX_25519_ChaChaPoly_SHA256 with the libp2p payload, as a message-by-message state machine.
//   initiator: writeMessage (-> e), readMessage (<- e, ee, s, es + payload), writeMessage
//              (-> s, se + payload), finish()
//   responder: readMessage, writeMessage, readMessage, finish()
// readMessage verifies the remote identity signature once the remote static key is known and,
// when `expected` was given, that the remote peer id equals it (kAuthFailed otherwise).
class NoiseHandshake {
 public:
  enum class Role { kInitiator, kResponder };

  // `identity` and `rng` are used only during calls; neither is retained beyond the handshake.
  [[nodiscard]] static Result<NoiseHandshake> create(Role role, const crypto::Ed25519KeyPair& identity,
                                                     crypto::Rng& rng,
                                                     std::optional<PeerId> expected = std::nullopt);
  // Same, with a fixed ephemeral key (tests).
  [[nodiscard]] static Result<NoiseHandshake> createWithEphemeral(
      Role role, const crypto::Ed25519KeyPair& identity, crypto::Rng& rng,
      crypto::X25519KeyPair ephemeral, std::optional<PeerId> expected = std::nullopt);

  // The next handshake message (without its u16 length prefix).
  [[nodiscard]] Result<Bytes> writeMessage();
  [[nodiscard]] Status readMessage(ByteView message);
  bool complete() const { return step_ == 3; }
  bool isInitiator() const { return role_ == Role::kInitiator; }
  // REQUIRES: complete().
  [[nodiscard]] Result<NoiseTransport> finish();

  const ByteView handshakeHash() const { return {h_.data(), h_.size()}; }

 private:
  NoiseHandshake() = default;
  void mixHash(ByteView data);
  [[nodiscard]] Status mixKey(ByteView ikm);
  [[nodiscard]] Status encryptAndHash(ByteView plaintext, Bytes& out);
  [[nodiscard]] Result<Bytes> decryptAndHash(ByteView ciphertext);
  [[nodiscard]] Status dh(const crypto::X25519KeyPair& local, ByteView remote);
  [[nodiscard]] Result<Bytes> localPayload();
  [[nodiscard]] Status verifyRemote(ByteView payload);

  Role role_ = Role::kInitiator;
  int step_ = 0;  // messages processed so far (0..3)
  crypto::Sha256Digest h_{};
  crypto::SecretBytes ck_;
  crypto::SecretBytes k_;  // empty until the first MixKey
  std::uint64_t n_ = 0;
  std::optional<crypto::X25519KeyPair> s_;
  std::optional<crypto::X25519KeyPair> e_;
  crypto::X25519PublicKey rs_{};
  crypto::X25519PublicKey re_{};
  Bytes identity_key_proto_;
  crypto::Ed25519Signature identity_sig_{};
  std::optional<PeerId> expected_;
  std::optional<PeerId> remote_;
  NoiseHandshakePayload remote_payload_;
};

// ---- Yamux ------------------------------------------------------------------------------------

inline constexpr std::string_view kYamuxProtocol = "/yamux/1.0.0";
inline constexpr std::size_t kYamuxHeaderSize = 12;
inline constexpr std::uint32_t kYamuxInitialWindow = 262144;
// Largest Data frame we send (the receiver's window is what bounds what we accept).
inline constexpr std::uint32_t kYamuxMaxDataFrame = 16384;
// Streams the remote may have open on one session (accepted or not yet). A SYN beyond it is
// answered with RST and counted (refusedStreams()). With the 256 KiB receive window this bounds
// what one connection can make us buffer to 128 x 256 KiB = 32 MiB.
inline constexpr std::size_t kYamuxMaxInboundStreams = 128;

enum class YamuxType : std::uint8_t { kData = 0, kWindowUpdate = 1, kPing = 2, kGoAway = 3 };
namespace yamux_flags {
inline constexpr std::uint16_t kSyn = 1;
inline constexpr std::uint16_t kAck = 2;
inline constexpr std::uint16_t kFin = 4;
inline constexpr std::uint16_t kRst = 8;
}  // namespace yamux_flags
enum class YamuxGoAway : std::uint32_t { kNormal = 0, kProtocolError = 1, kInternalError = 2 };

struct YamuxHeader {
  YamuxType type = YamuxType::kData;
  std::uint16_t flags = 0;
  std::uint32_t stream_id = 0;
  std::uint32_t length = 0;
  friend bool operator==(const YamuxHeader&, const YamuxHeader&) = default;
};

void appendYamuxHeader(Bytes& out, const YamuxHeader& header);
// Exactly 12 bytes. kWrongLength for another size; kUnsupported for version != 0; kMalformed
// for an unknown type, unknown flag bits, session frames (ping / go-away) off stream 0, stream
// frames on stream 0, ping without exactly one of SYN / ACK, a go-away code above 2.
[[nodiscard]] Result<YamuxHeader> decodeYamuxHeader(ByteView in);

// The Yamux session state machine: feed it received bytes, take the bytes it wants sent.
// Flow control: every stream starts with a 256 KiB window each way; only Data payload counts;
// a peer exceeding our window is a protocol error (the session answers GoAway and fails).
class YamuxSession {
 public:
  enum class Role { kDialer, kListener };  // dialer opens odd stream ids, listener even
  explicit YamuxSession(Role role);

  // Parses every complete frame in `data` (partial frames are buffered). On a protocol
  // violation returns the error, queues GoAway(protocol error) and marks the session failed.
  [[nodiscard]] Status receive(ByteView data);
  // Bytes to send, in order; clears the queue.
  Bytes takeOutgoing();
  bool hasOutgoing() const { return !out_.empty(); }

  [[nodiscard]] Result<std::uint32_t> openStream();
  // Next stream the remote opened, if any.
  std::optional<std::uint32_t> acceptStream();

  // Queues up to min(data.size(), send window) bytes as Data frames; returns how many.
  // kIo when the stream is reset / unknown or its write side closed.
  [[nodiscard]] Result<std::size_t> write(std::uint32_t id, ByteView data);
  // Copies buffered data out; grants window back once half the window is consumed.
  std::size_t read(std::uint32_t id, std::span<std::uint8_t> out);
  [[nodiscard]] Status closeWrite(std::uint32_t id);
  void reset(std::uint32_t id);
  // Forget a stream the application is done with (RST unless both sides closed).
  void release(std::uint32_t id);

  void ping(std::uint32_t opaque);
  std::vector<std::uint32_t> takePongs();
  void goAway(YamuxGoAway code);

  bool failed() const { return failed_; }
  bool remoteGoneAway() const { return remote_go_away_.has_value(); }
  bool localGoneAway() const { return local_go_away_; }

  // Stream state for waiting / tests; all false / 0 for unknown ids.
  bool exists(std::uint32_t id) const { return streams_.contains(id); }
  std::size_t readable(std::uint32_t id) const;
  bool remoteClosed(std::uint32_t id) const;  // FIN received
  bool isReset(std::uint32_t id) const;       // RST either way, or session failed
  std::uint32_t sendWindow(std::uint32_t id) const;
  std::uint32_t recvWindow(std::uint32_t id) const;
  std::size_t streamCount() const { return streams_.size(); }
  std::size_t inboundStreamCount() const;
  std::uint64_t refusedStreams() const { return refused_streams_; }

 private:
  struct StreamState {
    std::uint32_t send_window = kYamuxInitialWindow;
    std::uint32_t recv_window = kYamuxInitialWindow;
    std::uint32_t consumed = 0;  // read by the app since the last window update we sent
    std::deque<std::uint8_t> buffer;
    bool local_fin = false;
    bool remote_fin = false;
    bool reset = false;
  };
  [[nodiscard]] Status protocolError(std::string message);
  [[nodiscard]] Status handleFrame(const YamuxHeader& header, ByteView body);
  [[nodiscard]] Status handleStreamFlags(const YamuxHeader& header, StreamState** state);
  void sendFrame(YamuxType type, std::uint16_t flags, std::uint32_t id, std::uint32_t length,
                 ByteView body = {});

  Role role_;
  std::uint32_t next_id_;
  std::map<std::uint32_t, StreamState> streams_;
  std::deque<std::uint32_t> accept_queue_;
  std::uint64_t refused_streams_ = 0;
  std::vector<std::uint32_t> pongs_;
  Bytes in_;
  Bytes out_;
  bool failed_ = false;
  bool local_go_away_ = false;
  std::optional<std::uint32_t> remote_go_away_;
};

// ---- identify (/ipfs/id/1.0.0, /ipfs/id/push/1.0.0) -----------------------------------------------
//
// message Identify { optional string protocolVersion = 5; optional string agentVersion = 6;
//   optional bytes publicKey = 1; repeated bytes listenAddrs = 2; optional bytes observedAddr = 4;
//   repeated string protocols = 3; optional bytes signedPeerRecord = 8; }
// Sent as uvarint-length-delimited messages until the stream's EOF; a receiver merges them
// (repeated fields append, singular ones: the last wins), as go-libp2p splits big ones.

inline constexpr std::size_t kMaxIdentifyMessage = 8 * 1024;  // one delimited message
inline constexpr std::size_t kMaxIdentifyTotal = 64 * 1024;    // all messages of one stream
inline constexpr std::size_t kMaxIdentifyMessages = 10;
inline constexpr std::size_t kMaxIdentifyEntries = 256;        // listen addrs, protocols each
inline constexpr std::size_t kMaxIdentifyText = 1024;          // versions, protocol ids

struct IdentifyMessage {
  std::optional<std::string> protocol_version;
  std::optional<std::string> agent_version;
  std::optional<Bytes> public_key;  // libp2p PublicKey protobuf
  std::vector<Bytes> listen_addrs;  // binary multiaddrs (validated by the caller)
  std::optional<Bytes> observed_addr;
  std::vector<std::string> protocols;
  std::optional<Bytes> signed_peer_record;  // kept opaque
};

Bytes encodeIdentify(const IdentifyMessage& message);
// Merges one message body into `into`. Errors: readField's, kMalformed (wrong wire type for a
// known field, text that is not UTF-8 / has control characters), kLimitExceeded (entries, text).
[[nodiscard]] Status mergeIdentify(ByteView body, IdentifyMessage& into);
// Splits a whole identify stream (delimited messages up to EOF) and merges them.
// kTruncated when it ends inside a message; kLimitExceeded past the limits above.
[[nodiscard]] Result<IdentifyMessage> decodeIdentifyStream(ByteView stream);

// ---- Kademlia (/ipfs/kad/1.0.0) -------------------------------------------------------------------
//
// libp2p/specs kad-dht: uvarint-delimited protobuf `Message`s; distance = XOR of SHA-256 of the
// keys (peer ids as their multihash bytes, records and provider keys as given).

inline constexpr std::size_t kKadMaxMessage = 64 * 1024;   // go-libp2p-kad-dht allows 4 MiB; we
                                                           // need no more than a record + 2 x k peers
inline constexpr std::size_t kKadMaxPeersPerMessage = 64;
inline constexpr std::size_t kKadMaxAddrsPerPeer = 16;
inline constexpr std::size_t kKadMaxKey = 1024;
inline constexpr std::size_t kKadMaxValue = 16 * 1024;

enum class KadType : std::uint8_t {
  kPutValue = 0, kGetValue = 1, kAddProvider = 2, kGetProviders = 3, kFindNode = 4, kPing = 5,
};

struct KadWirePeer {
  Bytes id;                  // peer id multihash bytes
  std::vector<Bytes> addrs;  // binary multiaddrs
  std::uint64_t connection = 0;
};

struct KadRecord {
  Bytes key;
  Bytes value;
  std::string time_received;
};

struct KadMessage {
  KadType type = KadType::kPutValue;  // proto3 default: a PUT_VALUE carries no type field at all
  Bytes key;
  std::optional<KadRecord> record;
  std::vector<KadWirePeer> closer;
  std::vector<KadWirePeer> providers;
};

Bytes encodeKadMessage(const KadMessage& m);
// Errors: readField's; kMalformed (wrong wire types, unknown message type, nested errors);
// kLimitExceeded (above the limits above).
[[nodiscard]] Result<KadMessage> decodeKadMessage(ByteView body);

using KadKey = crypto::Sha256Digest;  // sha256(key)
KadKey kadKey(ByteView key);
// Number of leading bits a and b share (256 when equal).
std::size_t kadCommonPrefix(const KadKey& a, const KadKey& b);
// true when a is strictly closer to target than b.
bool kadCloser(const KadKey& target, const KadKey& a, const KadKey& b);

// The k-bucket routing table (k entries per bucket, bucket i = peers sharing i leading bits with
// us; the last bucket holds everything closer). A full bucket keeps its entries (long-lived
// peers are the reliable ones, as in the Kademlia paper) and refuses the newcomer.
class RoutingTable {
 public:
  struct Entry {
    PeerId peer;
    KadKey key;
    std::vector<Bytes> addrs;  // binary multiaddrs
    std::int64_t last_seen = 0;
  };
  RoutingTable(const PeerId& self, std::size_t k);
  // Adds or refreshes; false when the bucket is full (or the peer is us).
  bool add(const PeerId& peer, std::vector<Bytes> addrs, std::int64_t now);
  void remove(const PeerId& peer);
  std::vector<Entry> closest(const KadKey& target, std::size_t count) const;
  std::optional<Entry> find(const PeerId& peer) const;
  std::size_t size() const;
  std::size_t k() const { return k_; }

 private:
  KadKey self_;
  PeerId self_id_;
  std::size_t k_;
  std::vector<std::vector<Entry>> buckets_;  // 257 (index = common prefix length)
};


// ---- pubsub RPC (/floodsub/1.0.0, /meshsub/1.0.0 .. 1.2.0) ----------------------------------------
//
// libp2p/specs pubsub/README.md + gossipsub v1.0/v1.1/v1.2: uvarint-delimited protobuf `RPC`s
// on one stream per direction. Presence of each optional field is kept (signatures cover the
// re-encoded message, and go encodes a present empty field).

inline constexpr std::size_t kPubsubMaxRpc = 1 << 20;     // go-libp2p-pubsub's default message cap
inline constexpr std::size_t kPubsubMaxTopic = 1024;
inline constexpr std::size_t kPubsubMaxIds = 5000;        // message ids per control kind per RPC
inline constexpr std::size_t kPubsubMaxEntries = 1024;    // subscriptions / messages / control entries
inline constexpr std::size_t kPubsubMaxMessageId = 256;
inline constexpr std::size_t kPubsubMaxPx = 16;           // peers in one PRUNE's exchange
inline constexpr std::string_view kPubsubSignPrefix = "libp2p-pubsub:";

struct PubsubWireMessage {
  std::optional<Bytes> from;   // field 1: the author's peer id (multihash bytes)
  std::optional<Bytes> data;   // 2
  std::optional<Bytes> seqno;  // 3: 8 bytes big-endian
  std::optional<std::string> topic;  // 4
  std::optional<Bytes> signature;    // 5
  std::optional<Bytes> key;          // 6: only when `from` does not inline the key
};

struct PubsubSubOpt {
  bool subscribe = false;
  std::string topic;
};

struct PubsubIHave {
  std::string topic;
  std::vector<Bytes> ids;
};

struct PubsubPrune {
  std::string topic;
  std::vector<Bytes> px;                 // peer ids offered for exchange
  std::optional<std::uint64_t> backoff;  // seconds
};

struct PubsubControl {
  std::vector<PubsubIHave> ihave;
  std::vector<Bytes> iwant;      // all ControlIWant entries, flattened
  std::vector<std::string> graft;
  std::vector<PubsubPrune> prune;
  std::vector<Bytes> idontwant;  // all ControlIDontWant entries, flattened
  bool empty() const {
    return ihave.empty() && iwant.empty() && graft.empty() && prune.empty() && idontwant.empty();
  }
};

struct PubsubRpc {
  std::vector<PubsubSubOpt> subscriptions;
  std::vector<PubsubWireMessage> publish;
  PubsubControl control;
  bool empty() const { return subscriptions.empty() && publish.empty() && control.empty(); }
};

Bytes encodePubsubMessage(const PubsubWireMessage& m);
Bytes encodePubsubRpc(const PubsubRpc& rpc);
// Strict decoder: wrong wire types, non-UTF-8 or control characters in topics, topics or ids
// over the limits, more entries than kPubsubMaxEntries / kPubsubMaxIds -> typed errors; unknown
// fields (e.g. the partial-messages extension) are skipped.
[[nodiscard]] Result<PubsubRpc> decodePubsubRpc(ByteView body);

// "libp2p-pubsub:" || the message encoded without `signature` and `key`.
Bytes pubsubSigningBytes(const PubsubWireMessage& m);
// Sets from (our peer id), signature; leaves key empty (Ed25519 ids inline the key).
void signPubsubMessage(PubsubWireMessage& m, const crypto::Ed25519KeyPair& key);
// StrictSign: from, seqno (8 bytes) and signature must be present; the key is inlined in
// `from` or given in `key` (then it must hash to `from`). Returns the author.
// kMalformed / kBadSignature / kAuthFailed.
[[nodiscard]] Result<PeerId> verifyPubsubMessage(const PubsubWireMessage& m);
// The default message id: from || seqno (as go-libp2p-pubsub and js-libp2p compute it).
Bytes pubsubMessageId(const PubsubWireMessage& m);

}  // namespace aether::net
