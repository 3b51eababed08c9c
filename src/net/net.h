// net: Aether's peer overlay transport — the libp2p wire stack (TCP, multistream-select 1.0,
// Noise XX with the libp2p handshake payload, Yamux, /ipfs/ping/1.0.0) on Boost.Asio.
// Threading: a Host, its Connections and Streams, and every coroutine they start belong to the
// one thread that runs the io_context given to Host::create (no strands, no locks). Call their
// methods only from that thread, e.g. from coroutines co_spawn'ed on that io_context.
// Value types (PeerId) are thread-compatible.
#pragma once

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange unincluded

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "net/peer_id.h"

namespace aether::net {

template <class T>
using Task = boost::asio::awaitable<T>;

// ---- streams, connections, host ---------------------------------------------------------------

class ConnectionImpl;
class HostImpl;
class Connection;

// One Yamux stream, already negotiated to `protocol()`. Move-only; destroying a stream that is
// not closed both ways resets it (RST). Reads and writes may run concurrently (one coroutine
// reading, one writing); two concurrent reads or two concurrent writes are not allowed.
class Stream {
 public:
  Stream(std::shared_ptr<ConnectionImpl> conn, std::uint32_t id, std::string protocol);
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::uint32_t id() const { return id_; }
  const std::string& protocol() const { return protocol_; }

  // Up to out.size() bytes; 0 means the remote closed its side (FIN). kIo when the stream was
  // reset or the connection died.
  [[nodiscard]] Task<Result<std::size_t>> readSome(std::span<std::uint8_t> out);
  // Exactly out.size() bytes; kTruncated on EOF first.
  [[nodiscard]] Task<Status> readExactly(std::span<std::uint8_t> out);
  // Waits for send window as needed (Yamux flow control).
  [[nodiscard]] Task<Status> writeAll(ByteView data);
  // Half-close: sends FIN; reading continues until the remote's FIN.
  [[nodiscard]] Status closeWrite();
  // Abort both directions (RST).
  void reset();

  // Bytes pushed back in front of the next read (multistream's lazy data stays in the stream).
  void unread(ByteView data);
  // The connection this stream belongs to.
  Connection connection() const;
  // Reads until the remote's FIN; kLimitExceeded (and a reset) past `max` bytes.
  [[nodiscard]] Task<Result<Bytes>> readToEnd(std::size_t max);

 private:
  friend class ConnectionImpl;  // sets protocol_ once an inbound stream is negotiated
  friend class Connection;      // sets protocol_ once a multi-protocol proposal is accepted
  std::shared_ptr<ConnectionImpl> conn_;  // shared with the Connection handle and its loops
  std::uint32_t id_ = 0;
  std::string protocol_;
  Bytes pending_;
};

// An upgraded (Noise + Yamux) connection to one peer. A cheap copyable handle; the connection
// stays up until close() or the remote goes away, whoever holds handles.
class Connection {
 public:
  explicit Connection(std::shared_ptr<ConnectionImpl> impl) : impl_(std::move(impl)) {}

  const PeerId& remotePeer() const;
  // Local side dialed (odd Yamux stream ids) or accepted (even).
  bool isInitiator() const;
  bool isOpen() const;
  // Opens a Yamux stream and negotiates `protocol` with multistream-select. kUnsupported when
  // the remote answers `na`.
  [[nodiscard]] Task<Result<Stream>> openStream(std::string_view protocol);
  // Proposes `protocols` in order on one stream until the remote accepts one (the stream's
  // protocol() says which). kUnsupported when it accepts none.
  [[nodiscard]] Task<Result<Stream>> openStream(std::span<const std::string> protocols);
  // Sends GoAway (normal), then closes the socket once the write is out.
  void close();
  // The remote's transport address, e.g. /ip4/127.0.0.1/tcp/53412 (nullopt once closed).
  std::optional<codec::Multiaddr> remoteAddr() const;

 private:
  std::shared_ptr<ConnectionImpl> impl_;  // shared with Streams and the connection's own loops
};

// Serves one inbound stream; the stream is already negotiated.
using StreamHandler = std::function<Task<void>(Stream)>;

// What identify says about a peer.
struct PeerInfo {
  PeerId peer;
  std::string protocol_version;
  std::string agent_version;
  std::vector<codec::Multiaddr> listen_addrs;
  std::optional<codec::Multiaddr> observed_addr;  // how the peer sees us
  std::vector<std::string> protocols;
};

struct IdentifyOptions {
  std::string protocol_version = "ipfs/0.1.0";
  std::string agent_version = "aether";
};

struct HostOptions {
  // Handshake + muxer negotiation deadline for dials and inbound connections.
  std::chrono::milliseconds upgrade_timeout{10000};
  // Refuse inbound connections beyond this many (counts live connections).
  std::size_t max_connections = 256;
  // Connection manager: when more than high_water connections are live, the oldest ones past
  // their grace period are closed (fewest open streams first) down to low_water. 0 disables it.
  std::size_t low_water = 96;
  std::size_t high_water = 192;
  std::chrono::milliseconds grace{20000};
  // Inbound connections from a peer that already has this many live ones are closed.
  std::size_t max_connections_per_peer = 3;
  // connect() does not redial a peer whose last automatic dial failed for
  // dial_backoff_base * 2^(failures - 1), at most dial_backoff_max (dial() ignores this).
  std::chrono::milliseconds dial_backoff_base{5000};
  std::chrono::milliseconds dial_backoff_max{300000};
  // Resource manager: inbound streams being served across all connections; more are reset.
  std::size_t max_inbound_streams = 4096;
};

struct HostStats {
  std::size_t connections = 0;        // live now
  std::size_t inbound_streams = 0;    // being served now
  std::uint64_t trimmed = 0;          // closed by the connection manager
  std::uint64_t refused_per_peer = 0; // inbound connections over max_connections_per_peer
  std::uint64_t refused_streams = 0;  // inbound streams over max_inbound_streams
  std::uint64_t backoff_refusals = 0; // connect() calls refused by the dial backoff
};

// A libp2p host over TCP: listens, dials with an expected peer id, serves protocol handlers.
class Host {
 public:
  // `rng` must outlive the Host (ephemeral Noise keys, ping payloads).
  [[nodiscard]] static Result<Host> create(boost::asio::io_context& io,
                                           const crypto::Ed25519KeyPair& identity,
                                           crypto::Rng& rng, HostOptions options = {});
  ~Host();
  Host(Host&&) noexcept;
  Host& operator=(Host&&) noexcept;

  const PeerId& peerId() const;
  // The io_context the host runs on (protocols built on the host put their timers there).
  boost::asio::io_context& ioContext() const;

  // Listens on `ip4`:`port` (port 0 = any free one) and starts accepting. Returns the full
  // address "/ip4/127.0.0.1/tcp/N/p2p/12D3KooW...".
  [[nodiscard]] Result<codec::Multiaddr> listen(std::string_view ip4 = "127.0.0.1",
                                                std::uint16_t port = 0);
  // Dials /ip4/../tcp/.. and upgrades; the remote must prove it is `expected` (kAuthFailed
  // otherwise). If `addr` has a /p2p/ component it must equal `expected` (kInvalidArgument).
  [[nodiscard]] Task<Result<Connection>> dial(const codec::Multiaddr& addr, const PeerId& expected);
  // The same with the peer id taken from the address's /p2p/ component (required).
  [[nodiscard]] Task<Result<Connection>> dial(const codec::Multiaddr& addr);
  // A live connection to `peer` if there is one (either direction), else dials `addrs` in order
  // (transport addresses, without /p2p/) until one works. kNotFound when `addrs` is empty.
  [[nodiscard]] Task<Result<Connection>> connect(const PeerId& peer, std::vector<codec::Multiaddr> addrs);
  std::optional<Connection> existingConnection(const PeerId& peer) const;

  void setStreamHandler(std::string protocol, StreamHandler handler);
  // Serves /ipfs/ping/1.0.0 (echo 32-byte payloads until EOF).
  void enablePing();
  // Serves /ipfs/id/1.0.0 (our key, listen addresses, protocols, the observed address) and
  // accepts /ipfs/id/push/1.0.0 (the remote's updated info goes to the peer book).
  void enableIdentify(IdentifyOptions options = {});
  // Serves /perf/1.0.0 (libp2p/specs perf/perf.md): reads the requested download size, drains
  // the upload until EOF, then sends the requested bytes. Off unless enabled (the spec: not on
  // publicly reachable nodes); `max_download` caps what one stream may ask for.
  void enablePerf(std::uint64_t max_download = std::uint64_t{1} << 34);
  // Every address listen() bound, without /p2p/.
  std::vector<codec::Multiaddr> listenAddrs() const;
  // The protocols we serve (the handlers set so far), sorted.
  std::vector<std::string> protocols() const;
  // What identify (asked or pushed) last told us about `peer`.
  std::optional<PeerInfo> peerInfo(const PeerId& peer) const;
  // Called once per inbound connection after its upgrade.
  void setConnectionObserver(std::function<void(Connection)> observer);
  // Called for every connection once it is upgraded, dialed or accepted (after the inbound
  // observer above). Observers are kept until the Host closes.
  void addConnectionObserver(std::function<void(Connection)> observer);
  // Stops listening and closes every connection.
  void close();
  HostStats stats() const;
  // Every live connection.
  std::vector<Connection> connections() const;

 private:
  [[nodiscard]] Task<Result<Connection>> connectAny(const PeerId& peer, std::vector<codec::Multiaddr> addrs);
  friend Task<Result<PeerInfo>> identify(Host& host, Connection& conn);
  friend Task<Status> identifyPush(Host& host, Connection& conn);
  explicit Host(std::shared_ptr<HostImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<HostImpl> impl_;  // shared with the accept loop and inbound upgrade coroutines
};

inline constexpr std::string_view kPingProtocol = "/ipfs/ping/1.0.0";
inline constexpr std::string_view kIdentifyProtocol = "/ipfs/id/1.0.0";
inline constexpr std::string_view kIdentifyPushProtocol = "/ipfs/id/push/1.0.0";

// Asks the remote who it is (/ipfs/id/1.0.0). The public key it sends must be the one its
// Noise handshake proved (kAuthFailed otherwise); listen addresses that are not valid
// multiaddrs are dropped, anything else malformed is an error. Stored in host.peerInfo().
[[nodiscard]] Task<Result<PeerInfo>> identify(Host& host, Connection& conn);
inline constexpr std::string_view kPerfProtocol = "/perf/1.0.0";

struct PerfResult {
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  std::chrono::nanoseconds upload_time{0};    // stream open .. upload written and closed
  std::chrono::nanoseconds download_time{0};  // upload closed .. last byte received
  std::chrono::nanoseconds total{0};
};

// One /perf/1.0.0 run: asks for `download` bytes, sends `upload` bytes, closes the write side
// and reads the answer. kTruncated when the server sends fewer bytes, kMalformed when more.
[[nodiscard]] Task<Result<PerfResult>> perf(Connection& conn, std::uint64_t upload, std::uint64_t download);

// Pushes our current identify info to the remote (/ipfs/id/push/1.0.0).
[[nodiscard]] Task<Status> identifyPush(Host& host, Connection& conn);
inline constexpr std::size_t kPingSize = 32;

// Opens one ping stream and runs `count` round trips of 32 random bytes; returns the RTTs.
// kIntegrity when the echo differs.
[[nodiscard]] Task<Result<std::vector<std::chrono::nanoseconds>>> ping(Connection& conn,
                                                                       crypto::Rng& rng,
                                                                       int count = 1);

// ---- Kademlia DHT (/ipfs/kad/1.0.0) ------------------------------------------------------------

inline constexpr std::string_view kKadProtocol = "/ipfs/kad/1.0.0";

struct DhtPeer {
  PeerId peer;
  std::vector<codec::Multiaddr> addrs;  // transport addresses, without /p2p/
};

// Record rules for one key namespace: keys are "/<namespace>/<rest>". Records of a namespace
// without a validator are refused, as go-libp2p-kad-dht does.
struct RecordValidator {
  std::function<Status(std::string_view key, ByteView value)> validate;
  // Index of the best of >= 1 valid values (e.g. the highest sequence number).
  std::function<std::size_t(std::string_view key, std::span<const Bytes> values)> select;
};

struct DhtOptions {
  // The protocol id. go-libp2p-kad-dht refuses validators other than /pk and /ipns on the public
  // /ipfs/kad/1.0.0 network, so our own namespace lives on a DHT of its own: "/aether/kad/1.0.0".
  std::string protocol = std::string(kKadProtocol);
  std::size_t k = 20;      // bucket size and replication
  std::size_t alpha = 3;   // lookup concurrency
  std::chrono::milliseconds rpc_timeout{10000};
  std::chrono::seconds record_ttl{36 * 3600};
  std::chrono::seconds provider_ttl{24 * 3600};
  std::map<std::string, RecordValidator, std::less<>> validators;  // by namespace
  // Our own records (putValue) and provider announcements (provide) are sent again to the
  // then-closest peers this often, so they outlive record_ttl / provider_ttl elsewhere and
  // follow churn. 0 disables. The wait ends when the Dht is destroyed (an io_context that runs
  // until idle returns then).
  std::chrono::milliseconds republish_interval{std::chrono::hours(1)};
  std::chrono::milliseconds reprovide_interval{std::chrono::hours(12)};
  std::size_t max_records = 16384;
  std::size_t max_provider_keys = 16384;
  std::size_t max_providers_per_key = 64;
};

// The "aether" record namespace: key "/aether/<peer id>/<name>", value = u64 BE sequence ||
// 64-byte Ed25519 signature || payload, signed by the peer id's key over
// "aether-dht-record:" || key || sequence || payload; the highest sequence wins.
RecordValidator aetherRecordValidator();
inline constexpr std::string_view kAetherKadProtocol = "/aether/kad/1.0.0";
// The libp2p "pk" namespace: key "/pk/" + peer id multihash bytes, value = that peer's PublicKey
// protobuf (Ed25519 only here); valid when the key hashes to the peer id.
RecordValidator publicKeyRecordValidator();
std::string publicKeyRecordKey(const PeerId& peer);
[[nodiscard]] Result<Bytes> makeAetherRecord(const crypto::Ed25519KeyPair& key, std::string_view name,
                                             std::uint64_t sequence, ByteView payload, std::string* record_key);

class DhtImpl;

// A Kademlia DHT node in server mode on `host`: serves FIND_NODE, GET/PUT_VALUE and
// ADD/GET_PROVIDERS, and runs iterative lookups (alpha concurrent RPCs, k closest). `host` must
// outlive the Dht and run on the same io_context thread.
class Dht {
 public:
  Dht(Host& host, DhtOptions options);
  ~Dht();
  Dht(const Dht&) = delete;
  Dht& operator=(const Dht&) = delete;

  // Adds a known peer (e.g. a bootstrap peer) to the routing table.
  void addPeer(const DhtPeer& peer);
  std::size_t routingTableSize() const;
  // Connects to `seeds` (/ip4/../tcp/../p2p/..), adds those that answer, then looks up our own id.
  [[nodiscard]] Task<Status> bootstrap(std::vector<codec::Multiaddr> seeds);
  // The k peers closest to `key` the network knows (iterative FIND_NODE).
  [[nodiscard]] Task<Result<std::vector<DhtPeer>>> findClosestPeers(ByteView key);
  // Validates, stores locally and PUTs to the k closest peers; returns how many accepted it.
  [[nodiscard]] Task<Result<std::size_t>> putValue(std::string_view key, ByteView value);
  // The best valid value among the local store and the closest peers' answers. kNotFound.
  [[nodiscard]] Task<Result<Bytes>> getValue(std::string_view key);
  // Announces us as a provider of `key` (a multihash, as go-libp2p-kad-dht does for CIDs) to
  // the k closest peers; returns how many were told.
  [[nodiscard]] Task<Result<std::size_t>> provide(ByteView key);
  [[nodiscard]] Task<Result<std::vector<DhtPeer>>> findProviders(ByteView key, std::size_t max = 20);
  // How many republish / reprovide rounds ran (tests, metrics).
  std::uint64_t republishRounds() const;

 private:
  std::shared_ptr<DhtImpl> impl_;
};


// ---- pubsub: GossipSub v1.1/v1.2 with a FloodSub fallback ------------------------------------

inline constexpr std::string_view kFloodsubProtocol = "/floodsub/1.0.0";
inline constexpr std::string_view kMeshsub10Protocol = "/meshsub/1.0.0";
inline constexpr std::string_view kMeshsub11Protocol = "/meshsub/1.1.0";
inline constexpr std::string_view kMeshsub12Protocol = "/meshsub/1.2.0";

// A delivered message (StrictSign: every message is signed by its author).
struct PubsubMessage {
  std::string topic;
  Bytes data;
  PeerId author;
  std::uint64_t seqno = 0;
  Bytes id;              // author multihash || seqno (the default message id)
  PeerId received_from;  // the neighbour that sent it (== author's id for our own)
};

// Peer-score parameters (gossipsub v1.1 §peer scoring), one set for every topic. P3 (mesh
// delivery deficit) and P5 (application score) are not implemented (weight 0).
struct PubsubScoreParams {
  double topic_weight = 1.0;
  double time_in_mesh_weight = 0.01;        // P1, per second in the mesh
  double time_in_mesh_cap = 100;            // seconds counted at most
  double first_deliveries_weight = 1.0;     // P2
  double first_deliveries_decay = 0.5;      // per decay interval
  double first_deliveries_cap = 100;
  double invalid_messages_weight = -100.0;  // P4 (squared counter)
  double invalid_messages_decay = 0.3;
  double ip_colocation_weight = -10.0;      // P6 (squared surplus)
  std::size_t ip_colocation_threshold = 10;
  bool ip_colocation_ignores_loopback = true;  // local test networks share 127.0.0.1
  double behaviour_penalty_weight = -10.0;  // P7 (squared counter)
  double behaviour_penalty_decay = 0.9;
  std::chrono::milliseconds decay_interval{1000};
  double decay_to_zero = 0.01;
};

struct PubsubOptions {
  // Protocols we speak, most preferred first. {kFloodsubProtocol} alone makes a FloodSub router.
  std::vector<std::string> protocols = {std::string(kMeshsub12Protocol), std::string(kMeshsub11Protocol),
                                        std::string(kMeshsub10Protocol), std::string(kFloodsubProtocol)};
  std::size_t d = 6, d_lo = 5, d_hi = 12, d_lazy = 6, d_out = 2, d_score = 4;
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::seconds fanout_ttl{60};
  std::size_t history_length = 5, history_gossip = 3;
  std::chrono::seconds seen_ttl{120};
  std::chrono::seconds prune_backoff{60};
  std::chrono::seconds graft_flood_threshold{10};
  std::size_t opportunistic_graft_ticks = 60, opportunistic_graft_peers = 2;
  double opportunistic_graft_threshold = 1.0;
  double gossip_factor = 0.25;
  std::size_t gossip_retransmission = 3;
  bool flood_publish = true;
  std::size_t max_ihave_length = 5000, max_ihave_messages = 10;
  std::size_t idontwant_min_size = 1024;  // v1.2: announce IDONTWANT for messages this large
  std::size_t max_idontwant = 5000;       // remembered per peer
  std::size_t max_queued_bytes = 8 << 20;  // per peer; RPCs beyond are dropped (slow peer)
  std::size_t max_topics_per_peer = 1024;
  std::size_t px_peers = 16;
  double gossip_threshold = -10, publish_threshold = -50, graylist_threshold = -80;
  double accept_px_threshold = 10;
  PubsubScoreParams score;
};

struct PubsubStats {
  std::uint64_t published = 0, delivered = 0, forwarded = 0, duplicates = 0;
  std::uint64_t invalid_signatures = 0, malformed_rpcs = 0, dropped_rpcs = 0, ignored_graylisted = 0;
  std::uint64_t iwant_served = 0, ihave_sent = 0, disconnected_peers = 0;
};

using PubsubHandler = std::function<void(const PubsubMessage&)>;

class PubsubImpl;

// A GossipSub router on `host` (and a FloodSub one for peers that speak only that). It attaches
// to every connection the host makes or accepts. `host`, `key` (the host's identity key, which
// signs our messages) and `rng` must outlive it; same thread as the host (see the top).
class Pubsub {
 public:
  Pubsub(Host& host, const crypto::Ed25519KeyPair& key, crypto::Rng& rng, PubsubOptions options = {});
  ~Pubsub();
  Pubsub(const Pubsub&) = delete;
  Pubsub& operator=(const Pubsub&) = delete;

  // One handler per topic; kInvalidArgument for a bad topic or a second subscription.
  [[nodiscard]] Status subscribe(std::string topic, PubsubHandler handler);
  [[nodiscard]] Status unsubscribe(std::string_view topic);
  // Signs and sends; returns the message id. Delivered to our own handler too.
  [[nodiscard]] Result<Bytes> publish(std::string_view topic, ByteView data);
  // Starts pubsub with the peer on `conn` (done automatically for connections of the host).
  void addPeer(Connection conn);

  // Peers that told us they subscribe to `topic` (every pubsub peer when empty).
  std::vector<PeerId> peers(std::string_view topic = {}) const;
  std::vector<PeerId> meshPeers(std::string_view topic) const;
  std::vector<std::string> topics() const;
  std::optional<double> score(const PeerId& peer) const;
  PubsubStats stats() const;
  // Stops the heartbeat and every stream; the host stays up.
  void close();

 private:
  std::shared_ptr<PubsubImpl> impl_;
};

}  // namespace aether::net
