// The host's connection manager and resource limits: trimming above the high water mark,
// connections per peer, dial backoff, inbound stream cap.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include "net/net.h"
#include "net/test_util.h"

namespace aether::net {
namespace {

namespace asio = boost::asio;
using testing::keyFromSeed;
using testing::sleepMs;

template <class Body>
void runFor(asio::io_context& io, Body body) {
  bool done = false;
  asio::co_spawn(io, body(done), asio::detached);
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done) << "test coroutine did not finish";
}

TEST(ConnManager, TrimsAboveHighWater) {
  asio::io_context io;
  crypto::SeededRng rng(1);
  auto key = keyFromSeed(1);
  HostOptions opts;
  opts.low_water = 2;
  opts.high_water = 4;
  opts.grace = std::chrono::milliseconds(0);
  auto server = Host::create(io, key, rng, opts);
  ASSERT_TRUE(server);
  auto addr = server->listen();
  ASSERT_TRUE(addr);
  std::vector<crypto::Ed25519KeyPair> keys;
  std::vector<Host> clients;
  for (int i = 0; i < 6; ++i) keys.push_back(keyFromSeed(static_cast<std::uint8_t>(10 + i)));
  for (int i = 0; i < 6; ++i) clients.push_back(*Host::create(io, keys[i], rng));
  runFor(io, [&](bool& done) -> Task<void> {
    for (auto& c : clients) {
      auto conn = co_await c.dial(*addr);
      EXPECT_TRUE(conn);
      co_await sleepMs(20);
    }
    co_await sleepMs(100);
    auto s = server->stats();
    EXPECT_LE(s.connections, 4u);
    EXPECT_GE(s.trimmed, 3u) << "5th connection: trimmed to 2; 6th: 3 live";
    for (auto& c : clients) c.close();
    server->close();
    done = true;
  });
}

TEST(ConnManager, LimitsConnectionsPerPeer) {
  asio::io_context io;
  crypto::SeededRng rng(2);
  auto ks = keyFromSeed(2), kc = keyFromSeed(3);
  HostOptions opts;
  opts.max_connections_per_peer = 1;
  auto server = Host::create(io, ks, rng, opts);
  auto client = Host::create(io, kc, rng);
  ASSERT_TRUE(server && client);
  auto addr = server->listen();
  ASSERT_TRUE(addr);
  runFor(io, [&](bool& done) -> Task<void> {
    auto c1 = co_await client->dial(*addr);
    auto c2 = co_await client->dial(*addr);
    EXPECT_TRUE(c1 && c2);
    co_await sleepMs(100);
    EXPECT_EQ(server->stats().refused_per_peer, 1u);
    EXPECT_EQ(server->stats().connections, 1u);
    client->close();
    server->close();
    done = true;
  });
}

TEST(ConnManager, DialBackoffAfterFailure) {
  asio::io_context io;
  crypto::SeededRng rng(3);
  auto k = keyFromSeed(4);
  HostOptions opts;
  opts.dial_backoff_base = std::chrono::milliseconds(300);
  auto host = Host::create(io, k, rng, opts);
  ASSERT_TRUE(host);
  auto dead = codec::Multiaddr::parse("/ip4/127.0.0.1/tcp/1");
  ASSERT_TRUE(dead);
  const PeerId other = PeerId::fromEd25519(keyFromSeed(5).publicKey());
  runFor(io, [&](bool& done) -> Task<void> {
    std::vector<codec::Multiaddr> addrs{*dead};
    auto first = co_await host->connect(other, addrs);
    EXPECT_FALSE(first);
    auto second = co_await host->connect(other, addrs);
    EXPECT_FALSE(second);
    if (!second) {
      EXPECT_NE(second.error().message.find("backoff"), std::string::npos) << second.error().toString();
    }
    EXPECT_EQ(host->stats().backoff_refusals, 1u);
    co_await sleepMs(350);
    auto third = co_await host->connect(other, addrs);  // tried again (and fails again)
    EXPECT_FALSE(third);
    if (!third) {
      EXPECT_EQ(third.error().message.find("backoff"), std::string::npos) << third.error().toString();
    }
    auto fourth = co_await host->connect(other, addrs);  // now 600 ms
    EXPECT_FALSE(fourth);
    EXPECT_EQ(host->stats().backoff_refusals, 2u);
    host->close();
    done = true;
  });
}

TEST(ConnManager, InboundStreamCap) {
  asio::io_context io;
  crypto::SeededRng rng(4);
  auto ks = keyFromSeed(6), kc = keyFromSeed(7);
  HostOptions opts;
  opts.max_inbound_streams = 2;
  auto server = Host::create(io, ks, rng, opts);
  auto client = Host::create(io, kc, rng);
  ASSERT_TRUE(server && client);
  // A handler that holds its stream until the client closes it.
  server->setStreamHandler("/hold/1", [](Stream s) -> Task<void> { (void)co_await s.readToEnd(1024); });
  auto addr = server->listen();
  ASSERT_TRUE(addr);
  runFor(io, [&](bool& done) -> Task<void> {
    auto conn = co_await client->dial(*addr);
    EXPECT_TRUE(conn);
    if (!conn) co_return;
    auto s1 = co_await conn->openStream("/hold/1");
    auto s2 = co_await conn->openStream("/hold/1");
    EXPECT_TRUE(s1 && s2);
    co_await sleepMs(50);
    EXPECT_EQ(server->stats().inbound_streams, 2u);
    auto s3 = co_await conn->openStream("/hold/1");
    EXPECT_FALSE(s3) << "the third inbound stream is reset";
    EXPECT_EQ(server->stats().refused_streams, 1u);
    if (s1) (void)s1->closeWrite();
    co_await sleepMs(50);
    auto s4 = co_await conn->openStream("/hold/1");
    EXPECT_TRUE(s4) << "room again once one ended";
    client->close();
    server->close();
    done = true;
  });
}

}  // namespace
}  // namespace aether::net
