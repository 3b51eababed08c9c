// The pubsub router over Host: GossipSub v1.1/v1.2 (mesh, fanout, gossip, IHAVE/IWANT,
// GRAFT/PRUNE with backoff and peer exchange, IDONTWANT, peer scoring) with FloodSub for peers
// that speak only /floodsub/1.0.0. Single-threaded like the rest of net/ (see net.h).
//
// Streams: one outbound stream per peer (we write RPCs, never read) opened with our protocol
// list; the remote's inbound stream is read until it ends. A peer lives from its connection (or
// first inbound stream) until either stream fails.
#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <cmath>
#include <deque>
#include <random>
#include <set>
#include <unordered_map>

#include "net/asio_util.h"
#include "net/internal.h"
#include "net/net.h"

namespace aether::net {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

bool isGossip(std::string_view protocol) { return protocol.starts_with("/meshsub/"); }

Bytes delimitRpc(const PubsubRpc& rpc) {
  Bytes body = encodePubsubRpc(rpc);
  Bytes out = varintEncode(body.size());
  append(out, body);
  return out;
}

std::uint64_t beU64(ByteView b) {
  std::uint64_t v = 0;
  for (auto c : b) v = (v << 8) | c;
  return v;
}

struct BytesHash {
  std::size_t operator()(const Bytes& b) const noexcept {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  }
};

// One delimited RPC from the stream; nullopt on a clean EOF before its first byte.
Task<Result<std::optional<Bytes>>> readRpc(Stream& stream, std::size_t max) {
  Bytes len_bytes;
  while (true) {
    std::array<std::uint8_t, 1> b;
    auto n = co_await stream.readSome(b);
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) {
      if (len_bytes.empty()) co_return std::optional<Bytes>{};
      co_return fail(Errc::kTruncated, "pubsub: stream ended inside a length");
    }
    len_bytes.push_back(b[0]);
    if (!(b[0] & 0x80)) break;
    if (len_bytes.size() >= kMaxVarintBytes) co_return fail(Errc::kOverflow, "pubsub: length varint too long");
  }
  auto v = varintDecode(len_bytes);
  if (!v) co_return withContext(v.error(), "pubsub: length");
  if (v->value > max) {
    co_return fail(Errc::kLimitExceeded, "pubsub: RPC of " + std::to_string(v->value) + " bytes (limit " +
                                             std::to_string(max) + ")");
  }
  Bytes body(static_cast<std::size_t>(v->value));
  if (auto st = co_await stream.readExactly(body); !st) co_return std::unexpected(st.error());
  co_return std::optional<Bytes>(std::move(body));
}

}  // namespace

class PubsubImpl : public std::enable_shared_from_this<PubsubImpl> {
 public:
  PubsubImpl(Host& host, const crypto::Ed25519KeyPair& key, crypto::Rng& rng, PubsubOptions options,
             const asio::any_io_executor& ex)
      : host_(host), key_(key), options_(std::move(options)), self_(host.peerId()), heartbeat_timer_(ex) {
    std::array<std::uint8_t, 16> seed{};
    rng.fill(seed);
    prng_.seed(beU64(ByteView(seed).first(8)));
    // Sequence numbers start at a random point so a restarted node does not reuse ids.
    seqno_ = beU64(ByteView(seed).subspan(8, 8)) >> 1;
  }

  struct TopicScore {
    std::optional<SteadyClock::time_point> mesh_since;
    double first_deliveries = 0;
    double invalid = 0;
  };

  struct Peer {
    explicit Peer(PeerId peer) : id(std::move(peer)) {}
    PeerId id;
    std::optional<Connection> conn;
    std::string protocol;  // what the remote accepted for our outbound stream (or its inbound's)
    bool outbound = false;  // we dialed the connection
    std::string ip;         // for P6
    std::set<std::string, std::less<>> topics;
    std::deque<Bytes> queue;
    std::size_t queued_bytes = 0;
    std::optional<Signal> wake;
    bool writer_started = false;
    bool dead = false;
    std::uint64_t inbound_gen = 0;
    std::map<Bytes, std::uint64_t> dont_want;  // id -> heartbeat tick it arrived
    std::map<std::string, TopicScore, std::less<>> topic_score;
    double behaviour_penalty = 0;
    std::size_t ihaves_this_tick = 0, iasked_this_tick = 0;
    std::map<std::string, SteadyClock::time_point, std::less<>> backoff;  // per topic
    // Control waiting for the next heartbeat flush (or piggybacked on the next RPC).
    PubsubControl pending;
    bool gossip() const { return isGossip(protocol); }
    bool v12() const { return protocol == kMeshsub12Protocol; }
  };

  struct Cached {
    PubsubWireMessage msg;
    std::size_t size = 0;
    std::map<PeerId, std::size_t> served;  // IWANT answers per peer
  };

  Host& host_;
  const crypto::Ed25519KeyPair& key_;
  PubsubOptions options_;
  PeerId self_;
  std::mt19937_64 prng_;
  std::uint64_t seqno_ = 0;
  asio::steady_timer heartbeat_timer_;
  bool closed_ = false;
  std::uint64_t tick_ = 0;
  SteadyClock::time_point last_decay_ = SteadyClock::now();

  std::map<PeerId, std::shared_ptr<Peer>> peers_;
  std::map<std::string, PubsubHandler, std::less<>> subs_;
  std::map<std::string, std::set<PeerId>, std::less<>> mesh_;
  std::map<std::string, std::set<PeerId>, std::less<>> fanout_;
  std::map<std::string, SteadyClock::time_point, std::less<>> fanout_last_pub_;
  // The message cache: history windows of ids, newest first.
  std::deque<std::vector<Bytes>> mcache_windows_{std::deque<std::vector<Bytes>>(1)};
  std::unordered_map<Bytes, Cached, BytesHash> mcache_;
  std::unordered_map<Bytes, SteadyClock::time_point, BytesHash> seen_;
  std::deque<std::pair<SteadyClock::time_point, Bytes>> seen_order_;
  PubsubStats stats_;

  // ---- peers ------------------------------------------------------------------------------------

  std::shared_ptr<Peer> ensurePeer(const Connection& conn) {
    const PeerId& id = conn.remotePeer();
    if (id == self_) return nullptr;
    auto it = peers_.find(id);
    if (it != peers_.end() && !it->second->dead) {
      if (!it->second->conn || !it->second->conn->isOpen()) it->second->conn = conn;
      return it->second;
    }
    auto p = std::make_shared<Peer>(id);
    p->conn = conn;
    p->outbound = conn.isInitiator();
    if (auto ra = conn.remoteAddr(); ra && !ra->components().empty()) p->ip = ra->components()[0].valueString();
    p->wake.emplace(heartbeat_timer_.get_executor());
    peers_[id] = p;
    // The hello: every topic we subscribe to.
    PubsubRpc hello;
    for (const auto& [t, h] : subs_) hello.subscriptions.push_back(PubsubSubOpt{true, t});
    if (!hello.empty()) enqueue(*p, hello);
    startWriter(p);
    return p;
  }

  void dropPeer(const std::shared_ptr<Peer>& p, bool disconnect) {
    if (p->dead) return;
    p->dead = true;
    p->queue.clear();
    p->queued_bytes = 0;
    p->wake->notify();
    for (auto& [t, m] : mesh_) m.erase(p->id);
    for (auto& [t, m] : fanout_) m.erase(p->id);
    auto it = peers_.find(p->id);
    if (it != peers_.end() && it->second == p) peers_.erase(it);
    if (disconnect && p->conn) {
      ++stats_.disconnected_peers;
      p->conn->close();
    }
  }

  void startWriter(const std::shared_ptr<Peer>& p) {
    if (p->writer_started) return;
    p->writer_started = true;
    spawn(heartbeat_timer_.get_executor(), writer(shared_from_this(), p));
  }

  static Task<void> writer(std::shared_ptr<PubsubImpl> self, std::shared_ptr<Peer> p) {
    auto stream = co_await p->conn->openStream(std::span<const std::string>(self->options_.protocols));
    if (!stream) {
      // The remote speaks no pubsub protocol of ours (or went away).
      self->dropPeer(p, false);
      co_return;
    }
    p->protocol = stream->protocol();
    while (!p->dead && !self->closed_) {
      if (p->queue.empty()) {
        co_await p->wake->wait();
        continue;
      }
      Bytes out = std::move(p->queue.front());
      p->queue.pop_front();
      p->queued_bytes -= out.size();
      auto st = co_await stream->writeAll(out);
      if (!st) {
        self->dropPeer(p, false);
        co_return;
      }
    }
    stream->reset();
  }

  void enqueue(Peer& p, PubsubRpc rpc) {
    if (p.dead) return;
    // Piggyback pending control on anything that goes out.
    if (p.gossip() && !p.pending.empty()) {
      auto& c = rpc.control;
      for (auto& g : p.pending.graft) c.graft.push_back(std::move(g));
      for (auto& pr : p.pending.prune) c.prune.push_back(std::move(pr));
      for (auto& h : p.pending.ihave) c.ihave.push_back(std::move(h));
      p.pending = PubsubControl{};
    }
    if (!p.gossip() && !p.protocol.empty()) rpc.control = PubsubControl{};  // floodsub: no control
    if (rpc.empty()) return;
    Bytes out = delimitRpc(rpc);
    if (p.queued_bytes + out.size() > options_.max_queued_bytes) {
      ++stats_.dropped_rpcs;
      return;
    }
    p.queued_bytes += out.size();
    p.queue.push_back(std::move(out));
    p.wake->notify();
  }

  // ---- inbound ------------------------------------------------------------------------------

  static Task<void> reader(std::shared_ptr<PubsubImpl> self, Stream stream) {
    Connection conn = stream.connection();
    auto p = self->ensurePeer(conn);
    if (!p) co_return;
    if (p->protocol.empty()) p->protocol = stream.protocol();
    const std::uint64_t gen = ++p->inbound_gen;  // a newer inbound stream replaces this one
    while (!self->closed_ && !p->dead && gen == p->inbound_gen) {
      auto body = co_await readRpc(stream, kPubsubMaxRpc);
      if (!body) {
        if (body.error().code == Errc::kIo) {  // the connection or stream went away
          self->dropPeer(p, false);
          co_return;
        }
        ++self->stats_.malformed_rpcs;
        p->behaviour_penalty += 1;
        stream.reset();
        self->dropPeer(p, true);
        co_return;
      }
      if (!*body) break;  // the remote closed its sending side
      auto rpc = decodePubsubRpc(**body);
      if (!rpc) {
        ++self->stats_.malformed_rpcs;
        p->behaviour_penalty += 1;
        stream.reset();
        self->dropPeer(p, true);
        co_return;
      }
      if (self->scoreOf(*p) < self->options_.graylist_threshold) {
        ++self->stats_.ignored_graylisted;
        continue;
      }
      self->handleRpc(p, std::move(*rpc));
    }
  }

  void handleRpc(const std::shared_ptr<Peer>& p, PubsubRpc rpc) {
    for (auto& s : rpc.subscriptions) {
      if (s.subscribe) {
        if (p->topics.size() >= options_.max_topics_per_peer && !p->topics.contains(s.topic)) {
          p->behaviour_penalty += 1;
          continue;
        }
        p->topics.insert(s.topic);
      } else {
        p->topics.erase(s.topic);
        if (auto m = mesh_.find(s.topic); m != mesh_.end()) leaveMesh(*p, s.topic, m->second);
        if (auto f = fanout_.find(s.topic); f != fanout_.end()) f->second.erase(p->id);
      }
    }
    for (auto& m : rpc.publish) handleMessage(p, std::move(m));
    if (p->gossip() && !rpc.control.empty()) handleControl(p, rpc.control);
  }

  void handleMessage(const std::shared_ptr<Peer>& p, PubsubWireMessage m) {
    const std::string& topic = *m.topic;
    if (!subs_.contains(topic)) return;  // not ours: neither delivered nor relayed
    Bytes id = pubsubMessageId(m);
    if (seen_.contains(id)) {
      ++stats_.duplicates;
      return;
    }
    auto author = verifyPubsubMessage(m);
    if (!author) {
      ++stats_.invalid_signatures;
      p->topic_score[topic].invalid += 1;
      return;
    }
    if (*author == self_) return;  // our own, looped back
    markSeen(id);
    auto& ts = p->topic_score[topic];
    ts.first_deliveries = std::min(ts.first_deliveries + 1, options_.score.first_deliveries_cap);
    const std::size_t size = m.data ? m.data->size() : 0;
    if (size >= options_.idontwant_min_size) sendIDontWant(topic, id, p->id);
    cache(id, m);
    deliver(m, *author, id, p->id);
    forward(m, id, p->id, *author, size);
  }

  void sendIDontWant(const std::string& topic, const Bytes& id, const PeerId& from) {
    auto mit = mesh_.find(topic);
    if (mit == mesh_.end()) return;
    for (const auto& pid : mit->second) {
      if (pid == from) continue;
      auto it = peers_.find(pid);
      if (it == peers_.end() || !it->second->v12()) continue;
      PubsubRpc rpc;
      rpc.control.idontwant.push_back(id);
      enqueue(*it->second, std::move(rpc));
    }
  }

  void deliver(const PubsubWireMessage& m, const PeerId& author, const Bytes& id, const PeerId& from) {
    auto it = subs_.find(*m.topic);
    if (it == subs_.end() || !it->second) return;
    ++stats_.delivered;
    PubsubMessage out{*m.topic, m.data.value_or(Bytes{}), author, beU64(*m.seqno), id, from};
    auto handler = it->second;  // the handler may unsubscribe
    handler(out);
  }

  void forward(const PubsubWireMessage& m, const Bytes& id, const std::optional<PeerId>& from, const PeerId& author,
               std::size_t /*size*/) {
    const std::string& topic = *m.topic;
    std::set<PeerId> targets;
    for (const auto& [pid, p] : peers_) {
      if (!p->gossip() && !p->protocol.empty() && p->topics.contains(topic)) targets.insert(pid);  // floodsub
    }
    if (auto mit = mesh_.find(topic); mit != mesh_.end()) targets.insert(mit->second.begin(), mit->second.end());
    PubsubRpc rpc;
    rpc.publish.push_back(m);
    for (const auto& pid : targets) {
      if ((from && pid == *from) || pid == author) continue;
      auto it = peers_.find(pid);
      if (it == peers_.end()) continue;
      if (it->second->dont_want.contains(id)) continue;
      ++stats_.forwarded;
      enqueue(*it->second, rpc);
    }
  }

  void markSeen(const Bytes& id) {
    auto now = SteadyClock::now();
    seen_[id] = now;
    seen_order_.emplace_back(now, id);
  }

  void cache(const Bytes& id, const PubsubWireMessage& m) {
    if (mcache_.contains(id)) return;
    mcache_windows_.front().push_back(id);
    mcache_.emplace(id, Cached{m, m.data ? m.data->size() : 0, {}});
  }

  void handleControl(const std::shared_ptr<Peer>& p, const PubsubControl& c) {
    const double score = scoreOf(*p);
    PubsubRpc reply;
    // IHAVE -> IWANT for what we have not seen (within the per-heartbeat budget).
    if (score >= options_.gossip_threshold) {
      for (const auto& h : c.ihave) {
        if (!mesh_.contains(h.topic)) continue;
        if (++p->ihaves_this_tick > options_.max_ihave_messages) break;
        for (const auto& id : h.ids) {
          if (p->iasked_this_tick >= options_.max_ihave_length) break;
          if (seen_.contains(id)) continue;
          ++p->iasked_this_tick;
          reply.control.iwant.push_back(id);
        }
      }
      // IWANT -> the cached messages (each at most gossip_retransmission times per peer).
      for (const auto& id : c.iwant) {
        auto it = mcache_.find(id);
        if (it == mcache_.end()) continue;
        auto& n = it->second.served[p->id];
        if (n >= options_.gossip_retransmission) continue;
        ++n;
        ++stats_.iwant_served;
        reply.publish.push_back(it->second.msg);
      }
    }
    // GRAFT
    const auto now = SteadyClock::now();
    for (const auto& topic : c.graft) {
      auto mit = mesh_.find(topic);
      if (mit == mesh_.end()) {
        reply.control.prune.push_back(PubsubPrune{topic, {}, std::nullopt});  // no PX for unknown topics
        continue;
      }
      if (mit->second.contains(p->id)) continue;
      if (auto b = p->backoff.find(topic); b != p->backoff.end() && b->second > now) {
        p->behaviour_penalty += 1;  // GRAFT during backoff
        if (b->second - now > options_.prune_backoff - options_.graft_flood_threshold) p->behaviour_penalty += 1;
        reply.control.prune.push_back(makePrune(*p, topic, false));
        continue;
      }
      if (score < 0 || (mit->second.size() >= options_.d_hi && !p->outbound)) {
        reply.control.prune.push_back(makePrune(*p, topic, score >= 0));
        continue;
      }
      joinMesh(*p, topic, mit->second);
    }
    // PRUNE
    for (const auto& pr : c.prune) {
      auto mit = mesh_.find(pr.topic);
      if (mit != mesh_.end()) leaveMesh(*p, pr.topic, mit->second);
      const auto secs = pr.backoff ? std::chrono::seconds(std::min<std::uint64_t>(*pr.backoff, 24 * 3600))
                                   : options_.prune_backoff;
      p->backoff[pr.topic] = now + secs;
      if (!pr.px.empty() && score >= options_.accept_px_threshold) exchangePeers(pr.px);
    }
    // IDONTWANT (v1.2)
    if (p->v12()) {
      for (const auto& id : c.idontwant) {
        if (p->dont_want.size() >= options_.max_idontwant) break;
        p->dont_want.emplace(id, tick_);
      }
    }
    if (!reply.empty()) enqueue(*p, std::move(reply));
  }

  PubsubPrune makePrune(Peer& p, const std::string& topic, bool with_px) {
    p.backoff[topic] = SteadyClock::now() + options_.prune_backoff;
    PubsubPrune pr{topic, {}, static_cast<std::uint64_t>(options_.prune_backoff.count())};
    if (with_px && p.protocol != kMeshsub10Protocol) {
      std::vector<PeerId> cands;
      for (const auto& [pid, q] : peers_) {
        if (pid != p.id && q->topics.contains(topic) && scoreOf(*q) >= 0) cands.push_back(pid);
      }
      std::shuffle(cands.begin(), cands.end(), prng_);
      for (std::size_t i = 0; i < cands.size() && i < options_.px_peers; ++i) pr.px.push_back(cands[i].multihash().encode());
    }
    return pr;
  }

  // PX: connect to offered peers we have addresses for (from identify).
  void exchangePeers(const std::vector<Bytes>& px) {
    std::size_t started = 0;
    for (const auto& raw : px) {
      if (started >= options_.px_peers) break;
      auto mh = codec::Multihash::decode(raw);
      if (!mh) continue;
      auto id = PeerId::fromMultihash(std::move(*mh));
      if (!id || *id == self_ || peers_.contains(*id)) continue;
      auto info = host_.peerInfo(*id);
      if (!info || info->listen_addrs.empty()) continue;
      ++started;
      spawn(heartbeat_timer_.get_executor(),
            [](std::shared_ptr<PubsubImpl> self, PeerId peer, std::vector<codec::Multiaddr> addrs) -> Task<void> {
              auto c = co_await self->host_.connect(peer, std::move(addrs));
              if (c && !self->closed_) self->ensurePeer(*c);
            }(shared_from_this(), *id, info->listen_addrs));
    }
  }

  void joinMesh(Peer& p, const std::string& topic, std::set<PeerId>& mesh) {
    mesh.insert(p.id);
    p.topic_score[topic].mesh_since = SteadyClock::now();
  }

  void leaveMesh(Peer& p, const std::string& topic, std::set<PeerId>& mesh) {
    if (mesh.erase(p.id) == 0) return;
    p.topic_score[topic].mesh_since.reset();
  }

  // ---- scoring --------------------------------------------------------------------------------

  double scoreOf(const Peer& p) const {
    const auto& sp = options_.score;
    const auto now = SteadyClock::now();
    double topics = 0;
    for (const auto& [t, ts] : p.topic_score) {
      double s = 0;
      if (ts.mesh_since) {
        double secs = std::chrono::duration<double>(now - *ts.mesh_since).count();
        s += sp.time_in_mesh_weight * std::min(secs, sp.time_in_mesh_cap);
      }
      s += sp.first_deliveries_weight * ts.first_deliveries;
      s += sp.invalid_messages_weight * ts.invalid * ts.invalid;
      topics += sp.topic_weight * s;
    }
    double score = topics;
    if (!p.ip.empty() && !(sp.ip_colocation_ignores_loopback && p.ip.starts_with("127."))) {
      std::size_t same = 0;
      for (const auto& [pid, q] : peers_) same += q->ip == p.ip ? 1 : 0;
      if (same > sp.ip_colocation_threshold) {
        double surplus = static_cast<double>(same - sp.ip_colocation_threshold);
        score += sp.ip_colocation_weight * surplus * surplus;
      }
    }
    score += sp.behaviour_penalty_weight * p.behaviour_penalty * p.behaviour_penalty;
    return score;
  }

  void decayScores() {
    const auto& sp = options_.score;
    auto decay = [&](double& v, double f) {
      v *= f;
      if (v < sp.decay_to_zero) v = 0;
    };
    for (auto& [pid, p] : peers_) {
      for (auto& [t, ts] : p->topic_score) {
        decay(ts.first_deliveries, sp.first_deliveries_decay);
        decay(ts.invalid, sp.invalid_messages_decay);
      }
      decay(p->behaviour_penalty, sp.behaviour_penalty_decay);
    }
  }

  // ---- heartbeat ----------------------------------------------------------------------------

  static Task<void> heartbeatLoop(std::shared_ptr<PubsubImpl> self) {
    while (!self->closed_) {
      self->heartbeat_timer_.expires_after(self->options_.heartbeat);
      boost::system::error_code ec;
      co_await self->heartbeat_timer_.async_wait(awaitableWith(ec));
      if (self->closed_) break;
      self->heartbeat();
    }
  }

  std::vector<PeerId> candidates(const std::string& topic, const std::set<PeerId>& exclude, double min_score,
                                 bool respect_backoff) {
    std::vector<PeerId> out;
    const auto now = SteadyClock::now();
    for (const auto& [pid, p] : peers_) {
      if (!p->gossip() || !p->topics.contains(topic) || exclude.contains(pid)) continue;
      if (respect_backoff) {
        if (auto b = p->backoff.find(topic); b != p->backoff.end() && b->second > now) continue;
      }
      if (scoreOf(*p) < min_score) continue;
      out.push_back(pid);
    }
    std::shuffle(out.begin(), out.end(), prng_);
    return out;
  }

  void heartbeat() {
    ++tick_;
    const auto now = SteadyClock::now();
    if (now - last_decay_ >= options_.score.decay_interval) {
      decayScores();
      last_decay_ = now;
    }
    std::map<PeerId, std::vector<std::string>> grafts;
    std::map<PeerId, std::vector<PubsubPrune>> prunes;
    for (auto& [pid, p] : std::map<PeerId, std::shared_ptr<Peer>>(peers_)) {
      if (!p->conn || !p->conn->isOpen()) dropPeer(p, false);
    }

    for (auto& [topic, mesh] : mesh_) {
      // Drop peers that went negative.
      for (auto it = mesh.begin(); it != mesh.end();) {
        auto p = peers_.find(*it);
        if (p == peers_.end()) {
          it = mesh.erase(it);
          continue;
        }
        if (scoreOf(*p->second) < 0) {
          p->second->topic_score[topic].mesh_since.reset();
          prunes[*it].push_back(makePrune(*p->second, topic, false));
          it = mesh.erase(it);
          continue;
        }
        ++it;
      }
      if (mesh.size() < options_.d_lo) {
        for (const auto& pid : candidates(topic, mesh, 0, true)) {
          if (mesh.size() >= options_.d) break;
          joinMesh(*peers_[pid], topic, mesh);
          grafts[pid].push_back(topic);
        }
      }
      if (mesh.size() > options_.d_hi) {
        std::vector<PeerId> members(mesh.begin(), mesh.end());
        std::shuffle(members.begin(), members.end(), prng_);
        std::stable_sort(members.begin(), members.end(), [&](const PeerId& a, const PeerId& b) {
          return scoreOf(*peers_[a]) > scoreOf(*peers_[b]);
        });
        std::shuffle(members.begin() + static_cast<std::ptrdiff_t>(options_.d_score), members.end(), prng_);
        std::vector<PeerId> keep(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(options_.d));
        // Keep at least d_out outbound peers.
        std::size_t out = std::count_if(keep.begin(), keep.end(), [&](const PeerId& id) { return peers_[id]->outbound; });
        for (auto it = members.begin() + static_cast<std::ptrdiff_t>(options_.d); it != members.end() && out < options_.d_out; ++it) {
          if (!peers_[*it]->outbound) continue;
          for (auto k = keep.rbegin(); k != keep.rend(); ++k) {
            if (!peers_[*k]->outbound && std::distance(k, keep.rend()) > static_cast<std::ptrdiff_t>(options_.d_score)) {
              *k = *it;
              ++out;
              break;
            }
          }
        }
        std::set<PeerId> keep_set(keep.begin(), keep.end());
        for (const auto& pid : members) {
          if (keep_set.contains(pid)) continue;
          leaveMesh(*peers_[pid], topic, mesh);
          prunes[pid].push_back(makePrune(*peers_[pid], topic, true));
        }
      }
      // Opportunistic grafting when the mesh's median score is low.
      if (options_.opportunistic_graft_ticks && tick_ % options_.opportunistic_graft_ticks == 0 && mesh.size() > 1) {
        std::vector<double> scores;
        for (const auto& pid : mesh) scores.push_back(scoreOf(*peers_[pid]));
        std::nth_element(scores.begin(), scores.begin() + scores.size() / 2, scores.end());
        const double median = scores[scores.size() / 2];
        if (median < options_.opportunistic_graft_threshold) {
          std::size_t added = 0;
          for (const auto& pid : candidates(topic, mesh, median, true)) {
            if (added >= options_.opportunistic_graft_peers) break;
            if (scoreOf(*peers_[pid]) <= median) continue;
            joinMesh(*peers_[pid], topic, mesh);
            grafts[pid].push_back(topic);
            ++added;
          }
        }
      }
    }

    // Fanout: expire, drop departed peers, refill.
    for (auto it = fanout_.begin(); it != fanout_.end();) {
      if (now - fanout_last_pub_[it->first] > options_.fanout_ttl) {
        fanout_last_pub_.erase(it->first);
        it = fanout_.erase(it);
        continue;
      }
      auto& set = it->second;
      std::erase_if(set, [&](const PeerId& id) {
        auto p = peers_.find(id);
        return p == peers_.end() || !p->second->topics.contains(it->first) ||
               scoreOf(*p->second) < options_.publish_threshold;
      });
      if (set.size() < options_.d) {
        for (const auto& pid : candidates(it->first, set, options_.publish_threshold, false)) {
          if (set.size() >= options_.d) break;
          set.insert(pid);
        }
      }
      ++it;
    }

    // Gossip: IHAVE the recent window to a few peers outside the mesh/fanout.
    std::map<PeerId, std::vector<PubsubIHave>> ihaves;
    auto gossipTopic = [&](const std::string& topic, const std::set<PeerId>& exclude) {
      std::vector<Bytes> ids;
      for (std::size_t w = 0; w < mcache_windows_.size() && w < options_.history_gossip; ++w) {
        for (const auto& id : mcache_windows_[w]) {
          auto c = mcache_.find(id);
          if (c != mcache_.end() && *c->second.msg.topic == topic) ids.push_back(id);
        }
      }
      if (ids.empty()) return;
      auto cands = candidates(topic, exclude, options_.gossip_threshold, false);
      std::size_t n = std::max(options_.d_lazy, static_cast<std::size_t>(options_.gossip_factor * cands.size()));
      std::shuffle(ids.begin(), ids.end(), prng_);
      if (ids.size() > options_.max_ihave_length) ids.resize(options_.max_ihave_length);
      for (std::size_t i = 0; i < cands.size() && i < n; ++i) ihaves[cands[i]].push_back(PubsubIHave{topic, ids});
    };
    for (const auto& [topic, mesh] : mesh_) gossipTopic(topic, mesh);
    for (const auto& [topic, set] : fanout_) gossipTopic(topic, set);

    // Flush control: one RPC per peer.
    std::set<PeerId> touched;
    for (auto& [pid, g] : grafts) touched.insert(pid);
    for (auto& [pid, g] : prunes) touched.insert(pid);
    for (auto& [pid, g] : ihaves) touched.insert(pid);
    for (const auto& pid : touched) {
      auto it = peers_.find(pid);
      if (it == peers_.end()) continue;
      PubsubRpc rpc;
      if (auto g = grafts.find(pid); g != grafts.end()) rpc.control.graft = std::move(g->second);
      if (auto pr = prunes.find(pid); pr != prunes.end()) rpc.control.prune = std::move(pr->second);
      if (auto h = ihaves.find(pid); h != ihaves.end()) {
        stats_.ihave_sent += h->second.size();
        rpc.control.ihave = std::move(h->second);
      }
      enqueue(*it->second, std::move(rpc));
    }

    // Shift the message cache.
    mcache_windows_.emplace_front();
    while (mcache_windows_.size() > options_.history_length) {
      for (const auto& id : mcache_windows_.back()) mcache_.erase(id);
      mcache_windows_.pop_back();
    }
    // Expire the seen cache, backoffs, per-heartbeat budgets and IDONTWANTs.
    while (!seen_order_.empty() && now - seen_order_.front().first > options_.seen_ttl) {
      auto it = seen_.find(seen_order_.front().second);
      if (it != seen_.end() && it->second == seen_order_.front().first) seen_.erase(it);
      seen_order_.pop_front();
    }
    for (auto& [pid, p] : peers_) {
      std::erase_if(p->backoff, [&](const auto& kv) { return kv.second <= now; });
      p->ihaves_this_tick = 0;
      p->iasked_this_tick = 0;
      std::erase_if(p->dont_want, [&](const auto& kv) { return kv.second + 3 < tick_; });
    }
  }

  // ---- API ------------------------------------------------------------------------------------

  Status subscribe(std::string topic, PubsubHandler handler) {
    if (closed_) return fail(Errc::kInvalidArgument, "pubsub: closed");
    if (topic.empty() || topic.size() > kPubsubMaxTopic || !validProtocolText(asBytes(topic))) {
      return fail(Errc::kInvalidArgument, "pubsub: a topic is 1.." + std::to_string(kPubsubMaxTopic) + " bytes of printable UTF-8");
    }
    if (subs_.contains(topic)) return fail(Errc::kInvalidArgument, "pubsub: already subscribed to " + topic);
    subs_.emplace(topic, std::move(handler));
    PubsubRpc announce;
    announce.subscriptions.push_back(PubsubSubOpt{true, topic});
    for (auto& [pid, p] : peers_) enqueue(*p, announce);
    // Join: start from the fanout peers, then fill up to D.
    auto& mesh = mesh_[topic];
    if (auto f = fanout_.find(topic); f != fanout_.end()) {
      for (const auto& pid : f->second) {
        if (mesh.size() >= options_.d) break;
        if (peers_.contains(pid) && scoreOf(*peers_[pid]) >= 0) mesh.insert(pid);
      }
      fanout_.erase(f);
      fanout_last_pub_.erase(topic);
    }
    for (const auto& pid : candidates(topic, mesh, 0, true)) {
      if (mesh.size() >= options_.d) break;
      mesh.insert(pid);
    }
    for (const auto& pid : mesh) {
      joinMesh(*peers_[pid], topic, mesh);
      PubsubRpc graft;
      graft.control.graft.push_back(topic);
      enqueue(*peers_[pid], std::move(graft));
    }
    return {};
  }

  Status unsubscribe(std::string_view topic) {
    auto it = subs_.find(topic);
    if (it == subs_.end()) return fail(Errc::kNotFound, "pubsub: not subscribed to " + std::string(topic));
    std::string t = it->first;
    subs_.erase(it);
    PubsubRpc announce;
    announce.subscriptions.push_back(PubsubSubOpt{false, t});
    if (auto m = mesh_.find(t); m != mesh_.end()) {
      for (const auto& pid : std::set<PeerId>(m->second)) {
        auto& p = *peers_[pid];
        leaveMesh(p, t, m->second);
        PubsubRpc prune;
        prune.control.prune.push_back(makePrune(p, t, true));
        enqueue(p, std::move(prune));
      }
      mesh_.erase(m);
    }
    for (auto& [pid, p] : peers_) enqueue(*p, announce);
    return {};
  }

  Result<Bytes> publish(std::string_view topic, ByteView data) {
    if (closed_) return fail(Errc::kInvalidArgument, "pubsub: closed");
    if (topic.empty() || topic.size() > kPubsubMaxTopic || !validProtocolText(asBytes(topic))) {
      return fail(Errc::kInvalidArgument, "pubsub: bad topic");
    }
    if (data.size() + 1024 > kPubsubMaxRpc) return fail(Errc::kLimitExceeded, "pubsub: message larger than 1 MiB");
    PubsubWireMessage m;
    m.data.emplace(data.begin(), data.end());
    Bytes seq(8);
    const std::uint64_t n = ++seqno_;
    for (int i = 0; i < 8; ++i) seq[7 - i] = static_cast<std::uint8_t>(n >> (8 * i));
    m.seqno = std::move(seq);
    m.topic = std::string(topic);
    signPubsubMessage(m, key_);
    Bytes id = pubsubMessageId(m);
    markSeen(id);
    cache(id, m);
    ++stats_.published;
    deliver(m, self_, id, self_);

    std::set<PeerId> targets;
    const std::string t(topic);
    for (const auto& [pid, p] : peers_) {
      if (!p->topics.contains(t)) continue;
      if (!p->gossip() && !p->protocol.empty()) {
        targets.insert(pid);  // floodsub peers get everything
      } else if (options_.flood_publish && scoreOf(*p) >= options_.publish_threshold) {
        targets.insert(pid);
      }
    }
    if (!options_.flood_publish) {
      if (auto mit = mesh_.find(t); mit != mesh_.end()) {
        targets.insert(mit->second.begin(), mit->second.end());
      } else {
        auto& f = fanout_[t];
        if (f.empty()) {
          for (const auto& pid : candidates(t, f, options_.publish_threshold, false)) {
            if (f.size() >= options_.d) break;
            f.insert(pid);
          }
        }
        targets.insert(f.begin(), f.end());
      }
    }
    fanout_last_pub_[t] = SteadyClock::now();
    PubsubRpc rpc;
    rpc.publish.push_back(std::move(m));
    for (const auto& pid : targets) enqueue(*peers_[pid], rpc);
    return id;
  }
};

Pubsub::Pubsub(Host& host, const crypto::Ed25519KeyPair& key, crypto::Rng& rng, PubsubOptions options) {
  // The executor is the io_context the host runs on; the heartbeat timer lives there.
  auto& io = host.ioContext();
  impl_ = std::make_shared<PubsubImpl>(host, key, rng, std::move(options), io.get_executor());
  std::weak_ptr<PubsubImpl> weak = impl_;
  for (const auto& protocol : impl_->options_.protocols) {
    host.setStreamHandler(protocol, [weak](Stream s) -> Task<void> {
      auto self = weak.lock();
      if (!self || self->closed_) co_return;
      co_await PubsubImpl::reader(self, std::move(s));
    });
  }
  host.addConnectionObserver([weak](Connection c) {
    if (auto self = weak.lock(); self && !self->closed_) self->ensurePeer(c);
  });
  spawn(io.get_executor(), PubsubImpl::heartbeatLoop(impl_));
}

Pubsub::~Pubsub() { close(); }

void Pubsub::close() {
  if (!impl_ || impl_->closed_) return;
  impl_->closed_ = true;
  impl_->heartbeat_timer_.cancel();
  for (auto& [pid, p] : std::map<PeerId, std::shared_ptr<PubsubImpl::Peer>>(impl_->peers_)) impl_->dropPeer(p, false);
}

Status Pubsub::subscribe(std::string topic, PubsubHandler handler) { return impl_->subscribe(std::move(topic), std::move(handler)); }
Status Pubsub::unsubscribe(std::string_view topic) { return impl_->unsubscribe(topic); }
Result<Bytes> Pubsub::publish(std::string_view topic, ByteView data) { return impl_->publish(topic, data); }
void Pubsub::addPeer(Connection conn) {
  if (!impl_->closed_) impl_->ensurePeer(conn);
}

std::vector<PeerId> Pubsub::peers(std::string_view topic) const {
  std::vector<PeerId> out;
  for (const auto& [pid, p] : impl_->peers_) {
    if (p->protocol.empty()) continue;
    if (topic.empty() || p->topics.contains(topic)) out.push_back(pid);
  }
  return out;
}

std::vector<PeerId> Pubsub::meshPeers(std::string_view topic) const {
  auto it = impl_->mesh_.find(topic);
  if (it == impl_->mesh_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<std::string> Pubsub::topics() const {
  std::vector<std::string> out;
  for (const auto& [t, h] : impl_->subs_) out.push_back(t);
  return out;
}

std::optional<double> Pubsub::score(const PeerId& peer) const {
  auto it = impl_->peers_.find(peer);
  if (it == impl_->peers_.end()) return std::nullopt;
  return impl_->scoreOf(*it->second);
}

PubsubStats Pubsub::stats() const { return impl_->stats_; }

}  // namespace aether::net
