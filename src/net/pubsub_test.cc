// pubsub: the RPC codec, StrictSign, and the router against hostile peers (a raw Host that
// speaks /meshsub/1.1.0 by hand). Interop with go-libp2p-pubsub: tests/interop/libp2p_go_pubsub.sh.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include "net/internal.h"
#include "net/net.h"
#include "net/test_util.h"

namespace aether::net {
namespace {

namespace asio = boost::asio;
using testing::keyFromSeed;
using testing::sleepMs;

PubsubWireMessage signedMessage(const crypto::Ed25519KeyPair& key, std::string_view topic, std::string_view data,
                                std::uint64_t seq) {
  PubsubWireMessage m;
  m.data = Bytes(asBytes(data).begin(), asBytes(data).end());
  Bytes s(8);
  for (int i = 0; i < 8; ++i) s[7 - i] = static_cast<std::uint8_t>(seq >> (8 * i));
  m.seqno = s;
  m.topic = std::string(topic);
  signPubsubMessage(m, key);
  return m;
}

TEST(PubsubWire, RoundTripEveryField) {
  auto key = keyFromSeed(1);
  PubsubRpc rpc;
  rpc.subscriptions = {{true, "a"}, {false, "b/c"}};
  rpc.publish.push_back(signedMessage(key, "a", "hello", 7));
  rpc.control.ihave.push_back({"a", {Bytes{1, 2}, Bytes{3}}});
  rpc.control.iwant = {Bytes{9, 9}};
  rpc.control.graft = {"a"};
  rpc.control.prune.push_back({"b", {PeerId::fromEd25519(key.publicKey()).multihash().encode()}, 60});
  rpc.control.idontwant = {Bytes{4, 5, 6}};
  Bytes wire = encodePubsubRpc(rpc);
  auto back = decodePubsubRpc(wire);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(encodePubsubRpc(*back), wire);
  ASSERT_EQ(back->subscriptions.size(), 2u);
  EXPECT_TRUE(back->subscriptions[0].subscribe);
  EXPECT_EQ(back->subscriptions[1].topic, "b/c");
  ASSERT_EQ(back->publish.size(), 1u);
  EXPECT_EQ(*back->publish[0].data, Bytes(asBytes("hello").begin(), asBytes("hello").end()));
  EXPECT_EQ(back->control.ihave[0].ids.size(), 2u);
  EXPECT_EQ(back->control.prune[0].backoff, 60u);
  EXPECT_EQ(back->control.prune[0].px.size(), 1u);
  EXPECT_EQ(back->control.idontwant, std::vector<Bytes>{Bytes({4, 5, 6})});
  // The message id is from || seqno.
  Bytes id = pubsubMessageId(back->publish[0]);
  EXPECT_EQ(id.size(), 38u + 8u);
  EXPECT_EQ(id.back(), 7);
}

TEST(PubsubWire, SignaturesVerifyAndTamperingFails) {
  auto key = keyFromSeed(2);
  auto m = signedMessage(key, "t", "payload", 1);
  auto author = verifyPubsubMessage(m);
  ASSERT_TRUE(author) << author.error().toString();
  EXPECT_EQ(*author, PeerId::fromEd25519(key.publicKey()));
  // The signed bytes are the prefix and the message without signature and key.
  Bytes expect(asBytes(kPubsubSignPrefix).begin(), asBytes(kPubsubSignPrefix).end());
  PubsubWireMessage bare = m;
  bare.signature.reset();
  append(expect, encodePubsubMessage(bare));
  EXPECT_EQ(pubsubSigningBytes(m), expect);
  EXPECT_TRUE(crypto::ed25519Verify(key.publicKey(), expect, *m.signature));

  auto flip = m;
  (*flip.data)[0] ^= 1;
  EXPECT_EQ(verifyPubsubMessage(flip).error().code, Errc::kBadSignature);
  auto retopic = m;
  retopic.topic = "u";
  EXPECT_EQ(verifyPubsubMessage(retopic).error().code, Errc::kBadSignature);
  auto other = m;
  other.from = PeerId::fromEd25519(keyFromSeed(3).publicKey()).multihash().encode();
  EXPECT_EQ(verifyPubsubMessage(other).error().code, Errc::kBadSignature);
  auto wrongkey = m;
  wrongkey.key = encodeEd25519PublicKeyProto(keyFromSeed(3).publicKey());
  EXPECT_EQ(verifyPubsubMessage(wrongkey).error().code, Errc::kAuthFailed);
  auto noseq = m;
  noseq.seqno.reset();
  EXPECT_EQ(verifyPubsubMessage(noseq).error().code, Errc::kMalformed);
  auto shortseq = m;
  shortseq.seqno = Bytes{1, 2, 3};
  EXPECT_EQ(verifyPubsubMessage(shortseq).error().code, Errc::kMalformed);
  auto nosig = m;
  nosig.signature.reset();
  EXPECT_EQ(verifyPubsubMessage(nosig).error().code, Errc::kMalformed);
  auto badfrom = m;
  badfrom.from = Bytes{0xff, 0xff};
  EXPECT_EQ(verifyPubsubMessage(badfrom).error().code, Errc::kMalformed);
  // A present-but-empty data field is signed as present (go encodes it that way).
  auto empty = signedMessage(key, "t", "", 2);
  EXPECT_TRUE(verifyPubsubMessage(empty));
  auto absent = empty;
  absent.data.reset();
  EXPECT_FALSE(verifyPubsubMessage(absent));
}

TEST(PubsubWire, RejectsTable) {
  auto field = [](std::uint32_t n, ByteView v) {
    Bytes out;
    appendBytesField(out, n, v);
    return out;
  };
  Bytes too_many_ids;
  {
    Bytes iwant;
    for (std::size_t i = 0; i <= kPubsubMaxIds; ++i) appendBytesField(iwant, 1, Bytes{1});
    too_many_ids = field(3, field(2, iwant));
  }
  Bytes too_many_subs;
  for (std::size_t i = 0; i <= kPubsubMaxEntries; ++i) append(too_many_subs, field(1, field(2, asBytes("t"))));
  Bytes two_controls = field(3, Bytes{});
  append(two_controls, field(3, Bytes{}));
  Bytes varint_sub;
  appendVarintField(varint_sub, 1, 5);
  struct Case {
    const char* what;
    Bytes in;
    Errc code;
  } cases[] = {
      {"truncated length", Bytes{0x0a, 0x05, 0x01}, Errc::kTruncated},
      {"group wire type", Bytes{0x0b}, Errc::kMalformed},
      {"subscriptions as varint", varint_sub, Errc::kMalformed},
      {"message without topic", field(2, field(2, asBytes("x"))), Errc::kMalformed},
      {"topic with control char", field(1, field(2, asBytes("a\x01"))), Errc::kMalformed},
      {"topic not UTF-8", field(1, field(2, Bytes{0xff, 0xfe})), Errc::kMalformed},
      {"topic too long", field(1, field(2, Bytes(kPubsubMaxTopic + 1, 'a'))), Errc::kLimitExceeded},
      {"repeated data", [&] {
         Bytes m = field(4, asBytes("t"));
         append(m, field(2, asBytes("a")));
         append(m, field(2, asBytes("b")));
         return field(2, m);
       }(), Errc::kMalformed},
      {"too many iwant ids", too_many_ids, Errc::kLimitExceeded},
      {"too many subscriptions", too_many_subs, Errc::kLimitExceeded},
      {"two control messages", two_controls, Errc::kMalformed},
      {"message id too long", field(3, field(2, field(1, Bytes(kPubsubMaxMessageId + 1, 1)))), Errc::kLimitExceeded},
      {"oversized RPC", Bytes(kPubsubMaxRpc + 1, 0), Errc::kLimitExceeded},
  };
  for (const auto& c : cases) {
    auto r = decodePubsubRpc(c.in);
    EXPECT_FALSE(r) << c.what;
    if (!r) {
      EXPECT_EQ(r.error().code, c.code) << c.what << ": " << r.error().toString();
    }
  }
  // Unknown fields (e.g. the partial-messages extension, field 10) are skipped.
  EXPECT_TRUE(decodePubsubRpc(field(10, asBytes("whatever"))));
}

// ---- the router -----------------------------------------------------------------------------

Bytes delimit(const Bytes& body) {
  Bytes out = varintEncode(body.size());
  append(out, body);
  return out;
}

struct Fixture {
  asio::io_context io;
  crypto::SeededRng rng{9};
  crypto::Ed25519KeyPair key_a = keyFromSeed(21), key_b = keyFromSeed(22);
  std::optional<Host> a, b;
  std::unique_ptr<Pubsub> ps;  // on a
  std::vector<PubsubMessage> got;
  std::vector<PubsubRpc> at_b;  // what a sent to b

  Fixture(PubsubOptions opts = {}) {
    a.emplace(*Host::create(io, key_a, rng));
    b.emplace(*Host::create(io, key_b, rng));
    opts.heartbeat = std::chrono::milliseconds(100);
    ps = std::make_unique<Pubsub>(*a, key_a, rng, opts);
    // b is a hand-driven peer: it accepts a's RPC stream and reads it (a drops peers it cannot
    // open a stream to, as go-libp2p-pubsub does).
    b->setStreamHandler(std::string(kMeshsub11Protocol), [this](Stream s) -> Task<void> {
      while (true) {
        std::uint8_t len_byte[3];
        std::size_t n = 0;
        std::uint64_t len = 0;
        for (; n < 3; ++n) {
          if (!co_await s.readExactly(std::span<std::uint8_t>(len_byte + n, 1))) co_return;
          len |= std::uint64_t{len_byte[n] & 0x7fu} << (7 * n);
          if (!(len_byte[n] & 0x80)) break;
        }
        Bytes body(len);
        if (!co_await s.readExactly(body)) co_return;
        auto rpc = decodePubsubRpc(body);
        if (rpc) at_b.push_back(std::move(*rpc));
      }
    });
    EXPECT_TRUE(ps->subscribe("t", [this](const PubsubMessage& m) { got.push_back(m); }));
  }
  template <class Body>
  void run(Body body) {
    auto addr = a->listen();
    ASSERT_TRUE(addr);
    bool done = false;
    asio::co_spawn(io, body(*addr, done), asio::detached);
    io.run_for(std::chrono::seconds(20));
    EXPECT_TRUE(done) << "test coroutine did not finish";
  }
};

// b opens a /meshsub/1.1.0 stream to a by hand and sends `rpcs` (already delimited).
Task<Result<Connection>> rawSend(Host& b, const codec::Multiaddr& addr, std::vector<Bytes> chunks,
                                 std::optional<Stream>* keep = nullptr) {
  auto conn = co_await b.dial(addr);
  if (!conn) co_return std::unexpected(conn.error());
  auto s = co_await conn->openStream(kMeshsub11Protocol);
  if (!s) co_return std::unexpected(s.error());
  for (const auto& c : chunks) {
    auto st = co_await s->writeAll(c);
    if (!st) break;
  }
  if (keep) keep->emplace(std::move(*s));
  co_return *conn;
}

PubsubRpc subscribeRpc(std::string topic) {
  PubsubRpc r;
  r.subscriptions.push_back({true, std::move(topic)});
  return r;
}

TEST(PubsubRouter, ValidMessageFromARawPeerIsDeliveredOnce) {
  Fixture f;
  f.run([&](codec::Multiaddr addr, bool& done) -> Task<void> {
    PubsubRpc rpc = subscribeRpc("t");
    auto m = signedMessage(f.key_b, "t", "hi", 1);
    rpc.publish = {m, m};  // the same message twice
    std::optional<Stream> keep;
    std::vector<Bytes> chunks;
    chunks.push_back(delimit(encodePubsubRpc(rpc)));
    auto conn = co_await rawSend(*f.b, addr, std::move(chunks), &keep);
    EXPECT_TRUE(conn);
    co_await sleepMs(300);
    EXPECT_EQ(f.got.size(), 1u);
    if (!f.got.empty()) {
      EXPECT_EQ(f.got[0].author, f.b->peerId());
      EXPECT_EQ(f.got[0].seqno, 1u);
      EXPECT_EQ(f.got[0].data, Bytes(asBytes("hi").begin(), asBytes("hi").end()));
    }
    EXPECT_EQ(f.ps->stats().duplicates, 1u);
    EXPECT_EQ(f.ps->peers("t").size(), 1u);
    auto score = f.ps->score(f.b->peerId());
    EXPECT_TRUE(score && *score > 0) << "first delivery raises the score";
    f.ps->close();
    f.a->close();
    f.b->close();
    done = true;
  });
}

TEST(PubsubRouter, InvalidSignatureIsDroppedAndScoredDown) {
  Fixture f;
  f.run([&](codec::Multiaddr addr, bool& done) -> Task<void> {
    PubsubRpc rpc = subscribeRpc("t");
    auto m = signedMessage(f.key_b, "t", "forged", 1);
    (*m.data)[0] ^= 1;
    rpc.publish = {m};
    // After the invalid message the peer is below the graylist threshold: a valid message
    // sent afterwards is ignored too.
    PubsubRpc later;
    later.publish = {signedMessage(f.key_b, "t", "valid", 2)};
    std::optional<Stream> keep;
    std::vector<Bytes> chunks;
    chunks.push_back(delimit(encodePubsubRpc(rpc)));
    chunks.push_back(delimit(encodePubsubRpc(later)));
    auto conn = co_await rawSend(*f.b, addr, std::move(chunks), &keep);
    EXPECT_TRUE(conn);
    co_await sleepMs(300);
    EXPECT_TRUE(f.got.empty());
    EXPECT_EQ(f.ps->stats().invalid_signatures, 1u);
    EXPECT_EQ(f.ps->stats().ignored_graylisted, 1u);
    auto score = f.ps->score(f.b->peerId());
    EXPECT_TRUE(score && *score <= -80) << (score ? *score : 0.0);
    f.ps->close();
    f.a->close();
    f.b->close();
    done = true;
  });
}

TEST(PubsubRouter, MalformedAndOversizedRpcsDisconnect) {
  for (int which = 0; which < 2; ++which) {
    Fixture f;
    f.run([&](codec::Multiaddr addr, bool& done) -> Task<void> {
      Bytes bad = which == 0 ? delimit(Bytes{0x0b, 0x00}) : varintEncode(kPubsubMaxRpc + 1);
      if (which == 1) bad.resize(bad.size() + 64, 0);
      std::optional<Stream> keep;
      std::vector<Bytes> chunks;
      chunks.push_back(delimit(encodePubsubRpc(subscribeRpc(std::string(1, 't')))));
      chunks.push_back(bad);
      auto conn = co_await rawSend(*f.b, addr, std::move(chunks), &keep);
      EXPECT_TRUE(conn);
      co_await sleepMs(300);
      EXPECT_EQ(f.ps->stats().malformed_rpcs, 1u) << which;
      EXPECT_EQ(f.ps->stats().disconnected_peers, 1u) << which;
      EXPECT_TRUE(f.ps->peers().empty()) << which;
      if (conn) {
        EXPECT_FALSE(conn->isOpen()) << "the offender is disconnected";
      }
      f.ps->close();
      f.a->close();
      f.b->close();
      done = true;
    });
  }
}

TEST(PubsubRouter, GraftDuringBackoffIsPenalisedAndPruned) {
  Fixture f;
  f.run([&](codec::Multiaddr addr, bool& done) -> Task<void> {
    PubsubRpc sub = subscribeRpc("t");
    PubsubRpc prune;
    prune.control.prune.push_back({"t", {}, 60});
    PubsubRpc graft;
    graft.control.graft = {"t"};
    std::optional<Stream> keep;
    std::vector<Bytes> chunks;
    chunks.push_back(delimit(encodePubsubRpc(sub)));
    chunks.push_back(delimit(encodePubsubRpc(prune)));
    chunks.push_back(delimit(encodePubsubRpc(graft)));
    auto conn = co_await rawSend(*f.b, addr, std::move(chunks), &keep);
    EXPECT_TRUE(conn);
    co_await sleepMs(300);
    EXPECT_TRUE(f.ps->meshPeers("t").empty()) << "a GRAFT inside the backoff is refused";
    auto score = f.ps->score(f.b->peerId());
    EXPECT_TRUE(score && *score < 0) << (score ? *score : 0.0);
    f.ps->close();
    f.a->close();
    f.b->close();
    done = true;
  });
}

TEST(PubsubRouter, IHaveGetsIWantAndIWantGetsTheMessage) {
  Fixture f;
  f.run([&](codec::Multiaddr addr, bool& done) -> Task<void> {
    std::optional<Stream> keep;
    std::vector<Bytes> chunks;
    chunks.push_back(delimit(encodePubsubRpc(subscribeRpc(std::string(1, 't')))));
    auto conn = co_await rawSend(*f.b, addr, std::move(chunks), &keep);
    EXPECT_TRUE(conn);
    co_await sleepMs(200);
    auto id = f.ps->publish("t", asBytes("cached"));
    EXPECT_TRUE(id);
    PubsubRpc ask;
    ask.control.ihave.push_back({"t", {Bytes{1, 2, 3}}});
    if (id) ask.control.iwant = {*id};
    co_await keep->writeAll(delimit(encodePubsubRpc(ask)));
    co_await sleepMs(300);
    bool iwant_seen = false;
    int copies = 0;
    for (const auto& r : f.at_b) {
      for (const auto& w : r.control.iwant) iwant_seen |= w == Bytes({1, 2, 3});
      for (const auto& m : r.publish) copies += m.data == Bytes(asBytes("cached").begin(), asBytes("cached").end());
    }
    EXPECT_TRUE(iwant_seen) << "IHAVE of an unseen id is answered with IWANT";
    EXPECT_EQ(copies, 2) << "flood publish, then the IWANT answer";
    EXPECT_EQ(f.ps->stats().iwant_served, 1u);
    f.ps->close();
    f.a->close();
    f.b->close();
    done = true;
  });
}

TEST(PubsubRouter, TwoRoutersMeshAndExchange) {
  asio::io_context io;
  crypto::SeededRng rng(5);
  auto ka = keyFromSeed(31), kb = keyFromSeed(32);
  auto a = Host::create(io, ka, rng);
  auto b = Host::create(io, kb, rng);
  ASSERT_TRUE(a && b);
  PubsubOptions opts;
  opts.heartbeat = std::chrono::milliseconds(100);
  Pubsub pa(*a, ka, rng, opts), pb(*b, kb, rng, opts);
  std::vector<std::string> at_a, at_b;
  ASSERT_TRUE(pa.subscribe("x", [&](const PubsubMessage& m) { at_a.emplace_back(asChars(m.data)); }));
  ASSERT_TRUE(pb.subscribe("x", [&](const PubsubMessage& m) { at_b.emplace_back(asChars(m.data)); }));
  auto addr = a->listen();
  ASSERT_TRUE(addr);
  bool done = false;
  asio::co_spawn(io, [&]() -> Task<void> {
    auto c = co_await b->dial(*addr);
    EXPECT_TRUE(c);
    co_await sleepMs(400);
    EXPECT_EQ(pa.meshPeers("x").size(), 1u);
    EXPECT_EQ(pb.meshPeers("x").size(), 1u);
    EXPECT_TRUE(pa.publish("x", asBytes("from a")));
    EXPECT_TRUE(pb.publish("x", asBytes("from b")));
    // A large message: v1.2 peers announce IDONTWANT (nothing to forward to here, but the
    // path runs); the message itself arrives once.
    EXPECT_TRUE(pa.publish("x", Bytes(4096, 7)));
    EXPECT_FALSE(pa.publish("", asBytes("no topic")));
    co_await sleepMs(300);
    EXPECT_EQ(at_a.size(), 3u);  // its own two and b's
    EXPECT_EQ(at_b.size(), 3u);
    EXPECT_TRUE(pb.unsubscribe("x"));
    co_await sleepMs(300);
    EXPECT_TRUE(pa.peers("x").empty()) << "the unsubscription reached a";
    EXPECT_TRUE(pa.meshPeers("x").empty());
    pa.close();
    pb.close();
    a->close();
    b->close();
    done = true;
  }, asio::detached);
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace aether::net
