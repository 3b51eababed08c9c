// aether_pubsub_tool: drives net::Pubsub for tests/interop/libp2p_go_pubsub.sh and the local
// network test (tests/net/mesh_test.sh).
//   exchange <gossip|flood> <listen|multiaddr> <topic> <count> <my prefix> <their prefix>
//       the same exchange as the Go peer's `pubsub` mode: join <topic>; listen (print
//       {"multiaddr":..}) or dial; once the other side is in the topic, publish <count>
//       messages "<my prefix>-<i>" (10 ms apart), collect <count> from the other side (60 s at most), linger
//       3 s, print {"received":n,"duplicates":d,"missing":[..],...}.
//   mesh <nodes> <messages> <kill>
//       <nodes> hosts on loopback in this process, each dialing 4 random earlier ones; all join
//       one topic and one /aether/kad/1.0.0 DHT. Publishes <messages> from random nodes and
//       measures delivery latency to every other node; one node PUTs a DHT record and every
//       node GETs it; then <kill> nodes are closed and <messages> more are published. Prints
//       one JSON object with the figures.
// Failures print {"ok":false,"error":"..."} and exit 1.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "net/net.h"

namespace asio = boost::asio;
using namespace aether;
using Clock = std::chrono::steady_clock;

namespace {

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

int failJson(const std::string& message) {
  std::printf("{\"ok\":false,\"error\":\"%s\"}\n", jsonEscape(message).c_str());
  std::fflush(stdout);
  return 1;
}

asio::awaitable<void> sleepFor(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

struct Node {
  crypto::Ed25519KeyPair key;
  std::optional<net::Host> host;
  std::unique_ptr<net::Pubsub> pubsub;
  std::unique_ptr<net::Dht> dht;
  std::optional<codec::Multiaddr> addr;
  bool alive = true;
};

// ---- exchange ---------------------------------------------------------------------------------

int exchange(const std::string& router, const std::string& where, const std::string& topic, int count,
             const std::string& mine, const std::string& theirs) {
  asio::io_context io;
  crypto::SystemRng rng;
  auto key = crypto::Ed25519KeyPair::generate(rng);
  if (!key) return failJson(key.error().toString());
  auto host = net::Host::create(io, *key, rng);
  if (!host) return failJson(host.error().toString());
  host->enableIdentify({.protocol_version = "ipfs/0.1.0", .agent_version = "aether/interop"});
  net::PubsubOptions opts;
  if (router == "flood") opts.protocols = {std::string(net::kFloodsubProtocol)};
  net::Pubsub ps(*host, *key, rng, opts);
  std::map<std::string, int> seen;
  std::uint64_t self_deliveries = 0;
  auto st = ps.subscribe(topic, [&](const net::PubsubMessage& m) {
    std::string s(asChars(m.data));
    if (s.starts_with(theirs + "-")) ++seen[s];
    if (s.starts_with(mine + "-")) ++self_deliveries;
  });
  if (!st) return failJson(st.error().toString());
  auto addr = host->listen("127.0.0.1", 0);
  if (!addr) return failJson(addr.error().toString());
  int rc = 0;
  std::string error;
  std::size_t mesh_at_publish = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    if (where == "listen") {
      std::printf("{\"multiaddr\":\"%s\",\"peer_id\":\"%s\"}\n", addr->toString().c_str(), host->peerId().toString().c_str());
      std::fflush(stdout);
    } else {
      auto ma = codec::Multiaddr::parse(where);
      if (!ma) {
        error = ma.error().toString();
        rc = 1;
        io.stop();
        co_return;
      }
      auto c = co_await host->dial(*ma);
      if (!c) {
        error = c.error().toString();
        rc = 1;
        io.stop();
        co_return;
      }
    }
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (ps.peers(topic).empty()) {
      if (Clock::now() > deadline) {
        error = "no peer joined the topic within 60 s";
        rc = 1;
        io.stop();
        co_return;
      }
      co_await sleepFor(std::chrono::milliseconds(50));
    }
    co_await sleepFor(std::chrono::milliseconds(1500));
    mesh_at_publish = ps.meshPeers(topic).size();
    for (int i = 0; i < count; ++i) {
      auto id = ps.publish(topic, asBytes(mine + "-" + std::to_string(i)));
      if (!id) {
        error = id.error().toString();
        rc = 1;
        io.stop();
        co_return;
      }
      // Paced like the Go peer: go-libp2p-pubsub drops what overflows its 32-deep queues.
      co_await sleepFor(std::chrono::milliseconds(10));
    }
    deadline = Clock::now() + std::chrono::seconds(60);
    while (static_cast<int>(seen.size()) < count && Clock::now() < deadline) co_await sleepFor(std::chrono::milliseconds(20));
    co_await sleepFor(std::chrono::milliseconds(3000));
    io.stop();
  }, asio::detached);
  io.run();
  if (rc) return failJson(error);
  int dups = 0;
  std::string missing;
  for (int i = 0; i < count; ++i) {
    auto it = seen.find(theirs + "-" + std::to_string(i));
    if (it == seen.end()) {
      missing += std::string(missing.empty() ? "" : ",") + "\"" + theirs + "-" + std::to_string(i) + "\"";
    } else {
      dups += it->second - 1;
    }
  }
  auto stats = ps.stats();
  std::printf("{\"ok\":true,\"received\":%zu,\"duplicates\":%d,\"missing\":[%s],\"published\":%d,"
              "\"self_deliveries\":%llu,\"topic_peers\":%zu,\"mesh_peers\":%zu,\"wire_duplicates\":%llu,"
              "\"invalid_signatures\":%llu,\"malformed_rpcs\":%llu,\"mesh_at_publish\":%zu}\n",
              seen.size(), dups, missing.c_str(), count, static_cast<unsigned long long>(self_deliveries),
              ps.peers(topic).size(), ps.meshPeers(topic).size(), static_cast<unsigned long long>(stats.duplicates),
              static_cast<unsigned long long>(stats.invalid_signatures),
              static_cast<unsigned long long>(stats.malformed_rpcs), mesh_at_publish);
  std::fflush(stdout);
  ps.close();
  return 0;
}

// ---- mesh -------------------------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int mesh(int n, int messages, int kill) {
  asio::io_context io;
  crypto::SystemRng rng;
  std::mt19937 prng(12345);
  std::vector<std::unique_ptr<Node>> nodes;
  const std::string topic = "aether-mesh";
  // Publication times by payload; receipt latencies per (payload, node).
  std::map<std::string, Clock::time_point> sent;
  std::map<std::string, std::set<int>> got;
  std::vector<double> latencies_ms;
  std::uint64_t dup_deliveries = 0;
  for (int i = 0; i < n; ++i) {
    auto key = crypto::Ed25519KeyPair::generate(rng);
    if (!key) return failJson(key.error().toString());
    auto node = std::make_unique<Node>(Node{std::move(*key), std::nullopt, nullptr, nullptr, std::nullopt, true});
    auto h = net::Host::create(io, node->key, rng);
    if (!h) return failJson(h.error().toString());
    node->host.emplace(std::move(*h));
    node->host->enableIdentify();
    auto a = node->host->listen("127.0.0.1", 0);
    if (!a) return failJson(a.error().toString());
    node->addr = *a;
    node->pubsub = std::make_unique<net::Pubsub>(*node->host, node->key, rng);
    net::DhtOptions dopts;
    dopts.protocol = std::string(net::kAetherKadProtocol);
    dopts.validators.emplace("aether", net::aetherRecordValidator());
    node->dht = std::make_unique<net::Dht>(*node->host, std::move(dopts));
    auto st = node->pubsub->subscribe(topic, [&, i](const net::PubsubMessage& m) {
      std::string s(asChars(m.data));
      auto it = sent.find(s);
      if (it == sent.end()) return;
      if (!got[s].insert(i).second) {
        ++dup_deliveries;
        return;
      }
      if (m.received_from != nodes[i]->host->peerId()) {
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
      }
    });
    if (!st) return failJson(st.error().toString());
    nodes.push_back(std::move(node));
  }
  std::string error;
  std::string result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    // Topology: each node dials up to 4 random earlier nodes (a connected random graph).
    std::vector<double> connect_ms;
    for (int i = 1; i < n; ++i) {
      std::vector<int> earlier(i);
      for (int j = 0; j < i; ++j) earlier[j] = j;
      std::shuffle(earlier.begin(), earlier.end(), prng);
      for (int k = 0; k < std::min(i, 4); ++k) {
        auto t0 = Clock::now();
        auto c = co_await nodes[i]->host->dial(*nodes[earlier[k]]->addr);
        if (!c) {
          error = "dial: " + c.error().toString();
          io.stop();
          co_return;
        }
        connect_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        nodes[i]->dht->addPeer(net::DhtPeer{nodes[earlier[k]]->host->peerId(), nodes[earlier[k]]->host->listenAddrs()});
        nodes[earlier[k]]->dht->addPeer(net::DhtPeer{nodes[i]->host->peerId(), nodes[i]->host->listenAddrs()});
      }
    }
    // Let subscriptions propagate and meshes form (a few heartbeats).
    co_await sleepFor(std::chrono::milliseconds(3500));
    std::size_t mesh_min = 1000, mesh_max = 0;
    for (auto& nd : nodes) {
      auto m = nd->pubsub->meshPeers(topic).size();
      mesh_min = std::min(mesh_min, m);
      mesh_max = std::max(mesh_max, m);
    }
    auto publishRound = [&](int round, int count) -> asio::awaitable<std::pair<int, int>> {
      std::vector<int> alive;
      for (int i = 0; i < n; ++i) {
        if (nodes[i]->alive) alive.push_back(i);
      }
      std::vector<std::string> payloads;
      for (int m = 0; m < count; ++m) {
        int from = alive[prng() % alive.size()];
        std::string payload = "r" + std::to_string(round) + "-m" + std::to_string(m) + "-from" + std::to_string(from);
        sent[payload] = Clock::now();
        auto id = nodes[from]->pubsub->publish(topic, asBytes(payload));
        if (!id) error = "publish: " + id.error().toString();
        payloads.push_back(payload);
        co_await sleepFor(std::chrono::milliseconds(20));
      }
      auto deadline = Clock::now() + std::chrono::seconds(20);
      auto complete = [&] {
        for (const auto& p : payloads) {
          if (got[p].size() < alive.size()) return false;
        }
        return true;
      };
      while (!complete() && Clock::now() < deadline) co_await sleepFor(std::chrono::milliseconds(20));
      int full = 0, missing = 0;
      for (const auto& p : payloads) {
        if (got[p].size() == alive.size()) ++full;
        missing += static_cast<int>(alive.size() - std::min(alive.size(), got[p].size()));
      }
      co_return std::make_pair(full, missing);
    };
    auto [full1, missing1] = co_await publishRound(1, messages);
    const double p50 = percentile(latencies_ms, 0.5), p99 = percentile(latencies_ms, 0.99);
    const std::size_t samples1 = latencies_ms.size();

    // DHT: node 0 PUTs, every node GETs.
    std::string key;
    auto rec = net::makeAetherRecord(nodes[0]->key, "mesh-test", 1, asBytes(std::string("hello from node 0")), &key);
    int dht_found = 0;
    std::vector<double> get_ms;
    if (!rec) {
      error = rec.error().toString();
    } else {
      for (auto& nd : nodes) (void)co_await nd->dht->bootstrap({});
      auto put = co_await nodes[0]->dht->putValue(key, *rec);
      if (!put) error = "dht put: " + put.error().toString();
      for (int i = 0; i < n; ++i) {
        auto t0 = Clock::now();
        auto v = co_await nodes[i]->dht->getValue(key);
        get_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (v && *v == *rec) ++dht_found;
      }
    }

    // Kill some nodes (not node 0), then publish again among the survivors.
    std::vector<int> victims;
    for (int i = 1; i < n; ++i) victims.push_back(i);
    std::shuffle(victims.begin(), victims.end(), prng);
    victims.resize(std::min<std::size_t>(victims.size(), static_cast<std::size_t>(kill)));
    for (int v : victims) {
      nodes[v]->alive = false;
      nodes[v]->pubsub->close();
      nodes[v]->host->close();
    }
    co_await sleepFor(std::chrono::milliseconds(2500));  // heartbeats repair the meshes
    latencies_ms.clear();
    auto [full2, missing2] = co_await publishRound(2, messages);
    const double p50b = percentile(latencies_ms, 0.5), p99b = percentile(latencies_ms, 0.99);

    std::uint64_t invalid = 0, malformed = 0, wire_dups = 0, forwarded = 0;
    for (auto& nd : nodes) {
      auto s = nd->pubsub->stats();
      invalid += s.invalid_signatures;
      malformed += s.malformed_rpcs;
      wire_dups += s.duplicates;
      forwarded += s.forwarded;
    }
    char buf[2048];
    std::snprintf(buf, sizeof buf,
                  "{\"ok\":true,\"nodes\":%d,\"messages\":%d,\"mesh_degree_min\":%zu,\"mesh_degree_max\":%zu,"
                  "\"round1_fully_delivered\":%d,\"round1_missing_deliveries\":%d,\"latency_p50_ms\":%.2f,"
                  "\"latency_p99_ms\":%.2f,\"latency_samples\":%zu,\"dht_found\":%d,\"dht_get_p50_ms\":%.2f,"
                  "\"killed\":%zu,\"round2_fully_delivered\":%d,\"round2_missing_deliveries\":%d,"
                  "\"round2_latency_p50_ms\":%.2f,\"round2_latency_p99_ms\":%.2f,\"app_duplicates\":%llu,"
                  "\"wire_duplicates\":%llu,\"forwarded\":%llu,\"invalid\":%llu,\"malformed\":%llu,"
                  "\"connect_p50_ms\":%.2f,\"error\":\"%s\"}",
                  n, messages, mesh_min, mesh_max, full1, missing1, p50, p99, samples1, dht_found,
                  percentile(get_ms, 0.5), victims.size(), full2, missing2, p50b, p99b,
                  static_cast<unsigned long long>(dup_deliveries), static_cast<unsigned long long>(wire_dups),
                  static_cast<unsigned long long>(forwarded), static_cast<unsigned long long>(invalid),
                  static_cast<unsigned long long>(malformed), percentile(connect_ms, 0.5), jsonEscape(error).c_str());
    result = buf;
    for (auto& nd : nodes) {
      if (nd->alive) {
        nd->pubsub->close();
        nd->host->close();
      }
    }
    io.stop();
  }, asio::detached);
  io.run();
  if (result.empty()) return failJson(error.empty() ? "mesh test did not finish" : error);
  std::printf("%s\n", result.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "exchange" && argc == 8) {
    return exchange(argv[2], argv[3], argv[4], std::atoi(argv[5]), argv[6], argv[7]);
  }
  if (mode == "mesh" && argc == 5) return mesh(std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]));
  std::fprintf(stderr,
               "usage: aether_pubsub_tool exchange <gossip|flood> <listen|multiaddr> <topic> <count> <mine> <theirs>\n"
               "       aether_pubsub_tool mesh <nodes> <messages> <kill>\n");
  return 2;
}
