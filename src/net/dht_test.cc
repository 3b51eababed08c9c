// Kademlia record lifetime: records expire after record_ttl on the peers that hold them, and
// the writer's periodic republish keeps its own records alive there.
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

DhtOptions aetherOptions() {
  DhtOptions o;
  o.protocol = std::string(kAetherKadProtocol);
  o.validators.emplace("aether", aetherRecordValidator());
  return o;
}

TEST(DhtLifetime, RepublishKeepsOwnRecordsAliveAndOthersExpire) {
  asio::io_context io;
  crypto::SeededRng rng(11);
  auto ks = keyFromSeed(40), kw = keyFromSeed(41), kq = keyFromSeed(42), ko = keyFromSeed(43);
  auto server = Host::create(io, ks, rng), writer = Host::create(io, kw, rng), reader = Host::create(io, kq, rng),
       oneshot = Host::create(io, ko, rng);
  ASSERT_TRUE(server && writer && reader && oneshot);
  auto addr = server->listen();
  ASSERT_TRUE(addr);
  DhtOptions so = aetherOptions();
  so.record_ttl = std::chrono::seconds(1);  // the server forgets records after 1 s
  Dht sd(*server, so);
  DhtOptions wo = aetherOptions();
  wo.republish_interval = std::chrono::milliseconds(300);
  Dht wd(*writer, wo);
  DhtOptions oo = aetherOptions();
  oo.republish_interval = std::chrono::milliseconds(0);  // never republishes
  oo.record_ttl = std::chrono::seconds(1);
  Dht od(*oneshot, oo);
  Dht rd(*reader, aetherOptions());
  const DhtPeer serverPeer{server->peerId(), server->listenAddrs()};
  for (Dht* d : {&wd, &od, &rd}) d->addPeer(serverPeer);
  bool done = false;
  asio::co_spawn(io, [&]() -> Task<void> {
    std::string kept, dropped;
    auto r1 = makeAetherRecord(kw, "kept", 1, asBytes(std::string("republished")), &kept);
    auto r2 = makeAetherRecord(ko, "dropped", 1, asBytes(std::string("once")), &dropped);
    EXPECT_TRUE(r1 && r2);
    auto n1 = co_await wd.putValue(kept, *r1);
    auto n2 = co_await od.putValue(dropped, *r2);
    EXPECT_TRUE(n1 && *n1 == 1);
    EXPECT_TRUE(n2 && *n2 == 1);
    // Both are found right away.
    auto g1 = co_await rd.getValue(kept);
    auto g2 = co_await rd.getValue(dropped);
    EXPECT_TRUE(g1 && g2);
    // Well past the server's 1 s TTL: only the republished record is still there. (The one-shot
    // writer's own copy expired too, so nobody holds it.)
    co_await sleepMs(1800);
    g1 = co_await rd.getValue(kept);
    EXPECT_TRUE(g1) << (g1 ? "" : g1.error().toString());
    if (g1) {
      EXPECT_EQ(*g1, *r1);
    }
    g2 = co_await rd.getValue(dropped);
    EXPECT_FALSE(g2) << "a record nobody republishes expires";
    EXPECT_GE(wd.republishRounds(), 3u);
    EXPECT_EQ(od.republishRounds(), 0u);
    for (Host* h : {&*server, &*writer, &*reader, &*oneshot}) h->close();
    done = true;
  }, asio::detached);
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done);
}

TEST(DhtLifetime, DestroyingTheDhtEndsTheRepublishWait) {
  asio::io_context io;
  crypto::SeededRng rng(12);
  auto k = keyFromSeed(44);
  auto host = Host::create(io, k, rng);
  ASSERT_TRUE(host);
  auto dht = std::make_unique<Dht>(*host, aetherOptions());  // republish every hour
  asio::co_spawn(io, [&]() -> Task<void> {
    std::string key;
    auto rec = makeAetherRecord(k, "x", 1, asBytes(std::string("v")), &key);
    (void)co_await dht->putValue(key, *rec);  // starts the hourly republish loop
    dht.reset();
    host->close();
  }, asio::detached);
  const auto t0 = std::chrono::steady_clock::now();
  io.run();  // returns once nothing is pending
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace aether::net
