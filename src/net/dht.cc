// The Kademlia DHT over Host: the /ipfs/kad/1.0.0 server, iterative lookups, records, providers.
// Single-threaded like the rest of net/ (see net.h); lookups run their alpha RPCs as spawned
// coroutines that report into a shared state and wake the lookup through a Signal.
#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <set>

#include "net/asio_util.h"
#include "net/internal.h"
#include "net/net.h"

namespace aether::net {

namespace asio = boost::asio;

namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t nowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now().time_since_epoch()).count();
}

Bytes delimit(const Bytes& body) {
  Bytes out = varintEncode(body.size());
  append(out, body);
  return out;
}

// One delimited message; nullopt on a clean EOF before its first byte.
Task<Result<std::optional<KadMessage>>> readKadMessage(Stream& stream) {
  Bytes len_bytes;
  std::uint64_t len = 0;
  while (true) {
    std::array<std::uint8_t, 1> b;
    auto n = co_await stream.readSome(b);
    if (!n) co_return std::unexpected(n.error());
    if (*n == 0) {
      if (len_bytes.empty()) co_return std::optional<KadMessage>{};
      co_return fail(Errc::kTruncated, "kad: stream ended inside a length");
    }
    len_bytes.push_back(b[0]);
    if (!(b[0] & 0x80)) break;
    if (len_bytes.size() >= kMaxVarintBytes) co_return fail(Errc::kOverflow, "kad: length varint too long");
  }
  auto v = varintDecode(len_bytes);
  if (!v) co_return withContext(v.error(), "kad: length");
  len = v->value;
  if (len > kKadMaxMessage) {
    co_return fail(Errc::kLimitExceeded, "kad: message of " + std::to_string(len) + " bytes (limit " +
                                             std::to_string(kKadMaxMessage) + ")");
  }
  Bytes body(static_cast<std::size_t>(len));
  if (auto st = co_await stream.readExactly(body); !st) co_return std::unexpected(st.error());
  auto m = decodeKadMessage(body);
  if (!m) co_return std::unexpected(m.error());
  co_return std::optional<KadMessage>(std::move(*m));
}

std::optional<DhtPeer> toDhtPeer(const KadWirePeer& w) {
  auto mh = codec::Multihash::decode(w.id);
  if (!mh) return std::nullopt;
  auto id = PeerId::fromMultihash(std::move(*mh));
  if (!id) return std::nullopt;
  DhtPeer p{*id, {}};
  for (const Bytes& a : w.addrs) {
    auto ma = codec::Multiaddr::fromBytes(a);
    if (!ma) continue;
    const auto& c = ma->components();
    // Only what we can dial: /ip4|ip6/../tcp/.. (a trailing /p2p/ is dropped).
    if (c.size() >= 2 && (c[0].code == codec::mc::kIp4 || c[0].code == codec::mc::kIp6) && c[1].code == codec::mc::kTcp &&
        (c.size() == 2 || (c.size() == 3 && c[2].code == codec::mc::kP2p))) {
      std::vector<codec::Multiaddr::Component> parts(c.begin(), c.begin() + 2);
      if (auto bare = codec::Multiaddr::fromComponents(std::move(parts))) p.addrs.push_back(std::move(*bare));
    }
  }
  return p;
}

KadWirePeer toWire(const PeerId& id, const std::vector<Bytes>& addrs) {
  return KadWirePeer{id.multihash().encode(), addrs, 0};
}

std::vector<Bytes> addrBytes(const std::vector<codec::Multiaddr>& addrs) {
  std::vector<Bytes> out;
  for (const auto& a : addrs) out.push_back(a.bytes());
  return out;
}

std::string_view keyNamespace(std::string_view key) {
  if (key.size() < 2 || key[0] != '/') return {};
  auto end = key.find('/', 1);
  if (end == std::string_view::npos) return {};
  return key.substr(1, end - 1);
}

}  // namespace

class DhtImpl : public std::enable_shared_from_this<DhtImpl> {
 public:
  DhtImpl(Host& host, DhtOptions options)
      : host_(host), options_(std::move(options)), rt_(host.peerId(), options_.k) {}

  struct StoredRecord {
    Bytes value;
    std::int64_t expires = 0;
  };
  struct Provider {
    std::vector<Bytes> addrs;
    std::int64_t expires = 0;
  };

  Host& host_;
  DhtOptions options_;
  RoutingTable rt_;
  std::map<std::string, Bytes, std::less<>> own_records_;  // republished
  std::set<Bytes> own_provides_;                          // reprovided
  bool republisher_started_ = false;
  bool stopped_ = false;                              // the Dht object is gone
  asio::steady_timer* republish_wait_ = nullptr;      // the loop's pending wait (cancelled by ~Dht)
  std::uint64_t republish_rounds_ = 0;
  std::map<std::string, StoredRecord, std::less<>> records_;
  std::map<Bytes, std::map<PeerId, Provider>> providers_;

  Status validate(std::string_view key, ByteView value) const {
    auto ns = keyNamespace(key);
    auto it = options_.validators.find(ns);
    if (ns.empty() || it == options_.validators.end()) {
      return fail(Errc::kUnsupported, "dht: no validator for the namespace of key " + std::string(key.substr(0, 64)));
    }
    return it->second.validate(key, value);
  }

  // Stores if valid and better than what we hold.
  Status storeRecord(std::string_view key, ByteView value) {
    AE_TRY(validate(key, value));
    auto it = records_.find(key);
    const std::int64_t expires = nowSeconds() + options_.record_ttl.count();
    if (it != records_.end() && it->second.expires > nowSeconds()) {
      std::vector<Bytes> both{it->second.value, Bytes(value.begin(), value.end())};
      const auto& sel = options_.validators.find(keyNamespace(key))->second.select;
      if (sel && sel(key, both) == 0) return {};  // ours is at least as good
      it->second = StoredRecord{Bytes(value.begin(), value.end()), expires};
      return {};
    }
    if (it == records_.end() && records_.size() >= options_.max_records) {
      std::erase_if(records_, [](const auto& kv) { return kv.second.expires <= nowSeconds(); });
      if (records_.size() >= options_.max_records) return fail(Errc::kLimitExceeded, "dht: record store full");
    }
    records_.insert_or_assign(std::string(key), StoredRecord{Bytes(value.begin(), value.end()), expires});
    return {};
  }

  std::optional<Bytes> localRecord(std::string_view key) {
    auto it = records_.find(key);
    if (it == records_.end()) return std::nullopt;
    if (it->second.expires <= nowSeconds()) {
      records_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  void addProvider(const Bytes& key, const PeerId& peer, std::vector<Bytes> addrs) {
    const std::int64_t now = nowSeconds();
    auto it = providers_.find(key);
    if (it == providers_.end()) {
      if (providers_.size() >= options_.max_provider_keys) {
        for (auto k = providers_.begin(); k != providers_.end();) {
          std::erase_if(k->second, [now](const auto& p) { return p.second.expires <= now; });
          k = k->second.empty() ? providers_.erase(k) : std::next(k);
        }
        if (providers_.size() >= options_.max_provider_keys) return;
      }
      it = providers_.emplace(key, std::map<PeerId, Provider>{}).first;
    }
    auto& set = it->second;
    std::erase_if(set, [now](const auto& p) { return p.second.expires <= now; });
    if (!set.contains(peer) && set.size() >= options_.max_providers_per_key) return;
    set.insert_or_assign(peer, Provider{std::move(addrs), now + options_.provider_ttl.count()});
  }

  std::vector<KadWirePeer> closerPeers(ByteView key, const PeerId* exclude) const {
    std::vector<KadWirePeer> out;
    for (const auto& e : rt_.closest(kadKey(key), options_.k)) {
      if (exclude && e.peer == *exclude) continue;
      out.push_back(toWire(e.peer, e.addrs));
    }
    return out;
  }

  std::vector<Bytes> ourAddrs() const { return addrBytes(host_.listenAddrs()); }

  Task<Result<std::size_t>> sendRecord(std::string key, Bytes value);
  Task<Result<std::size_t>> announce(Bytes key);
  void startRepublisher();

  // The server side of one request; nullopt = no response (ADD_PROVIDER).
  std::optional<KadMessage> handle(const PeerId& from, const KadMessage& req) {
    KadMessage resp;
    resp.type = req.type;
    resp.key = req.key;
    switch (req.type) {
      case KadType::kFindNode: {
        resp.closer = closerPeers(req.key, &from);
        auto mh = codec::Multihash::decode(req.key);
        if (mh) {
          if (auto id = PeerId::fromMultihash(std::move(*mh)); id && *id == host_.peerId()) {
            resp.closer.insert(resp.closer.begin(), toWire(*id, ourAddrs()));
          }
        }
        return resp;
      }
      case KadType::kGetValue: {
        std::string key(asChars(req.key));
        if (auto v = localRecord(key)) resp.record = KadRecord{req.key, *v, ""};
        resp.closer = closerPeers(req.key, &from);
        return resp;
      }
      case KadType::kPutValue: {
        if (!req.record || req.record->key != req.key) return std::nullopt;  // reset: malformed
        if (!storeRecord(std::string(asChars(req.key)), req.record->value)) return std::nullopt;
        return req;  // go-libp2p-kad-dht echoes the request
      }
      case KadType::kAddProvider: {
        for (const auto& w : req.providers) {
          auto p = toDhtPeer(w);
          if (p && p->peer == from) addProvider(req.key, from, addrBytes(p->addrs));
        }
        return std::nullopt;
      }
      case KadType::kGetProviders: {
        if (auto it = providers_.find(req.key); it != providers_.end()) {
          const std::int64_t now = nowSeconds();
          for (const auto& [peer, prov] : it->second) {
            if (prov.expires > now && resp.providers.size() < kKadMaxPeersPerMessage / 2) {
              resp.providers.push_back(toWire(peer, prov.addrs));
            }
          }
        }
        resp.closer = closerPeers(req.key, &from);
        return resp;
      }
      case KadType::kPing:
        return resp;
    }
    return std::nullopt;
  }

  // Learns a peer that talked to us: into the routing table if identify says it serves kad.
  Task<void> learn(Connection conn) {
    const PeerId peer = conn.remotePeer();
    if (rt_.find(peer)) {
      (void)rt_.add(peer, {}, nowSeconds());
      co_return;
    }
    auto info = host_.peerInfo(peer);
    if (!info) {
      auto asked = co_await identify(host_, conn);
      if (!asked) co_return;
      info = *asked;
    }
    if (std::find(info->protocols.begin(), info->protocols.end(), options_.protocol) == info->protocols.end()) co_return;
    (void)rt_.add(peer, addrBytes(info->listen_addrs), nowSeconds());
  }

  // One request/response exchange with a timeout.
  Task<Result<std::optional<KadMessage>>> rpc(DhtPeer peer, KadMessage req, bool expect_response) {
    auto self = shared_from_this();
    auto conn = co_await host_.connect(peer.peer, peer.addrs);
    if (!conn) co_return std::unexpected(conn.error());
    auto stream = co_await conn->openStream(options_.protocol);
    if (!stream) co_return std::unexpected(stream.error());
    // Watchdog: resets the stream if the exchange outlives rpc_timeout; cancelled when done.
    auto done = std::make_shared<bool>(false);
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, options_.rpc_timeout);
    Stream* raw = &*stream;
    spawn(timer->get_executor(), [](std::shared_ptr<bool> done, std::shared_ptr<asio::steady_timer> t, Stream* s) -> Task<void> {
      boost::system::error_code ec;
      co_await t->async_wait(awaitableWith(ec));
      if (!*done) s->reset();
    }(done, timer, raw));
    struct Finish {
      std::shared_ptr<bool> done;
      std::shared_ptr<asio::steady_timer> timer;
      ~Finish() {
        *done = true;
        timer->cancel();
      }
    } finish{done, timer};
    if (auto st = co_await stream->writeAll(delimit(encodeKadMessage(req))); !st) co_return std::unexpected(st.error());
    if (!expect_response) {
      (void)stream->closeWrite();
      // Wait for the server's end of stream: dropping the stream now would RST it, and a RST
      // may overtake (discard) the request still buffered on the server side.
      std::array<std::uint8_t, 64> sink;
      while (true) {
        auto n = co_await stream->readSome(sink);
        if (!n || *n == 0) break;
      }
      co_return std::optional<KadMessage>{};
    }
    auto resp = co_await readKadMessage(*stream);
    (void)stream->closeWrite();
    if (!resp) co_return std::unexpected(resp.error());
    if (!*resp) co_return fail(Errc::kTruncated, "kad: no response");
    co_return std::move(*resp);
  }

  struct Candidate {
    DhtPeer peer;
    KadKey key;
    enum class State { kNew, kWaiting, kDone, kFailed } state = State::kNew;
  };
  struct Lookup {
    KadKey target;
    std::vector<Candidate> candidates;  // sorted by distance
    std::set<PeerId> seen;
    std::size_t inflight = 0;
    std::vector<Bytes> values;  // GET_VALUE answers (validated)
    std::map<PeerId, DhtPeer> providers;
    std::optional<Signal> changed;

    void offer(const DhtPeer& p, const PeerId& self) {
      if (p.peer == self || seen.contains(p.peer)) return;
      seen.insert(p.peer);
      Candidate c{p, kadKey(p.peer.multihash().encode())};
      auto pos = std::lower_bound(candidates.begin(), candidates.end(), c, [this](const Candidate& a, const Candidate& b) {
        return kadCloser(target, a.key, b.key);
      });
      candidates.insert(pos, std::move(c));
    }
  };

  Task<void> query(std::shared_ptr<Lookup> lk, std::size_t index, KadMessage req) {
    auto self = shared_from_this();
    DhtPeer peer = lk->candidates[index].peer;
    auto resp = co_await rpc(peer, req, true);
    // Candidates only grow by insertion: find ours again by id.
    auto it = std::find_if(lk->candidates.begin(), lk->candidates.end(),
                           [&](const Candidate& c) { return c.peer.peer == peer.peer; });
    if (!resp) {
      if (it != lk->candidates.end()) it->state = Candidate::State::kFailed;
      rt_.remove(peer.peer);
    } else {
      if (it != lk->candidates.end()) it->state = Candidate::State::kDone;
      (void)rt_.add(peer.peer, addrBytes(peer.addrs), nowSeconds());
      const KadMessage& m = **resp;
      for (const auto& w : m.closer) {
        if (auto p = toDhtPeer(w)) lk->offer(*p, host_.peerId());
      }
      if (m.record && m.record->key == req.key) {
        if (validate(std::string(asChars(req.key)), m.record->value)) lk->values.push_back(m.record->value);
      }
      for (const auto& w : m.providers) {
        if (auto p = toDhtPeer(w)) lk->providers.insert_or_assign(p->peer, *p);
      }
    }
    --lk->inflight;
    lk->changed->notify();
  }

  // Iterative lookup towards sha256(key): alpha RPCs in flight, ends when the k closest
  // candidates that answered or are pending have all answered (failed ones are skipped).
  Task<std::shared_ptr<Lookup>> lookup(Bytes key, KadType type, std::size_t want_providers) {
    auto self = shared_from_this();
    auto lk = std::make_shared<Lookup>();
    lk->target = kadKey(key);
    lk->changed.emplace(co_await asio::this_coro::executor);
    for (const auto& e : rt_.closest(lk->target, options_.k)) {
      DhtPeer p{e.peer, {}};
      for (const Bytes& a : e.addrs) {
        if (auto ma = codec::Multiaddr::fromBytes(a)) p.addrs.push_back(std::move(*ma));
      }
      lk->offer(p, host_.peerId());
    }
    KadMessage req;
    req.type = type;
    req.key = key;
    auto ex = co_await asio::this_coro::executor;
    while (true) {
      if (want_providers > 0 && lk->providers.size() >= want_providers) break;
      // Launch up to alpha among the k closest live candidates.
      std::size_t live = 0;
      bool pending_new = false;
      for (std::size_t i = 0; i < lk->candidates.size() && live < options_.k; ++i) {
        auto& c = lk->candidates[i];
        if (c.state == Candidate::State::kFailed) continue;
        ++live;
        if (c.state == Candidate::State::kNew) {
          if (lk->inflight < options_.alpha) {
            c.state = Candidate::State::kWaiting;
            ++lk->inflight;
            spawn(ex, query(lk, i, req));
          } else {
            pending_new = true;
          }
        }
      }
      if (lk->inflight == 0 && !pending_new) break;
      co_await lk->changed->wait();
    }
    // Let stragglers finish writing into lk; nothing waits for them.
    co_return lk;
  }

  std::vector<DhtPeer> closestDone(const Lookup& lk) const {
    std::vector<DhtPeer> out;
    for (const auto& c : lk.candidates) {
      if (c.state == Candidate::State::kDone) out.push_back(c.peer);
      if (out.size() == options_.k) break;
    }
    return out;
  }
};

namespace {

Task<void> serveKad(std::weak_ptr<DhtImpl> weak, Stream stream) {
  const PeerId from = stream.connection().remotePeer();
  if (auto dht = weak.lock()) spawn(co_await asio::this_coro::executor, dht->learn(stream.connection()));
  while (true) {
    auto req = co_await readKadMessage(stream);
    if (!req || !*req) {
      if (!req) {
        stream.reset();
      } else {
        (void)stream.closeWrite();  // the client half-closed: answer with our end of stream
      }
      co_return;
    }
    auto dht = weak.lock();
    if (!dht) co_return;
    auto resp = dht->handle(from, **req);
    dht.reset();
    if (!resp) {
      if ((*req)->type != KadType::kAddProvider) {
        stream.reset();
        co_return;
      }
      continue;
    }
    if (auto st = co_await stream.writeAll(delimit(encodeKadMessage(*resp))); !st) co_return;
  }
}

}  // namespace

Dht::Dht(Host& host, DhtOptions options) : impl_(std::make_shared<DhtImpl>(host, std::move(options))) {
  std::weak_ptr<DhtImpl> weak = impl_;
  host.setStreamHandler(impl_->options_.protocol,
                        [weak](Stream stream) { return serveKad(weak, std::move(stream)); });
}

Dht::~Dht() {
  // The republish loop must not keep the io_context busy once the Dht is gone.
  impl_->stopped_ = true;
  if (impl_->republish_wait_) impl_->republish_wait_->cancel();
}

void Dht::addPeer(const DhtPeer& peer) { (void)impl_->rt_.add(peer.peer, addrBytes(peer.addrs), nowSeconds()); }

std::size_t Dht::routingTableSize() const { return impl_->rt_.size(); }

Task<Status> Dht::bootstrap(std::vector<codec::Multiaddr> seeds) {
  auto impl = impl_;
  std::size_t ok = 0;
  Error last{Errc::kNotFound, "dht bootstrap: no seed answered"};
  for (const auto& s : seeds) {
    auto conn = co_await impl->host_.dial(s);
    if (!conn) {
      last = conn.error();
      continue;
    }
    std::vector<codec::Multiaddr::Component> parts;
    for (const auto& c : s.components()) {
      if (c.code != codec::mc::kP2p) parts.push_back(c);
    }
    auto bare = codec::Multiaddr::fromComponents(std::move(parts));
    if (!bare) continue;
    if (impl->rt_.add(conn->remotePeer(), {bare->bytes()}, nowSeconds())) ++ok;
  }
  if (ok == 0) co_return std::unexpected(last);
  (void)co_await impl->lookup(impl->host_.peerId().multihash().encode(), KadType::kFindNode, 0);
  co_return Status{};
}

Task<Result<std::vector<DhtPeer>>> Dht::findClosestPeers(ByteView key) {
  auto impl = impl_;
  auto lk = co_await impl->lookup(Bytes(key.begin(), key.end()), KadType::kFindNode, 0);
  co_return impl->closestDone(*lk);
}

namespace {

// Sends our records and provider announcements again, each on its own interval, while the Dht
// lives (the loop holds only a weak reference between rounds).
Task<void> republishLoop(std::weak_ptr<DhtImpl> weak, Dht* self_unused) {
  (void)self_unused;
  using Clock = std::chrono::steady_clock;
  auto next_records = Clock::now();
  auto next_provides = Clock::now();
  {
    auto impl = weak.lock();
    if (!impl) co_return;
    next_records += impl->options_.republish_interval;
    next_provides += impl->options_.reprovide_interval;
  }
  while (true) {
    std::chrono::milliseconds wait;
    {
      auto impl = weak.lock();
      if (!impl) co_return;
      auto soonest = next_records;
      if (impl->options_.reprovide_interval.count() > 0 && next_provides < soonest) soonest = next_provides;
      if (impl->options_.republish_interval.count() <= 0) soonest = next_provides;
      wait = std::chrono::duration_cast<std::chrono::milliseconds>(soonest - Clock::now());
      if (wait.count() < 0) wait = std::chrono::milliseconds(0);
    }
    asio::steady_timer t(co_await asio::this_coro::executor, wait);
    if (auto impl = weak.lock()) impl->republish_wait_ = &t;
    boost::system::error_code ec;
    co_await t.async_wait(awaitableWith(ec));
    auto impl = weak.lock();
    if (!impl) co_return;
    impl->republish_wait_ = nullptr;
    if (impl->stopped_) co_return;
    const auto now = Clock::now();
    if (impl->options_.republish_interval.count() > 0 && now >= next_records) {
      next_records = now + impl->options_.republish_interval;
      auto records = impl->own_records_;  // putValue may add while we await
      for (const auto& [key, value] : records) {
        (void)impl->storeRecord(key, value);  // refresh our own copy's expiry too
        (void)co_await impl->sendRecord(key, value);
      }
      ++impl->republish_rounds_;
    }
    if (impl->options_.reprovide_interval.count() > 0 && now >= next_provides) {
      next_provides = now + impl->options_.reprovide_interval;
      auto provides = impl->own_provides_;
      for (const auto& k : provides) (void)co_await impl->announce(k);
    }
  }
}

}  // namespace

void DhtImpl::startRepublisher() {
  if (republisher_started_) return;
  if (options_.republish_interval.count() <= 0 && options_.reprovide_interval.count() <= 0) return;
  republisher_started_ = true;
  spawn(host_.ioContext().get_executor(), republishLoop(weak_from_this(), nullptr));
}

std::uint64_t Dht::republishRounds() const { return impl_->republish_rounds_; }

Task<Result<std::size_t>> Dht::putValue(std::string_view key_text, ByteView value) {
  auto impl = impl_;
  const std::string key(key_text);
  if (auto st = impl->storeRecord(key, value); !st) co_return std::unexpected(st.error());
  impl->own_records_.insert_or_assign(key, Bytes(value.begin(), value.end()));
  impl->startRepublisher();
  Bytes copy(value.begin(), value.end());
  co_return co_await impl->sendRecord(key, std::move(copy));
}

Task<Result<std::size_t>> DhtImpl::sendRecord(std::string key, Bytes value_bytes) {
  auto impl = shared_from_this();
  ByteView value = value_bytes;
  auto lk = co_await impl->lookup(Bytes(asBytes(key).begin(), asBytes(key).end()), KadType::kFindNode, 0);
  KadMessage req;
  req.type = KadType::kPutValue;
  req.key = Bytes(asBytes(key).begin(), asBytes(key).end());
  req.record = KadRecord{req.key, Bytes(value.begin(), value.end()), ""};
  std::size_t stored = 0;
  for (const auto& p : impl->closestDone(*lk)) {
    auto r = co_await impl->rpc(p, req, true);
    if (r && *r && (**r).record && (**r).record->value == req.record->value) ++stored;
  }
  co_return stored;
}

Task<Result<Bytes>> Dht::getValue(std::string_view key_text) {
  auto impl = impl_;
  const std::string key(key_text);
  std::vector<Bytes> values;
  if (auto v = impl->localRecord(key)) values.push_back(*v);
  auto lk = co_await impl->lookup(Bytes(asBytes(key).begin(), asBytes(key).end()), KadType::kGetValue, 0);
  values.insert(values.end(), lk->values.begin(), lk->values.end());
  if (values.empty()) co_return fail(Errc::kNotFound, "dht: no peer holds a valid record for " + key);
  auto ns = keyNamespace(key);
  const auto& sel = impl->options_.validators.find(ns)->second.select;
  std::size_t best = sel ? sel(key, values) : 0;
  if (best >= values.size()) best = 0;
  co_return values[best];
}

Task<Result<std::size_t>> Dht::provide(ByteView key) {
  auto impl = impl_;
  Bytes k(key.begin(), key.end());
  impl->own_provides_.insert(k);
  impl->startRepublisher();
  co_return co_await impl->announce(k);
}

Task<Result<std::size_t>> DhtImpl::announce(Bytes k) {
  auto impl = shared_from_this();
  impl->addProvider(k, impl->host_.peerId(), impl->ourAddrs());
  auto lk = co_await impl->lookup(k, KadType::kFindNode, 0);
  KadMessage req;
  req.type = KadType::kAddProvider;
  req.key = k;
  req.providers.push_back(toWire(impl->host_.peerId(), impl->ourAddrs()));
  std::size_t told = 0;
  for (const auto& p : impl->closestDone(*lk)) {
    auto r = co_await impl->rpc(p, req, false);
    if (r) ++told;
  }
  co_return told;
}

Task<Result<std::vector<DhtPeer>>> Dht::findProviders(ByteView key, std::size_t max) {
  auto impl = impl_;
  Bytes k(key.begin(), key.end());
  std::map<PeerId, DhtPeer> found;
  if (auto it = impl->providers_.find(k); it != impl->providers_.end()) {
    for (const auto& [peer, prov] : it->second) {
      if (prov.expires <= nowSeconds()) continue;
      DhtPeer p{peer, {}};
      for (const Bytes& a : prov.addrs) {
        if (auto ma = codec::Multiaddr::fromBytes(a)) p.addrs.push_back(std::move(*ma));
      }
      found.insert_or_assign(peer, std::move(p));
    }
  }
  if (found.size() < max) {
    auto lk = co_await impl->lookup(k, KadType::kGetProviders, max);
    for (auto& [peer, p] : lk->providers) found.insert_or_assign(peer, p);
  }
  std::vector<DhtPeer> out;
  for (auto& [peer, p] : found) {
    if (out.size() == max) break;
    out.push_back(std::move(p));
  }
  co_return out;
}

// ---- the "aether" record namespace --------------------------------------------------------------

namespace {

constexpr std::string_view kRecordDomain = "aether-dht-record:";

Bytes recordSigningInput(std::string_view key, std::uint64_t seq, ByteView payload) {
  Bytes msg = toBytes(kRecordDomain);
  append(msg, asBytes(key));
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<std::uint8_t>(seq >> (8 * i)));
  append(msg, payload);
  return msg;
}

std::uint64_t recordSeq(ByteView value) {
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < 8; ++i) seq = (seq << 8) | value[i];
  return seq;
}

}  // namespace

RecordValidator aetherRecordValidator() {
  RecordValidator v;
  v.validate = [](std::string_view key, ByteView value) -> Status {
    // key = /aether/<peer id>/<name>
    constexpr std::string_view kPrefix = "/aether/";
    if (!key.starts_with(kPrefix)) return fail(Errc::kMalformed, "aether record: key must start with /aether/");
    auto rest = key.substr(kPrefix.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 == rest.size()) {
      return fail(Errc::kMalformed, "aether record: key must be /aether/<peer id>/<name>");
    }
    AE_ASSIGN_OR_RETURN(PeerId author, PeerId::parse(rest.substr(0, slash)));
    auto pub = author.ed25519Key();
    if (!pub) return fail(Errc::kUnsupported, "aether record: author is not an Ed25519 peer id");
    if (value.size() < 8 + crypto::kEd25519SignatureSize) {
      return fail(Errc::kTruncated, "aether record: value shorter than sequence + signature");
    }
    const std::uint64_t seq = recordSeq(value);
    ByteView sig = value.subspan(8, crypto::kEd25519SignatureSize);
    ByteView payload = value.subspan(8 + crypto::kEd25519SignatureSize);
    auto st = crypto::ed25519Verify(*pub, recordSigningInput(key, seq, payload), sig);
    if (!st) return fail(Errc::kBadSignature, "aether record: signature does not verify under " + author.toString());
    return {};
  };
  v.select = [](std::string_view, std::span<const Bytes> values) -> std::size_t {
    std::size_t best = 0;
    for (std::size_t i = 1; i < values.size(); ++i) {
      if (values[i].size() >= 8 && values[best].size() >= 8 && recordSeq(values[i]) > recordSeq(values[best])) best = i;
    }
    return best;
  };
  return v;
}

std::string publicKeyRecordKey(const PeerId& peer) {
  std::string k = "/pk/";
  const Bytes mh = peer.multihash().encode();
  k.append(asChars(mh));
  return k;
}

RecordValidator publicKeyRecordValidator() {
  RecordValidator v;
  v.validate = [](std::string_view key, ByteView value) -> Status {
    if (!key.starts_with("/pk/")) return fail(Errc::kMalformed, "pk record: key must start with /pk/");
    AE_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey pub, decodeEd25519PublicKeyProto(value));
    if (publicKeyRecordKey(PeerId::fromEd25519(pub)) != key) {
      return fail(Errc::kIntegrity, "pk record: the key is not the peer id of this public key");
    }
    return {};
  };
  v.select = [](std::string_view, std::span<const Bytes>) -> std::size_t { return 0; };
  return v;
}

Result<Bytes> makeAetherRecord(const crypto::Ed25519KeyPair& key, std::string_view name, std::uint64_t sequence,
                               ByteView payload, std::string* record_key) {
  if (name.empty() || name.find('/') != std::string_view::npos) {
    return fail(Errc::kInvalidArgument, "aether record: name must be non-empty without '/'");
  }
  const std::string k = "/aether/" + PeerId::fromEd25519(key.publicKey()).toString() + "/" + std::string(name);
  const Bytes msg = recordSigningInput(k, sequence, payload);
  auto sig = key.sign(msg);
  Bytes value;
  for (int i = 7; i >= 0; --i) value.push_back(static_cast<std::uint8_t>(sequence >> (8 * i)));
  append(value, sig);
  append(value, payload);
  if (record_key) *record_key = k;
  return value;
}

}  // namespace aether::net
