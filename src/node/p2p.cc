// The node's peer overlay service and its daemon routes (see p2p.h, docs/networking.md).
#include "node/p2p.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <set>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <nlohmann/json.hpp>

namespace aether::node {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::string_view kPeerNs = "p2p/peers";
constexpr std::size_t kMaxKnownPeers = 1000;

std::int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json peerJson(const KnownPeer& p) {
  return json{{"id", p.id}, {"addrs", p.addrs}, {"protocols", p.protocols}, {"agent", p.agent}, {"last_seen", p.last_seen}};
}

std::optional<KnownPeer> peerFromJson(ByteView bytes) {
  auto j = json::parse(asChars(bytes), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  KnownPeer p;
  if (!j.contains("id") || !j["id"].is_string()) return std::nullopt;
  p.id = j["id"].get<std::string>();
  auto strings = [&](const char* k, std::vector<std::string>& out) {
    if (!j.contains(k) || !j[k].is_array()) return;
    for (const auto& v : j[k]) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  };
  strings("addrs", p.addrs);
  strings("protocols", p.protocols);
  if (j.contains("agent") && j["agent"].is_string()) p.agent = j["agent"].get<std::string>();
  if (j.contains("last_seen") && j["last_seen"].is_number_integer()) p.last_seen = j["last_seen"].get<std::int64_t>();
  return p;
}

// "%2F" -> "/", "+" stays "+".
std::optional<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hexv = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hexv(s[i + 1]), lo = hexv(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::map<std::string, std::string> queryOf(std::string_view target) {
  std::map<std::string, std::string> q;
  auto qm = target.find('?');
  if (qm == std::string_view::npos) return q;
  std::string_view rest = target.substr(qm + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    auto eq = part.find('=');
    auto k = percentDecode(part.substr(0, eq));
    auto v = percentDecode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (k && v) q[*k] = *v;
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return q;
}

api::HttpResponse ok(const json& j) {
  api::HttpResponse r;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);  // never throws on bad UTF-8
  return r;
}

api::HttpResponse errorResponse(const Error& e) { return api::problem(api::httpStatusFor(e.code), e.toString()); }

bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Result<codec::Multiaddr> parseTcpListen(const std::string& text, std::string& ip, std::uint16_t& port) {
  auto ma = codec::Multiaddr::parse(text);
  if (!ma) return withContext(ma.error(), "p2p listen address");
  const auto& c = ma->components();
  if (c.size() != 2 || c[0].code != codec::mc::kIp4 || c[1].code != codec::mc::kTcp) {
    return fail(Errc::kInvalidArgument, "p2p listen address must be /ip4/<address>/tcp/<port>, got " + text);
  }
  ip = c[0].valueString();
  port = static_cast<std::uint16_t>((c[1].value[0] << 8) | c[1].value[1]);
  return *ma;
}

}  // namespace

struct P2PService::State : std::enable_shared_from_this<P2PService::State> {
  State(asio::io_context& io, const crypto::Ed25519KeyPair& k, store::Vault* v, P2POptions o)
      : io(io), key(k), vault(v), options(std::move(o)) {}
  asio::io_context& io;
  const crypto::Ed25519KeyPair& key;
  store::Vault* vault;
  P2POptions options;
  crypto::SystemRng rng;
  std::optional<net::Host> host;
  std::unique_ptr<net::Dht> dht;       // /aether/kad/1.0.0
  std::unique_ptr<net::Dht> ipfs_dht;  // /ipfs/kad/1.0.0
  std::unique_ptr<net::Pubsub> pubsub;
  std::map<std::string, KnownPeer> known;
  struct Topic {
    std::deque<TopicMessage> messages;
    std::uint64_t next = 1;
  };
  std::map<std::string, Topic> topics;
  bool stopped = false;

  void remember(const net::PeerInfo& info) {
    KnownPeer p;
    p.id = info.peer.toString();
    for (const auto& a : info.listen_addrs) {
      const auto& c = a.components();
      if (c.size() >= 2 && c[1].code == codec::mc::kTcp && (c[0].code == codec::mc::kIp4 || c[0].code == codec::mc::kIp6)) {
        std::vector<codec::Multiaddr::Component> bare(c.begin(), c.begin() + 2);
        if (auto m = codec::Multiaddr::fromComponents(std::move(bare))) p.addrs.push_back(m->toString());
      }
    }
    p.protocols = info.protocols;
    p.agent = info.agent_version;
    p.last_seen = unixSeconds();
    if (!known.contains(p.id) && known.size() >= kMaxKnownPeers) {
      auto oldest = std::min_element(known.begin(), known.end(),
                                     [](const auto& a, const auto& b) { return a.second.last_seen < b.second.last_seen; });
      if (vault) {
        store::VaultBatch del;
        del.deleteMeta(kPeerNs, oldest->first);
        (void)vault->commit(del, false);
      }
      known.erase(oldest);
    }
    if (vault) {
      store::VaultBatch b;
      const std::string body = peerJson(p).dump();
      b.putMeta(kPeerNs, p.id, asBytes(body));
      (void)vault->commit(b, false);  // best effort: last-seen data, not acknowledged state
    }
    known[p.id] = std::move(p);
  }

  void load() {
    if (!vault) return;
    auto keys = vault->listMeta(kPeerNs, "", kMaxKnownPeers);
    if (!keys) return;
    for (const auto& k : *keys) {
      auto v = vault->getMeta(kPeerNs, k);
      if (!v || !*v) continue;
      if (auto p = peerFromJson(**v)) known[p->id] = std::move(*p);
    }
  }

  std::vector<std::string> addrs() const {
    std::vector<std::string> out;
    for (const auto& a : host->listenAddrs()) out.push_back(a.toString() + "/p2p/" + host->peerId().toString());
    return out;
  }

  Status subscribe(const std::string& topic) {
    if (topics.contains(topic)) return fail(Errc::kAlreadyExists, "already subscribed to " + topic);
    std::weak_ptr<State> weak = weak_from_this();
    AE_TRY(pubsub->subscribe(topic, [weak, topic](const net::PubsubMessage& m) {
      auto s = weak.lock();
      if (!s) return;
      auto it = s->topics.find(topic);
      if (it == s->topics.end()) return;
      auto& t = it->second;
      t.messages.push_back(TopicMessage{t.next++, m.author.toString(), m.received_from.toString(), m.data, unixMs()});
      while (t.messages.size() > s->options.message_buffer) t.messages.pop_front();
    }));
    topics.emplace(topic, Topic{});
    return {};
  }

  Status unsubscribe(const std::string& topic) {
    if (topics.erase(topic) == 0) return fail(Errc::kNotFound, "not subscribed to " + topic);
    return pubsub->unsubscribe(topic);
  }

  Result<std::vector<TopicMessage>> messages(const std::string& topic, std::uint64_t after) const {
    auto it = topics.find(topic);
    if (it == topics.end()) return fail(Errc::kNotFound, "not subscribed to " + topic);
    std::vector<TopicMessage> out;
    for (const auto& m : it->second.messages) {
      if (m.seq > after) out.push_back(m);
    }
    return out;
  }

  static asio::awaitable<void> onConnection(std::shared_ptr<State> self, net::Connection conn) {
    auto info = co_await net::identify(*self->host, conn);
    if (!info || self->stopped) co_return;
    self->remember(*info);
    // Peers that serve a DHT join its routing table (the DHT itself only learns of peers that
    // send it requests).
    net::DhtPeer dp{info->peer, {}};
    for (const auto& a : self->known[info->peer.toString()].addrs) {
      if (auto m = codec::Multiaddr::parse(a)) dp.addrs.push_back(*m);
    }
    auto serves = [&](std::string_view p) {
      return std::find(info->protocols.begin(), info->protocols.end(), p) != info->protocols.end();
    };
    if (serves(net::kAetherKadProtocol)) self->dht->addPeer(dp);
    if (serves(net::kKadProtocol)) self->ipfs_dht->addPeer(dp);
  }

  static asio::awaitable<void> startup(std::shared_ptr<State> self) {
    std::vector<codec::Multiaddr> seeds;
    for (const auto& b : self->options.bootstrap) {
      if (auto m = codec::Multiaddr::parse(b)) seeds.push_back(*m);
    }
    // The most recently seen known peers.
    std::vector<KnownPeer> peers;
    for (const auto& [id, p] : self->known) peers.push_back(p);
    std::sort(peers.begin(), peers.end(), [](const KnownPeer& a, const KnownPeer& b) { return a.last_seen > b.last_seen; });
    if (peers.size() > self->options.redial_known) peers.resize(self->options.redial_known);
    for (const auto& p : peers) {
      auto id = net::PeerId::parse(p.id);
      if (!id) continue;
      std::vector<codec::Multiaddr> addrs;
      for (const auto& a : p.addrs) {
        if (auto m = codec::Multiaddr::parse(a)) addrs.push_back(*m);
      }
      if (!addrs.empty()) {
        (void)co_await self->host->connect(*id, std::move(addrs));
      }
      if (self->stopped) co_return;
    }
    if (!seeds.empty()) {
      (void)co_await self->dht->bootstrap(seeds);
      (void)co_await self->ipfs_dht->bootstrap(seeds);
    }
  }
};

Result<std::unique_ptr<P2PService>> P2PService::start(asio::io_context& io, const crypto::Ed25519KeyPair& key,
                                                      store::Vault* vault, P2POptions options) {
  std::string ip;
  std::uint16_t port = 0;
  if (auto parsed = parseTcpListen(options.listen, ip, port); !parsed) return std::unexpected(parsed.error());
  for (const auto& b : options.bootstrap) {
    auto m = codec::Multiaddr::parse(b);
    if (!m || !m->peerId()) return fail(Errc::kInvalidArgument, "bootstrap peer must be /ip4/../tcp/../p2p/<id>: " + b);
  }
  auto state = std::make_shared<State>(io, key, vault, std::move(options));
  AE_ASSIGN_OR_RETURN(auto host, net::Host::create(io, key, state->rng));
  state->host.emplace(std::move(host));
  state->host->enableIdentify({.protocol_version = "ipfs/0.1.0", .agent_version = "aether/0.1"});
  state->host->enablePing();
  net::DhtOptions aether_opts;
  aether_opts.protocol = std::string(net::kAetherKadProtocol);
  aether_opts.validators.emplace("aether", net::aetherRecordValidator());
  state->dht = std::make_unique<net::Dht>(*state->host, std::move(aether_opts));
  net::DhtOptions ipfs_opts;
  ipfs_opts.validators.emplace("pk", net::publicKeyRecordValidator());
  state->ipfs_dht = std::make_unique<net::Dht>(*state->host, std::move(ipfs_opts));
  state->pubsub = std::make_unique<net::Pubsub>(*state->host, key, state->rng);
  std::weak_ptr<State> weak = state;
  state->host->addConnectionObserver([weak](net::Connection c) {
    if (auto s = weak.lock(); s && !s->stopped) asio::co_spawn(s->io, State::onConnection(s, c), asio::detached);
  });
  auto listened = state->host->listen(ip, port);
  if (!listened) return withContext(listened.error(), "p2p");
  state->load();
  asio::co_spawn(io, State::startup(state), asio::detached);
  return std::unique_ptr<P2PService>(new P2PService(std::move(state)));
}

P2PService::~P2PService() { stop(); }

void P2PService::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->pubsub->close();
  state_->host->close();
}

net::Host& P2PService::host() { return *state_->host; }
net::Dht& P2PService::dht() { return *state_->dht; }
net::Pubsub& P2PService::pubsub() { return *state_->pubsub; }

std::vector<std::string> P2PService::addrs() const { return state_->addrs(); }

std::vector<KnownPeer> P2PService::knownPeers() const {
  std::vector<KnownPeer> out;
  for (const auto& [id, p] : state_->known) out.push_back(p);
  return out;
}

Status P2PService::subscribe(const std::string& topic) { return state_->subscribe(topic); }
Status P2PService::unsubscribe(const std::string& topic) { return state_->unsubscribe(topic); }
Result<std::vector<TopicMessage>> P2PService::messages(const std::string& topic, std::uint64_t after) const {
  return state_->messages(topic, after);
}

// ---- routes -------------------------------------------------------------------------------------

namespace {

struct Body {
  json j;
  std::optional<api::HttpResponse> error;
};

Body parseBody(const api::HttpRequest& req) {
  Body b;
  b.j = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (b.j.is_discarded() || !b.j.is_object()) b.error = api::problem(400, "request body is not a JSON object", "malformed");
  return b;
}

std::optional<std::string> str(const json& j, const char* k) {
  if (!j.contains(k) || !j[k].is_string()) return std::nullopt;
  return j[k].get<std::string>();
}

json messageJson(const TopicMessage& m) {
  json j{{"seq", m.seq}, {"from", m.from}, {"received_from", m.received_from}, {"received_ms", m.received_ms}};
  const std::string_view text = asChars(m.data);
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t';
  });
  if (printable) j["data"] = std::string(text);  // invalid UTF-8 is replaced when dumped
  j["data_hex"] = hexEncode(m.data);
  return j;
}

}  // namespace

std::vector<api::DaemonExtension> P2PService::routes(std::string admin_token) {
  std::weak_ptr<State> weak = state_;
  auto handler = [weak, admin_token](api::HttpRequest req) -> asio::awaitable<api::HttpResponse> {
    auto s = weak.lock();
    if (!s || s->stopped) co_return api::problem(503, "the peer overlay is not running", "unavailable");
    const std::string expected = "Bearer " + admin_token;
    if (!constantTimeEqual(req.authorization, expected)) {
      co_return api::problem(401, "peer-overlay routes need `Authorization: Bearer <token of <home>/api-token>`",
                             "unauthorized");
    }
    const std::string path = req.target.substr(0, req.target.find('?'));
    const auto q = queryOf(req.target);
    const bool get = req.method == "GET", post = req.method == "POST";

    if (get && path == "/v1/p2p/id") {
      co_return ok(json{{"peer_id", s->host->peerId().toString()}, {"addrs", s->addrs()}, {"protocols", s->host->protocols()}});
    }
    if (get && path == "/v1/p2p/peers") {
      json list = json::array();
      for (const auto& c : s->host->connections()) {
        auto ra = c.remoteAddr();
        list.push_back(json{{"peer", c.remotePeer().toString()},
                            {"addr", ra ? ra->toString() : ""},
                            {"direction", c.isInitiator() ? "outbound" : "inbound"}});
      }
      co_return ok(json{{"connected", list}, {"known", s->known.size()}});
    }
    if (get && path == "/v1/p2p/known") {
      json list = json::array();
      for (const auto& [id, p] : s->known) list.push_back(peerJson(p));
      co_return ok(json{{"peers", list}});
    }
    if (post && (path == "/v1/p2p/dial" || path == "/v1/p2p/ping")) {
      Body b = parseBody(req);
      if (b.error) co_return *b.error;
      auto addr_text = str(b.j, "addr");
      auto peer_text = str(b.j, "peer");
      std::optional<net::Connection> conn;
      const auto t0 = std::chrono::steady_clock::now();
      if (addr_text) {
        auto ma = codec::Multiaddr::parse(*addr_text);
        if (!ma) co_return errorResponse(ma.error());
        auto c = co_await s->host->dial(*ma);
        if (!c) co_return errorResponse(c.error());
        conn = *c;
      } else if (peer_text) {
        auto id = net::PeerId::parse(*peer_text);
        if (!id) co_return errorResponse(id.error());
        std::vector<codec::Multiaddr> addrs;
        if (auto it = s->known.find(id->toString()); it != s->known.end()) {
          for (const auto& a : it->second.addrs) {
            if (auto m = codec::Multiaddr::parse(a)) addrs.push_back(*m);
          }
        }
        auto c = co_await s->host->connect(*id, std::move(addrs));
        if (!c) co_return errorResponse(c.error());
        conn = *c;
      } else {
        co_return api::problem(400, "give \"addr\" (a multiaddr with /p2p/) or \"peer\" (a known peer id)", "malformed");
      }
      const double connect_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (path == "/v1/p2p/dial") {
        co_return ok(json{{"peer", conn->remotePeer().toString()}, {"connect_ms", connect_ms}});
      }
      int count = 3;
      if (b.j.contains("count") && b.j["count"].is_number_integer()) count = b.j["count"].get<int>();
      if (count < 1 || count > 100) co_return api::problem(400, "count must be 1..100", "malformed");
      auto rtts = co_await net::ping(*conn, s->rng, count);
      if (!rtts) co_return errorResponse(rtts.error());
      json ms = json::array();
      for (auto r : *rtts) ms.push_back(std::chrono::duration<double, std::milli>(r).count());
      co_return ok(json{{"peer", conn->remotePeer().toString()}, {"rtts_ms", ms}});
    }
    if (post && (path == "/v1/pubsub/subscribe" || path == "/v1/pubsub/unsubscribe" || path == "/v1/pubsub/publish")) {
      Body b = parseBody(req);
      if (b.error) co_return *b.error;
      auto topic = str(b.j, "topic");
      if (!topic) co_return api::problem(400, "\"topic\" (a string) is required", "malformed");
      if (path == "/v1/pubsub/subscribe") {
        auto st = s->subscribe(*topic);
        if (!st && st.error().code != Errc::kAlreadyExists) co_return errorResponse(st.error());
        co_return ok(json{{"topic", *topic}, {"subscribed", true}});
      }
      if (path == "/v1/pubsub/unsubscribe") {
        auto st = s->unsubscribe(*topic);
        if (!st) co_return errorResponse(st.error());
        co_return ok(json{{"topic", *topic}, {"subscribed", false}});
      }
      Bytes data;
      if (auto text = str(b.j, "data")) {
        data.assign(text->begin(), text->end());
      } else if (auto hx = str(b.j, "data_hex")) {
        auto d = hexDecode(*hx);
        if (!d) co_return errorResponse(d.error());
        data = std::move(*d);
      } else {
        co_return api::problem(400, "\"data\" (text) or \"data_hex\" is required", "malformed");
      }
      auto id = s->pubsub->publish(*topic, data);
      if (!id) co_return errorResponse(id.error());
      co_return ok(json{{"topic", *topic}, {"id", hexEncode(*id)}, {"peers", s->pubsub->peers(*topic).size()}});
    }
    if (get && path == "/v1/pubsub/messages") {
      auto t = q.find("topic");
      if (t == q.end()) co_return api::problem(400, "query parameter topic is required", "malformed");
      std::uint64_t after = 0;
      if (auto a = q.find("after"); a != q.end()) {
        const auto& t = a->second;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), after);
        if (ec != std::errc() || end != t.data() + t.size()) {
          co_return api::problem(400, "after must be a number", "malformed");
        }
      }
      auto msgs = s->messages(t->second, after);
      if (!msgs) co_return errorResponse(msgs.error());
      json list = json::array();
      for (const auto& m : *msgs) list.push_back(messageJson(m));
      co_return ok(json{{"topic", t->second}, {"messages", list}});
    }
    if (get && path == "/v1/pubsub/peers") {
      auto t = q.find("topic");
      json list = json::array();
      for (const auto& p : s->pubsub->peers(t == q.end() ? std::string_view{} : std::string_view(t->second))) {
        list.push_back(p.toString());
      }
      json mesh = json::array();
      if (t != q.end()) {
        for (const auto& p : s->pubsub->meshPeers(t->second)) mesh.push_back(p.toString());
      }
      co_return ok(json{{"peers", list}, {"mesh", mesh}, {"topics", s->pubsub->topics()}});
    }
    if (post && path == "/v1/dht/put") {
      Body b = parseBody(req);
      if (b.error) co_return *b.error;
      auto name = str(b.j, "name");
      auto value = str(b.j, "value");
      if (!name || !value) co_return api::problem(400, "\"name\" and \"value\" (strings) are required", "malformed");
      std::string key;
      auto rec = net::makeAetherRecord(s->key, *name, static_cast<std::uint64_t>(unixMs()), asBytes(*value), &key);
      if (!rec) co_return errorResponse(rec.error());
      auto n = co_await s->dht->putValue(key, *rec);
      if (!n) co_return errorResponse(n.error());
      co_return ok(json{{"key", key}, {"stored_on", *n}});
    }
    if (get && path == "/v1/dht/get") {
      auto k = q.find("key");
      if (k == q.end()) co_return api::problem(400, "query parameter key is required", "malformed");
      auto v = co_await s->dht->getValue(k->second);
      if (!v) co_return errorResponse(v.error());
      if (v->size() < 72) co_return api::problem(502, "record too short", "malformed");
      std::uint64_t seq = 0;
      for (int i = 0; i < 8; ++i) seq = (seq << 8) | (*v)[i];
      const std::string payload(asChars(ByteView(*v).subspan(72)));
      co_return ok(json{{"key", k->second}, {"sequence", seq}, {"value", payload}});
    }
    if ((post && path == "/v1/dht/provide") || (get && path == "/v1/dht/providers")) {
      std::string cid_text;
      if (post) {
        Body b = parseBody(req);
        if (b.error) co_return *b.error;
        cid_text = str(b.j, "cid").value_or("");
      } else if (auto c = q.find("cid"); c != q.end()) {
        cid_text = c->second;
      }
      auto cid = codec::Cid::parse(cid_text);
      if (!cid) co_return errorResponse(cid.error());
      const Bytes mh = cid->hash().encode();
      if (post) {
        auto n = co_await s->ipfs_dht->provide(mh);
        if (!n) co_return errorResponse(n.error());
        co_return ok(json{{"cid", cid_text}, {"told", *n}});
      }
      auto provs = co_await s->ipfs_dht->findProviders(mh);
      if (!provs) co_return errorResponse(provs.error());
      json list = json::array();
      for (const auto& p : *provs) list.push_back(p.peer.toString());
      co_return ok(json{{"cid", cid_text}, {"providers", list}});
    }
    co_return api::problem(404, "no route " + req.method + " " + path, "not-found");
  };
  return {api::DaemonExtension{"/v1/p2p/", handler}, api::DaemonExtension{"/v1/pubsub/", handler},
          api::DaemonExtension{"/v1/dht/", handler}};
}

// ---- admin token --------------------------------------------------------------------------------

Result<std::string> loadAdminToken(const std::filesystem::path& home) {
  std::ifstream in(home / "api-token");
  if (!in) return fail(Errc::kNotFound, "no " + (home / "api-token").string() + " (is the daemon running?)");
  std::string token;
  std::getline(in, token);
  if (token.size() != 64) return fail(Errc::kMalformed, (home / "api-token").string() + " is not a 64-hex-digit token");
  return token;
}

Result<std::string> ensureAdminToken(const std::filesystem::path& home) {
  if (auto t = loadAdminToken(home); t) return t;
  const std::string token = hexEncode(crypto::randomBytes(32));
  const auto path = home / "api-token";
  const auto tmp = home / "api-token.tmp";
  {
    const mode_t old = ::umask(077);
    std::ofstream out(tmp, std::ios::trunc);
    ::umask(old);
    if (!out) return fail(Errc::kIo, "cannot write " + tmp.string());
    out << token << "\n";
    if (!out.flush()) return fail(Errc::kIo, "cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace, ec);
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(Errc::kIo, "cannot create " + path.string() + ": " + ec.message());
  return token;
}

}  // namespace aether::node
