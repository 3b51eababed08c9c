// node/p2p: the node's peer overlay service — one net::Host with identify, ping, a Kademlia DHT
// (/aether/kad/1.0.0 for our signed records, /ipfs/kad/1.0.0 for the public one), GossipSub,
// and a persistent peer store in the vault (meta namespace "p2p/peers"). It runs on the
// daemon's event loop and serves the daemon's /v1/p2p/, /v1/pubsub/ and /v1/dht/ routes.
// Thread-compatible: every call on the io_context thread it was started on.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/api.h"
#include "net/net.h"
#include "store/store.h"

namespace aether::node {

struct P2POptions {
  // Where to listen: /ip4/<address>/tcp/<port> (port 0 = any free one).
  std::string listen = "/ip4/0.0.0.0/tcp/4001";
  // Peers dialled at start (/ip4/../tcp/../p2p/..), also the DHT's bootstrap peers.
  std::vector<std::string> bootstrap;
  // The most recently seen peers of the peer store are redialled at start, at most this many.
  std::size_t redial_known = 8;
  // Messages kept per subscribed topic for the API's readers.
  std::size_t message_buffer = 1000;
};

// What the peer store remembers about a peer (from identify).
struct KnownPeer {
  std::string id;
  std::vector<std::string> addrs;  // transport addresses, without /p2p/
  std::vector<std::string> protocols;
  std::string agent;
  std::int64_t last_seen = 0;  // unix seconds
};

struct TopicMessage {
  std::uint64_t seq = 0;  // per topic, from 1
  std::string from;       // author peer id
  std::string received_from;
  Bytes data;
  std::int64_t received_ms = 0;  // unix ms
};

class P2PService {
 public:
  // Listens and starts the protocols; `vault` (may be null: no persistence) and `key` must
  // outlive the service. kInvalidArgument for a bad listen address, kIo when it cannot listen.
  [[nodiscard]] static Result<std::unique_ptr<P2PService>> start(boost::asio::io_context& io,
                                                                  const crypto::Ed25519KeyPair& key,
                                                                  store::Vault* vault, P2POptions options);
  ~P2PService();
  P2PService(const P2PService&) = delete;
  P2PService& operator=(const P2PService&) = delete;

  net::Host& host();
  net::Dht& dht();
  net::Pubsub& pubsub();
  // Our addresses with /p2p/<our id>.
  std::vector<std::string> addrs() const;
  std::vector<KnownPeer> knownPeers() const;

  // Subscribes the node (messages are buffered for messages()); kAlreadyExists is not an error
  // for callers that only want to read.
  [[nodiscard]] Status subscribe(const std::string& topic);
  [[nodiscard]] Status unsubscribe(const std::string& topic);
  // Buffered messages of `topic` with seq > after (kNotFound when not subscribed).
  [[nodiscard]] Result<std::vector<TopicMessage>> messages(const std::string& topic, std::uint64_t after) const;

  // The daemon routes (docs/api.md, "Peer overlay"): every one needs
  // `Authorization: Bearer <admin token>` (the token of <home>/api-token).
  std::vector<api::DaemonExtension> routes(std::string admin_token);

  // Closes every connection and stops the protocols.
  void stop();

 private:
  struct State;
  explicit P2PService(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;  // shared with the service's coroutines
};

// Creates <home>/api-token (0600, 32 random bytes as hex) if absent and returns it.
[[nodiscard]] Result<std::string> ensureAdminToken(const std::filesystem::path& home);
[[nodiscard]] Result<std::string> loadAdminToken(const std::filesystem::path& home);

}  // namespace aether::node
