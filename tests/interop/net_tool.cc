// aether_net_tool: drives src/net against go-libp2p in tests/interop/libp2p_go.sh.
//   listen [seconds]                  serve ping; print {"multiaddr":...,"peer_id":...}; run until
//                                     stdin closes or the time is up
//   dial <multiaddr>                  dial, ping 5 times, print {"ok":true,"rtts_ms":[...]}
//   dial-expect <multiaddr> <peer>    dial expecting <peer> (the address's /p2p/ is dropped)
//   perf <multiaddr> <up> <down> [runs]  /perf/1.0.0 client; prints {"upload_s":[..],...}
//   dht-listen [seconds]              listen + two Kademlia DHT servers: /ipfs/kad/1.0.0 ("pk"
//                                     records) and /aether/kad/1.0.0 ("aether" records)
//   (dht-put / dht-get use /aether/kad/1.0.0, the others /ipfs/kad/1.0.0)
//   dht-put <multiaddr> <name> <payload>   join through <multiaddr>, PUT a signed record
//   dht-get <multiaddr> <key>              join, GET, print {"payload":...}
//   dht-put-pk <multiaddr>                 join /ipfs/kad/1.0.0, PUT our /pk/ record
//   dht-get-pk <multiaddr> <peer id>       GET /pk/<peer>, check it hashes to <peer>
//   dht-provide <multiaddr> <cid>          join, announce as provider
//   dht-providers <multiaddr> <cid>        join, print {"providers":[...]}
// The listener serves ping, identify and perf.
// Failures print {"ok":false,"error":"..."} and exit 1.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <optional>
#include <type_traits>
#include <vector>

#include "net/net.h"

namespace asio = boost::asio;
using namespace aether;

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

// The public-style DHT (/ipfs/kad/1.0.0, "pk" records) or our own (/aether/kad/1.0.0).
net::DhtOptions dhtOptions(bool aether) {
  net::DhtOptions o;
  if (aether) {
    o.protocol = std::string(net::kAetherKadProtocol);
    o.validators.emplace("aether", net::aetherRecordValidator());
  } else {
    o.validators.emplace("pk", net::publicKeyRecordValidator());
  }
  return o;
}

// A fresh identity and a Host on `io` (every mode starts with one).
Status makeHost(asio::io_context& io, crypto::Rng& rng, std::optional<crypto::Ed25519KeyPair>& identity,
                std::optional<net::Host>& host) {
  AE_ASSIGN_OR_RETURN(auto key, crypto::Ed25519KeyPair::generate(rng));
  identity.emplace(std::move(key));
  AE_ASSIGN_OR_RETURN(auto h, net::Host::create(io, *identity, rng));
  host.emplace(std::move(h));
  return {};
}

int listenMode(int seconds, bool with_dht = false) {
  asio::io_context io;
  crypto::SystemRng rng;
  std::optional<crypto::Ed25519KeyPair> identity;
  std::optional<net::Host> host;
  if (auto st = makeHost(io, rng, identity, host); !st) return failJson(st.error().toString());
  host->enablePing();
  host->enableIdentify({.protocol_version = "ipfs/0.1.0", .agent_version = "aether/interop"});
  host->enablePerf();
  std::unique_ptr<net::Dht> dht, aether_dht;
  if (with_dht) {
    dht = std::make_unique<net::Dht>(*host, dhtOptions(false));
    aether_dht = std::make_unique<net::Dht>(*host, dhtOptions(true));
  }
  host->setConnectionObserver([](net::Connection c) {
    std::fprintf(stderr, "aether_net_tool: inbound connection from %s\n", c.remotePeer().toString().c_str());
  });
  auto addr = host->listen("127.0.0.1", 0);
  if (!addr) return failJson(addr.error().toString());
  std::printf("{\"multiaddr\":\"%s\",\"peer_id\":\"%s\"}\n", addr->toString().c_str(),
              host->peerId().toString().c_str());
  std::fflush(stdout);
  asio::steady_timer deadline(io, std::chrono::seconds(seconds));
  deadline.async_wait([&io](const boost::system::error_code&) { io.stop(); });
  // Stop when stdin closes (the test script holds it open).
  std::thread stdin_watch([&io] {
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    asio::post(io, [&io] { io.stop(); });
  });
  stdin_watch.detach();
  io.run();
  std::fflush(stdout);
  std::_Exit(0);  // the stdin thread may still be blocked in read
}

int dialMode(const std::string& addr_text, const std::string* expected_text) {
  asio::io_context io;
  crypto::SystemRng rng;
  std::optional<crypto::Ed25519KeyPair> identity;
  std::optional<net::Host> host;
  if (auto st = makeHost(io, rng, identity, host); !st) return failJson(st.error().toString());
  host->enablePing();
  host->enableIdentify({.protocol_version = "ipfs/0.1.0", .agent_version = "aether/interop"});
  auto addr = codec::Multiaddr::parse(addr_text);
  if (!addr) return failJson("bad multiaddr: " + addr.error().toString());
  std::optional<net::PeerId> expected;
  if (expected_text) {
    auto id = net::PeerId::parse(*expected_text);
    if (!id) return failJson("bad peer id: " + id.error().toString());
    expected = *id;
    // Drop /p2p/ so the handshake (not the address check) decides.
    std::vector<codec::Multiaddr::Component> parts;
    for (const auto& c : addr->components()) {
      if (c.code != codec::mc::kP2p) parts.push_back(c);
    }
    auto stripped = codec::Multiaddr::fromComponents(std::move(parts));
    if (!stripped) return failJson(stripped.error().toString());
    addr = std::move(stripped);
  }
  int rc = 1;
  asio::co_spawn(
      io,
      [&]() -> net::Task<void> {
        auto start = std::chrono::steady_clock::now();
        // (No co_await inside ?: — g++ 12 destroys such temporaries twice.)
        Result<net::Connection> conn = fail(Errc::kInternal, "not dialed");
        if (expected) {
          conn = co_await host->dial(*addr, *expected);
        } else {
          conn = co_await host->dial(*addr);
        }
        if (!conn) {
          rc = failJson(conn.error().toString());
          host->close();
          co_return;
        }
        double handshake_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        auto rtts = co_await net::ping(*conn, rng, 5);
        auto info = co_await net::identify(*host, *conn);
        if (!rtts) {
          rc = failJson(rtts.error().toString());
        } else if (!info) {
          rc = failJson("identify: " + info.error().toString());
        } else {
          std::string list;
          for (auto r : *rtts) {
            if (!list.empty()) list += ",";
            list += std::to_string(std::chrono::duration<double, std::milli>(r).count());
          }
          auto strings = [](const auto& items) {
            std::string out;
            for (const auto& i : items) {
              if (!out.empty()) out += ",";
              if constexpr (std::is_same_v<std::decay_t<decltype(i)>, std::string>) {
                out += "\"" + jsonEscape(i) + "\"";
              } else {
                out += "\"" + jsonEscape(i.toString()) + "\"";
              }
            }
            return "[" + out + "]";
          };
          std::printf(
              "{\"ok\":true,\"peer_id\":\"%s\",\"handshake_ms\":%f,\"rtts_ms\":[%s],"
              "\"remote_agent\":\"%s\",\"remote_protocols\":%s,\"remote_addrs\":%s,\"observed\":\"%s\"}\n",
              conn->remotePeer().toString().c_str(), handshake_ms, list.c_str(),
              jsonEscape(info->agent_version).c_str(), strings(info->protocols).c_str(),
              strings(info->listen_addrs).c_str(),
              jsonEscape(info->observed_addr ? info->observed_addr->toString() : "").c_str());
          std::fflush(stdout);
          rc = 0;
        }
        conn->close();
        host->close();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(60));
  return rc;
}

int perfMode(const std::string& addr_text, std::uint64_t up, std::uint64_t down, int runs) {
  asio::io_context io;
  crypto::SystemRng rng;
  std::optional<crypto::Ed25519KeyPair> identity;
  std::optional<net::Host> host;
  if (auto st = makeHost(io, rng, identity, host); !st) return failJson(st.error().toString());
  auto addr = codec::Multiaddr::parse(addr_text);
  if (!addr) return failJson("bad multiaddr: " + addr.error().toString());
  int rc = 1;
  asio::co_spawn(
      io,
      [&]() -> net::Task<void> {
        auto start = std::chrono::steady_clock::now();
        auto conn = co_await host->dial(*addr);
        if (!conn) {
          rc = failJson(conn.error().toString());
          host->close();
          co_return;
        }
        double connect_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        std::string ups, downs;
        for (int i = 0; i < runs; ++i) {
          auto r = co_await net::perf(*conn, up, down);
          if (!r) {
            rc = failJson(r.error().toString());
            host->close();
            co_return;
          }
          if (!ups.empty()) ups += ",", downs += ",";
          ups += std::to_string(std::chrono::duration<double>(r->upload_time).count());
          downs += std::to_string(std::chrono::duration<double>(r->download_time).count());
        }
        std::printf("{\"ok\":true,\"upload_bytes\":%llu,\"download_bytes\":%llu,\"upload_s\":[%s],"
                    "\"download_s\":[%s],\"connect_ms\":%f}\n",
                    static_cast<unsigned long long>(up), static_cast<unsigned long long>(down), ups.c_str(),
                    downs.c_str(), connect_ms);
        std::fflush(stdout);
        rc = 0;
        conn->close();
        host->close();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(300));
  return rc;
}

int dhtMode(const std::string& mode, const std::vector<std::string>& args) {
  asio::io_context io;
  crypto::SystemRng rng;
  std::optional<crypto::Ed25519KeyPair> identity;
  std::optional<net::Host> host;
  if (auto st = makeHost(io, rng, identity, host); !st) return failJson(st.error().toString());
  host->enableIdentify({.protocol_version = "ipfs/0.1.0", .agent_version = "aether/interop"});
  if (auto l = host->listen("127.0.0.1", 0); !l) return failJson(l.error().toString());
  net::Dht dht(*host, dhtOptions(mode == "dht-put" || mode == "dht-get"));
  auto seed = codec::Multiaddr::parse(args.at(0));
  if (!seed) return failJson("bad multiaddr: " + seed.error().toString());
  int rc = 1;
  asio::co_spawn(
      io,
      [&]() -> net::Task<void> {
        std::vector<codec::Multiaddr> seeds{*seed};
        auto st = co_await dht.bootstrap(std::move(seeds));
        if (!st) {
          rc = failJson("bootstrap: " + st.error().toString());
        } else if (mode == "dht-put") {
          std::string key;
          auto value = net::makeAetherRecord(*identity, args.at(1), 1, asBytes(args.at(2)), &key);
          auto n = co_await dht.putValue(key, *value);
          if (!n) {
            rc = failJson("put: " + n.error().toString());
          } else {
            std::printf("{\"ok\":true,\"key\":\"%s\",\"stored_at\":%zu}\n", jsonEscape(key).c_str(), *n);
            rc = 0;
          }
        } else if (mode == "dht-put-pk") {
          const std::string key = net::publicKeyRecordKey(host->peerId());
          const Bytes value = net::encodeEd25519PublicKeyProto(identity->publicKey());
          auto n = co_await dht.putValue(key, value);
          if (!n) {
            rc = failJson("put: " + n.error().toString());
          } else {
            std::printf("{\"ok\":true,\"peer_id\":\"%s\",\"stored_at\":%zu}\n", host->peerId().toString().c_str(), *n);
            rc = 0;
          }
        } else if (mode == "dht-get-pk") {
          auto peer = net::PeerId::parse(args.at(1));
          if (!peer) {
            rc = failJson("bad peer id");
          } else {
            auto v = co_await dht.getValue(net::publicKeyRecordKey(*peer));
            if (!v) {
              rc = failJson("get: " + v.error().toString());
            } else {
              auto pub = net::decodeEd25519PublicKeyProto(*v);
              const bool match = pub && net::PeerId::fromEd25519(*pub) == *peer;
              std::printf("{\"ok\":%s,\"peer_id\":\"%s\"}\n", match ? "true" : "false", peer->toString().c_str());
              rc = match ? 0 : 1;
            }
          }
        } else if (mode == "dht-get") {
          auto v = co_await dht.getValue(args.at(1));
          if (!v) {
            rc = failJson("get: " + v.error().toString());
          } else {
            std::string payload(asChars(ByteView(*v).subspan(72)));
            std::printf("{\"ok\":true,\"payload\":\"%s\"}\n", jsonEscape(payload).c_str());
            rc = 0;
          }
        } else {
          auto cid = codec::Cid::parse(args.at(1));
          if (!cid) {
            rc = failJson("bad cid: " + cid.error().toString());
          } else if (mode == "dht-provide") {
            auto n = co_await dht.provide(cid->hash().encode());
            if (!n) {
              rc = failJson("provide: " + n.error().toString());
            } else {
              std::printf("{\"ok\":true,\"peer_id\":\"%s\",\"told\":%zu}\n", host->peerId().toString().c_str(), *n);
              rc = 0;
            }
          } else {
            auto found = co_await dht.findProviders(cid->hash().encode(), 10);
            if (!found) {
              rc = failJson("providers: " + found.error().toString());
            } else {
              std::string list;
              for (const auto& p : *found) list += (list.empty() ? "\"" : ",\"") + p.peer.toString() + "\"";
              std::printf("{\"ok\":true,\"providers\":[%s]}\n", list.c_str());
              rc = 0;
            }
          }
        }
        std::fflush(stdout);
        host->close();
        // The DHT's republish timers keep the io_context busy: stop once the closes are out.
        asio::steady_timer linger(io, std::chrono::milliseconds(200));
        co_await linger.async_wait(asio::use_awaitable);
        io.stop();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(60));
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "listen") return listenMode(argc > 2 ? std::stoi(argv[2]) : 60);
  if (mode == "dht-listen") return listenMode(argc > 2 ? std::stoi(argv[2]) : 60, true);
  if ((mode == "dht-put" && argc == 5) || (mode == "dht-put-pk" && argc == 3) ||
      ((mode == "dht-get" || mode == "dht-get-pk" || mode == "dht-provide" || mode == "dht-providers") && argc == 4)) {
    return dhtMode(mode, std::vector<std::string>(argv + 2, argv + argc));
  }
  if (mode == "dial" && argc == 3) return dialMode(argv[2], nullptr);
  if (mode == "perf" && (argc == 5 || argc == 6)) {
    return perfMode(argv[2], std::stoull(argv[3]), std::stoull(argv[4]), argc == 6 ? std::stoi(argv[5]) : 1);
  }
  if (mode == "dial-expect" && argc == 4) {
    std::string expected = argv[3];
    return dialMode(argv[2], &expected);
  }
  std::fprintf(stderr, "usage: %s listen [seconds] | dial <multiaddr> | dial-expect <multiaddr> <peer id>\n",
               argv[0]);
  return 2;
}
