// log/: RFC 9162 vectors (the Certificate Transparency test tree), proofs against a naive MTH
// written here from the RFC's definition, strict decoders, signatures, and Stream over a real
// vault in a temp dir (reopen, atomic batches, GC, exports and the bad exports verifyExport
// must refuse).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "identity/identity.h"
#include "log/log.h"

namespace aether::log {
namespace {

namespace fs = std::filesystem;

Hash hashOf(std::string_view hex) {
  auto b = hexDecode(hex);
  Hash h{};
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

// The eight leaves of the Certificate Transparency reference tests (RFC 6962 / 9162 trees).
std::vector<Bytes> ctLeaves() {
  return {*hexDecode(""), *hexDecode("00"), *hexDecode("10"), *hexDecode("2021"), *hexDecode("3031"),
          *hexDecode("40414243"), *hexDecode("5051525354555657"), *hexDecode("606162636465666768696a6b6c6d6e6f")};
}

MerkleTree ctTree() {
  MerkleTree t;
  for (const auto& l : ctLeaves()) t.append(leafHash(l));
  return t;
}

// MTH straight from RFC 9162 §2.1.1, over leaf hashes, recomputing everything.
Hash naiveMth(const std::vector<Hash>& leaves, std::size_t lo, std::size_t hi) {
  const std::size_t n = hi - lo;
  if (n == 0) return crypto::sha256(ByteView());
  if (n == 1) return leaves[lo];
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  Bytes buf{0x01};
  Hash l = naiveMth(leaves, lo, lo + k), r = naiveMth(leaves, lo + k, hi);
  buf.insert(buf.end(), l.begin(), l.end());
  buf.insert(buf.end(), r.begin(), r.end());
  return crypto::sha256(buf);
}

TEST(Merkle, CtRootsForEverySize) {
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  const MerkleTree t = ctTree();
  for (std::uint64_t n = 1; n <= 8; ++n) EXPECT_EQ(*t.root(n), hashOf(roots[n - 1])) << n;
  EXPECT_EQ(*t.root(0), hashOf("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  EXPECT_EQ(t.root(9).error().code, Errc::kInvalidArgument);
}

TEST(Merkle, CtInclusionAndConsistencyVectors) {
  const MerkleTree t = ctTree();
  const Hash h96 = hashOf("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  const Hash h5f = hashOf("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  const Hash h6b = hashOf("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  const Hash hbc = hashOf("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  const Hash hca = hashOf("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
  const Hash hd3 = hashOf("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  const Hash h0e = hashOf("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a");
  EXPECT_EQ(*t.inclusionProof(0, 8), (std::vector<Hash>{h96, h5f, h6b}));
  EXPECT_EQ(*t.inclusionProof(5, 8), (std::vector<Hash>{hbc, hca, hd3}));
  EXPECT_TRUE(t.inclusionProof(0, 1)->empty());
  EXPECT_EQ(*t.consistencyProof(1, 8), (std::vector<Hash>{h96, h5f, h6b}));
  EXPECT_EQ(*t.consistencyProof(6, 8), (std::vector<Hash>{h0e, hca, hd3}));
  EXPECT_EQ(*t.consistencyProof(2, 5), (std::vector<Hash>{h5f, hbc}));
  EXPECT_TRUE(t.consistencyProof(8, 8)->empty());
  EXPECT_EQ(t.consistencyProof(0, 8).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(t.inclusionProof(8, 8).error().code, Errc::kInvalidArgument);
}

TEST(Merkle, EveryProofUpTo40LeavesAgainstNaiveMth) {
  std::vector<Hash> leaves;
  MerkleTree t;
  for (int i = 0; i < 40; ++i) {
    Bytes b{static_cast<std::uint8_t>(i), 0x5a};
    leaves.push_back(leafHash(b));
    t.append(leaves.back());
  }
  for (std::uint64_t n = 1; n <= 40; ++n) {
    const Hash root = naiveMth(leaves, 0, n);
    ASSERT_EQ(*t.root(n), root) << n;
    for (std::uint64_t i = 0; i < n; ++i) {
      auto path = *t.inclusionProof(i, n);
      ASSERT_TRUE(verifyInclusion(i, n, leaves[i], path, root)) << i << "/" << n;
      if (n > 1) {
        EXPECT_FALSE(verifyInclusion((i + 1) % n, n, leaves[i], path, root)) << i << "/" << n;
        auto bad = path;
        bad[i % bad.size()][7] ^= 0x01;
        EXPECT_EQ(verifyInclusion(i, n, leaves[i], bad, root).error().code, Errc::kIntegrity);
        auto shorter = path;
        shorter.pop_back();
        EXPECT_FALSE(verifyInclusion(i, n, leaves[i], shorter, root));
        auto longer = path;
        longer.push_back(root);
        EXPECT_FALSE(verifyInclusion(i, n, leaves[i], longer, root));
      }
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      const Hash old_root = naiveMth(leaves, 0, m);
      auto proof = *t.consistencyProof(m, n);
      ASSERT_TRUE(verifyConsistency(m, n, old_root, root, proof)) << m << "->" << n;
      if (m < n) {
        auto bad = proof;
        bad[m % bad.size()][0] ^= 0x80;
        EXPECT_EQ(verifyConsistency(m, n, old_root, root, bad).error().code, Errc::kIntegrity);
        Hash wrong = old_root;
        wrong[31] ^= 1;
        EXPECT_FALSE(verifyConsistency(m, n, wrong, root, proof));
        EXPECT_FALSE(verifyConsistency(m, n, old_root, wrong, proof));
        EXPECT_FALSE(verifyConsistency(m, n, old_root, root, {}));
      }
    }
  }
}

TEST(Merkle, TruncateThenAppendMatchesFreshTree) {
  MerkleTree a, b;
  for (int i = 0; i < 37; ++i) a.append(leafHash(Bytes{static_cast<std::uint8_t>(i)}));
  a.truncate(13);
  for (int i = 0; i < 13; ++i) b.append(leafHash(Bytes{static_cast<std::uint8_t>(i)}));
  for (int i = 100; i < 120; ++i) {
    a.append(leafHash(Bytes{static_cast<std::uint8_t>(i)}));
    b.append(leafHash(Bytes{static_cast<std::uint8_t>(i)}));
  }
  EXPECT_EQ(a.root(), b.root());
  EXPECT_EQ(*a.inclusionProof(5, 33), *b.inclusionProof(5, 33));
}

// ---- formats ------------------------------------------------------------------------------------

struct Author {
  crypto::Ed25519KeyPair key;
  std::string did;
  std::string stream;
};

Author author(std::uint8_t seed_byte, std::string_view name = "notes") {
  Bytes seed(32, seed_byte);
  auto key = *crypto::Ed25519KeyPair::fromSeed(seed);
  std::string did = identity::didKeyFromEd25519(key.publicKey());
  return Author{std::move(key), did, did + "/" + std::string(name)};
}

codec::Cid someCid(std::uint8_t b) { return blockCid(Bytes{b}); }

TEST(Format, StreamNames) {
  EXPECT_TRUE(validateStreamName("a.b-c_D9"));
  EXPECT_FALSE(validateStreamName(""));
  EXPECT_FALSE(validateStreamName(".."));
  EXPECT_FALSE(validateStreamName("a/b"));
  EXPECT_FALSE(validateStreamName(std::string(65, 'a')));
  const Author a = author(1);
  EXPECT_TRUE(StreamId::parse(a.stream));
  EXPECT_FALSE(StreamId::parse("did:key:zzz/notes"));
  EXPECT_FALSE(StreamId::parse(a.did));
}

TEST(Format, EntryWireBytesAreTheDocumentedMap) {
  // {"ts": 7, "seq": 0, "data": h'6869', "prev": null, "stream": "<id>"} — length-first key order.
  const Author a = author(2);
  Entry e{a.stream, 0, std::nullopt, toBytes("hi"), std::nullopt, 7};
  Bytes expected = *hexDecode("a562747307637365710064646174614268696470726576f66673747265616d78");
  expected.push_back(static_cast<std::uint8_t>(a.stream.size()));
  append(expected, asBytes(a.stream));
  EXPECT_EQ(*encodeEntry(e), expected);
  EXPECT_EQ(*decodeEntry(expected), e);
}

TEST(Format, EntryDecoderRejects) {
  const Author a = author(3);
  auto enc = [](codec::Value::Map m) { return *codec::encodeDagCbor(codec::Value(std::move(m))); };
  auto base = [&]() {
    codec::Value::Map m;
    m.emplace("stream", codec::Value(a.stream));
    m.emplace("seq", codec::Value(std::uint64_t{1}));
    m.emplace("prev", codec::Value(someCid(1)));
    m.emplace("ts", codec::Value(std::uint64_t{5}));
    m.emplace("data", codec::Value(Bytes{1, 2}));
    return m;
  };
  EXPECT_TRUE(decodeEntry(enc(base())));
  auto m = base();
  m.emplace("extra", codec::Value(1));
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);
  m = base();
  m.erase("ts");
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);
  m = base();
  m.emplace("payload", codec::Value(*store::cidForBlock(1, codec::mc::kRaw, Bytes{9})));
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);  // both data and payload
  m = base();
  m["prev"] = codec::Value(nullptr);
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);  // seq 1 without prev
  m = base();
  m["seq"] = codec::Value(std::uint64_t{0});
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);  // seq 0 with prev
  m = base();
  m["seq"] = codec::Value(-1);
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);
  m = base();
  m["data"] = codec::Value(Bytes(kMaxInline + 1, 0));
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kLimitExceeded);
  m = base();
  m["stream"] = codec::Value("did:key:z6Mk/notes");
  EXPECT_FALSE(decodeEntry(enc(m)));
  m = base();
  m.erase("data");
  m.emplace("payload", codec::Value(someCid(4)));  // a dag-cbor link, not raw
  EXPECT_EQ(decodeEntry(enc(m)).error().code, Errc::kMalformed);
  // Not canonical: map keys out of order (hand-written CBOR {"seq":1,"ts":5,...} prefix).
  EXPECT_FALSE(decodeEntry(*hexDecode("a2637365710162747305")));
  EXPECT_EQ(decodeEntry(Bytes{}).error().code, Errc::kTruncated);
}

TEST(Format, SignedHeadAndEntry) {
  const Author a = author(4);
  const Author other = author(5);
  Head h{a.stream, 3, hashOf("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"), 99};
  auto sh = *signHead(h, a.key);
  EXPECT_TRUE(verifySignedHead(sh));
  auto back = *decodeSignedHead(encodeSignedHead(sh));
  EXPECT_EQ(back.head, h);
  EXPECT_TRUE(verifySignedHead(back));
  // The signature covers "aether/log/head/v1\n" || head bytes: check with libsodium directly.
  Bytes msg = toBytes("aether/log/head/v1\n");
  append(msg, sh.head_bytes);
  EXPECT_TRUE(crypto::ed25519Verify(a.key.publicKey(), msg, sh.sig));
  EXPECT_EQ(signHead(h, other.key).error().code, Errc::kInvalidArgument);
  auto bad = sh;
  bad.sig[10] ^= 1;
  EXPECT_EQ(verifySignedHead(bad).error().code, Errc::kBadSignature);
  // Another author's valid signature over the same head does not verify either.
  Bytes forged_msg = toBytes("aether/log/head/v1\n");
  append(forged_msg, sh.head_bytes);
  bad = sh;
  bad.sig = other.key.sign(forged_msg);
  EXPECT_EQ(verifySignedHead(bad).error().code, Errc::kBadSignature);

  Entry e{a.stream, 0, std::nullopt, toBytes("alone"), std::nullopt, 1};
  Bytes block = *encodeEntry(e);
  auto se = *signEntry(block, a.key);
  auto se2 = *decodeSignedEntry(encodeSignedEntry(se));
  EXPECT_TRUE(verifySignedEntry(se2));
  EXPECT_EQ(se2.entry, e);
  se2.sig[0] ^= 1;
  EXPECT_EQ(verifySignedEntry(se2).error().code, Errc::kBadSignature);
  EXPECT_EQ(signEntry(block, other.key).error().code, Errc::kInvalidArgument);
}

TEST(Format, ProofCodecs) {
  const MerkleTree t = ctTree();
  InclusionProof ip{5, 8, *t.inclusionProof(5, 8)};
  auto ip2 = *decodeInclusionProof(*encodeInclusionProof(ip));
  EXPECT_EQ(ip2.index, 5u);
  EXPECT_EQ(ip2.path, ip.path);
  ConsistencyProof cp{2, 5, *t.consistencyProof(2, 5)};
  auto cp2 = *decodeConsistencyProof(*encodeConsistencyProof(cp));
  EXPECT_EQ(cp2.path, cp.path);
  // A 31-byte path item.
  codec::Value::Map m;
  m.emplace("index", codec::Value(1));
  m.emplace("size", codec::Value(2));
  m.emplace("path", codec::Value(codec::Value::List{codec::Value(Bytes(31, 0))}));
  EXPECT_EQ(decodeInclusionProof(*codec::encodeDagCbor(codec::Value(m))).error().code, Errc::kWrongLength);
  m["path"] = codec::Value(codec::Value::List(kMaxProofHashes + 1, codec::Value(Bytes(32, 0))));
  EXPECT_EQ(decodeInclusionProof(*codec::encodeDagCbor(codec::Value(m))).error().code, Errc::kLimitExceeded);
}

// ---- Stream over a real vault -------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aether-log-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Bytes vaultKey() { return Bytes(32, 0x42); }

Clock fixedClock(std::uint64_t* now) {
  return [now] { return (*now)++; };
}

Bytes payloadOf(std::size_t i, std::size_t size) {
  Bytes b(size);
  for (std::size_t j = 0; j < size; ++j) b[j] = static_cast<std::uint8_t>(i * 31 + j);
  return b;
}

Bytes exportOf(Stream& s) {
  store::MemoryByteSink sink;
  EXPECT_TRUE(s.exportCar(sink));
  return sink.bytes();
}

Result<VerifiedStream> verifyBytes(const Bytes& car) {
  store::MemoryByteSource src(car);
  return verifyExport(src);
}

TEST(Stream, AppendReopenProveExport) {
  TempDir dir;
  const Author a = author(6);
  std::uint64_t now = 1000;
  std::vector<Bytes> all;
  {
    auto vault = *store::Vault::open(dir.path() / "vault", vaultKey());
    auto s = *Stream::open(*vault, a.key, "notes", fixedClock(&now));
    EXPECT_EQ(s->head().error().code, Errc::kNotFound);
    EXPECT_EQ(s->append({}).error().code, Errc::kInvalidArgument);
    std::size_t next = 0;
    for (std::size_t batch : {1, 3, 10, 1, 25}) {
      std::vector<Bytes> ps;
      for (std::size_t i = 0; i < batch; ++i, ++next) ps.push_back(payloadOf(next, next % 7 == 3 ? 5000 : 40));
      auto r = *s->append(ps);
      EXPECT_EQ(r.first_seq, next - batch);
      EXPECT_EQ(r.last_seq, next - 1);
      EXPECT_EQ(r.head.head.size, next);
      EXPECT_TRUE(verifySignedHead(r.head));
      all.insert(all.end(), ps.begin(), ps.end());
    }
    EXPECT_EQ(s->id(), a.stream);
    EXPECT_EQ(*Stream::list(*vault, a.did), std::vector<std::string>{a.stream});
    EXPECT_EQ(*Stream::list(*vault), std::vector<std::string>{a.stream});
  }
  auto vault = *store::Vault::open(dir.path() / "vault", vaultKey());
  auto s = *Stream::open(*vault, a.key, "notes", fixedClock(&now));
  ASSERT_EQ(s->size(), all.size());
  const SignedHead head = *s->head();
  for (std::uint64_t seq = 0; seq < s->size(); ++seq) {
    auto e = *s->get(seq);
    EXPECT_EQ(e.seq, seq);
    EXPECT_EQ(*s->payload(e), all[seq]);
    EXPECT_EQ(e.data.has_value(), all[seq].size() <= kMaxInline);
    auto proof = *s->proveInclusion(seq, s->size());
    EXPECT_TRUE(verifyEntryInHead(*s->entryBlock(seq), proof, head)) << seq;
    EXPECT_FALSE(verifyEntryInHead(*s->entryBlock((seq + 1) % s->size()), proof, head));
  }
  EXPECT_EQ(s->get(s->size()).error().code, Errc::kNotFound);
  // Checkpoints exist where batches ended, and old checkpoints are consistent with the head.
  for (std::uint64_t at : {1, 4, 14, 15}) {
    auto cp = *s->checkpoint(at);
    EXPECT_TRUE(verifySignedHead(cp));
    auto proof = *s->proveConsistency(at, s->size());
    EXPECT_TRUE(verifyConsistency(at, s->size(), cp.head.root, head.head.root, proof.path)) << at;
  }
  EXPECT_EQ(s->checkpoint(2).error().code, Errc::kNotFound);
  // GC keeps the stream (the tip is pinned; prev links reach the rest, payload links the blocks).
  // Exactly one pin (the newest entry), moved by each batch's commit.
  EXPECT_EQ(*vault->pins(), std::vector<codec::Cid>{blockCid(*s->entryBlock(s->size() - 1))});
  auto gc = *vault->gc();
  EXPECT_EQ(gc.blocks_removed, 0u);
  for (std::uint64_t seq = 0; seq < s->size(); ++seq) EXPECT_EQ(*s->payload(*s->get(seq)), all[seq]);
  auto verified = *verifyBytes(exportOf(*s));
  EXPECT_EQ(verified.entries.size(), all.size());
  EXPECT_EQ(verified.head.head, head.head);
}

TEST(Stream, FailedBatchWritesNothing) {
  TempDir dir;
  const Author a = author(7);
  std::uint64_t now = 1;
  auto vault = *store::Vault::open(dir.path() / "vault", vaultKey());
  auto s = *Stream::open(*vault, a.key, "n", fixedClock(&now));
  ASSERT_TRUE(s->append(std::vector<Bytes>{toBytes("one")}));
  const auto before = vault->stats();
  std::vector<Bytes> batch{toBytes("two"), Bytes(1024 * 1024 + 1, 1), toBytes("three")};
  EXPECT_EQ(s->append(batch).error().code, Errc::kLimitExceeded);
  EXPECT_EQ(s->size(), 1u);
  EXPECT_EQ(vault->stats().blocks, before.blocks);
  ASSERT_TRUE(s->append(std::vector<Bytes>{toBytes("two")}));
  s.reset();
  auto again = *Stream::open(*vault, a.key, "n", fixedClock(&now));
  EXPECT_EQ(again->size(), 2u);
  EXPECT_EQ(*again->payload(*again->get(1)), toBytes("two"));
}

// The VaultBatch pin ops Stream relies on (added to store/ for this): atomic with the batch.
TEST(Stream, VaultBatchPinOps) {
  TempDir dir;
  auto vault = *store::Vault::open(dir.path() / "v", vaultKey());
  const Bytes leaf = toBytes("leaf");
  const codec::Cid leaf_cid = *store::cidForBlock(1, codec::mc::kRaw, leaf);
  codec::Value::Map m;
  m.emplace("child", codec::Value(leaf_cid));
  const Bytes parent = *codec::encodeDagCbor(codec::Value(m));
  const codec::Cid parent_cid = blockCid(parent);
  store::VaultBatch missing;
  missing.putMeta("t", "k", toBytes("v"));
  missing.pin(parent_cid);  // not in the vault, not in the batch
  EXPECT_EQ(vault->commit(missing).error().code, Errc::kNotFound);
  EXPECT_FALSE(*vault->getMeta("t", "k"));
  store::VaultBatch b;
  b.putBlock(leaf_cid, leaf);
  b.putBlock(parent_cid, parent);
  b.pin(parent_cid);
  ASSERT_TRUE(vault->commit(b));
  EXPECT_EQ(vault->stats().pins, 1u);
  EXPECT_EQ(vault->gc()->blocks_removed, 0u);  // the recursive pin reaches the leaf
  store::VaultBatch u;
  u.unpin(parent_cid);
  u.unpin(parent_cid);  // a second unpin is a no-op
  ASSERT_TRUE(vault->commit(u));
  EXPECT_EQ(vault->stats().pins, 0u);
  EXPECT_EQ(vault->gc()->blocks_removed, 2u);
}

// ---- bad exports --------------------------------------------------------------------------------

struct Forged {
  std::vector<std::pair<codec::Cid, Bytes>> blocks;  // after the head
  Head head;
};

Bytes carOf(const SignedHead& sh, const std::vector<std::pair<codec::Cid, Bytes>>& blocks) {
  store::MemoryByteSink sink;
  const Bytes hb = encodeSignedHead(sh);
  const codec::Cid root = blockCid(hb);
  auto w = *store::CarWriter::create(sink, std::span(&root, 1));
  EXPECT_TRUE(w.put(root, hb));
  for (const auto& [cid, b] : blocks) EXPECT_TRUE(w.put(cid, b));
  return sink.bytes();
}

// Builds entries 0..n-1 by hand, then lets `mutate` change the list, then signs a head over
// whatever remains (so only the property under test is wrong).
Bytes handMade(const Author& a, std::size_t n,
               const std::function<void(std::vector<std::pair<codec::Cid, Bytes>>&)>& mutate,
               std::optional<std::uint64_t> signed_size = std::nullopt) {
  std::vector<std::pair<codec::Cid, Bytes>> blocks;
  std::optional<codec::Cid> prev;
  for (std::size_t i = 0; i < n; ++i) {
    Entry e{a.stream, i, prev, payloadOf(i, 8), std::nullopt, 10};
    Bytes b = *encodeEntry(e);
    prev = blockCid(b);
    blocks.emplace_back(*prev, b);
  }
  mutate(blocks);
  MerkleTree t;
  for (const auto& [cid, b] : blocks) t.append(leafHash(b));
  Head h{a.stream, signed_size.value_or(blocks.size()), t.root(), 11};
  return carOf(*signHead(h, a.key), blocks);
}

TEST(VerifyExport, HandMadeGoodStreamPasses) {
  const Author a = author(8);
  EXPECT_TRUE(verifyBytes(handMade(a, 9, [](auto&) {})));
}

TEST(VerifyExport, RejectsBadInput) {
  const Author a = author(9);
  // Broken prev chain: entry 4 relinked to entry 2.
  auto broken = handMade(a, 9, [&](auto& bl) {
    auto e = *decodeEntry(bl[4].second);
    e.prev = bl[2].first;
    bl[4].second = *encodeEntry(e);
    bl[4].first = blockCid(bl[4].second);
  });
  EXPECT_EQ(verifyBytes(broken).error().code, Errc::kIntegrity);
  // Gap: entry 5 missing (head size still 9).
  auto gap = handMade(a, 9, [](auto& bl) { bl.erase(bl.begin() + 5); }, 9);
  EXPECT_EQ(verifyBytes(gap).error().code, Errc::kIntegrity);
  // Fork: a second, different entry 3.
  auto fork = handMade(a, 9, [&](auto& bl) {
    auto e = *decodeEntry(bl[3].second);
    e.data = toBytes("other");
    Bytes b = *encodeEntry(e);
    bl.emplace_back(blockCid(b), b);
  }, 9);
  EXPECT_EQ(verifyBytes(fork).error().code, Errc::kIntegrity);
  // Entry beyond the signed size.
  auto beyond = handMade(a, 9, [](auto&) {}, 8);
  EXPECT_EQ(verifyBytes(beyond).error().code, Errc::kIntegrity);
  // An entry of another stream.
  const Author b = author(10);
  auto foreign = handMade(a, 3, [&](auto& bl) {
    auto e = *decodeEntry(bl[2].second);
    e.stream = b.stream;
    bl[2].second = *encodeEntry(e);
    bl[2].first = blockCid(bl[2].second);
  });
  EXPECT_EQ(verifyBytes(foreign).error().code, Errc::kIntegrity);
  // A dag-cbor block that is not an entry.
  auto junk = handMade(a, 3, [](auto& bl) {
    Bytes b = *codec::encodeDagCbor(codec::Value("not an entry"));
    bl.emplace_back(blockCid(b), b);
  });
  EXPECT_EQ(verifyBytes(junk).error().code, Errc::kMalformed);

  // Bad head signature: flip a bit of the sig inside the head block (re-rooted so the CAR's
  // CIDs stay right).
  std::vector<std::pair<codec::Cid, Bytes>> good;
  {
    std::optional<codec::Cid> prev;
    for (std::size_t i = 0; i < 4; ++i) {
      Bytes bl = *encodeEntry(Entry{a.stream, i, prev, payloadOf(i, 3), std::nullopt, 1});
      prev = blockCid(bl);
      good.emplace_back(*prev, bl);
    }
  }
  MerkleTree t;
  for (const auto& [c, bl] : good) t.append(leafHash(bl));
  auto sh = *signHead(Head{a.stream, 4, t.root(), 2}, a.key);
  EXPECT_TRUE(verifyBytes(carOf(sh, good)));
  auto badsig = sh;
  badsig.sig[63] ^= 0x40;
  EXPECT_EQ(verifyBytes(carOf(badsig, good)).error().code, Errc::kBadSignature);
  // Root mismatch: a head signed over the wrong root.
  auto wrong_root = *signHead(Head{a.stream, 4, *t.root(3), 2}, a.key);
  EXPECT_EQ(verifyBytes(carOf(wrong_root, good)).error().code, Errc::kIntegrity);
  // A flipped byte inside an entry block: the CAR reader's CID check refuses it.
  Bytes car = carOf(sh, good);
  car[car.size() - 3] ^= 0x01;
  EXPECT_EQ(verifyBytes(car).error().code, Errc::kIntegrity);
  // Truncated CAR.
  Bytes cut = carOf(sh, good);
  cut.resize(cut.size() - 5);
  EXPECT_EQ(verifyBytes(cut).error().code, Errc::kTruncated);
}

// ---- import -------------------------------------------------------------------------------------

Result<Stream::ImportResult> importBytes(store::Vault& vault, const Bytes& car) {
  store::MemoryByteSource src(car);
  return Stream::importExport(vault, src);
}

TEST(Import, ExtendsReadOnlyAndRefusesForks) {
  TempDir dir;
  const Author a = author(11);
  std::uint64_t now = 5;
  auto mine = *store::Vault::open(dir.path() / "mine", vaultKey());
  auto theirs = *store::Vault::open(dir.path() / "theirs", Bytes(32, 0x43));
  auto s = *Stream::open(*mine, a.key, "notes", fixedClock(&now));
  std::vector<Bytes> first{toBytes("a"), payloadOf(1, 4000), toBytes("c"), toBytes("d"), toBytes("e")};
  ASSERT_TRUE(s->append(first));
  const Bytes e5 = exportOf(*s);
  ASSERT_TRUE(s->append(std::vector<Bytes>{toBytes("f"), toBytes("g")}));
  ASSERT_TRUE(s->append(std::vector<Bytes>{toBytes("h"), toBytes("i")}));
  const Bytes e9 = exportOf(*s);

  auto r = *importBytes(*theirs, e5);
  EXPECT_EQ(r.stream, a.stream);
  EXPECT_EQ(r.added, 5u);
  r = *importBytes(*theirs, e9);
  EXPECT_EQ(r.added, 4u);
  EXPECT_EQ(r.size, 9u);
  EXPECT_EQ(importBytes(*theirs, e5)->added, 0u);  // older but consistent: nothing to do
  auto ro = *Stream::openReadOnly(*theirs, a.stream);
  EXPECT_EQ(ro->size(), 9u);
  EXPECT_EQ(*ro->payload(*ro->get(1)), payloadOf(1, 4000));
  EXPECT_EQ(ro->head()->head, s->head()->head);
  EXPECT_EQ(ro->append(std::vector<Bytes>{toBytes("x")}).error().code, Errc::kPermissionDenied);
  EXPECT_EQ(*theirs->pins(), std::vector<codec::Cid>{blockCid(*ro->entryBlock(8))});
  EXPECT_EQ(theirs->gc()->blocks_removed, 0u);
  EXPECT_EQ(*Stream::list(*theirs), std::vector<std::string>{a.stream});

  // The same stream id with other entries (validly signed by the author): a fork of what is held.
  const auto before = theirs->stats();
  auto forked = handMade(a, 12, [](auto&) {});
  EXPECT_EQ(importBytes(*theirs, forked).error().code, Errc::kIntegrity);
  EXPECT_EQ(theirs->stats().blocks, before.blocks);
  EXPECT_EQ(Stream::openReadOnly(*theirs, a.stream).value()->size(), 9u);
  EXPECT_EQ(Stream::openReadOnly(*theirs, author(12).stream).error().code, Errc::kNotFound);
}

TEST(Import, BadExportsWriteNothing) {
  TempDir dir;
  const Author a = author(13);
  auto vault = *store::Vault::open(dir.path() / "v", vaultKey());
  std::vector<std::pair<std::string, Bytes>> bad;
  bad.emplace_back("broken prev", handMade(a, 6, [](auto& bl) {
    auto e = *decodeEntry(bl[3].second);
    e.prev = bl[1].first;
    bl[3].second = *encodeEntry(e);
    bl[3].first = blockCid(bl[3].second);
  }));
  bad.emplace_back("gap", handMade(a, 6, [](auto& bl) { bl.erase(bl.begin() + 2); }, 6));
  bad.emplace_back("fork", handMade(a, 6, [](auto& bl) {
    auto e = *decodeEntry(bl[1].second);
    e.ts = 77;
    Bytes b = *encodeEntry(e);
    bl.emplace_back(blockCid(b), b);
  }, 6));
  Bytes flipped = handMade(a, 6, [](auto&) {});
  flipped[flipped.size() / 2] ^= 0x04;
  bad.emplace_back("flipped byte", flipped);
  Bytes cut = handMade(a, 6, [](auto&) {});
  cut.resize(cut.size() - 7);
  bad.emplace_back("truncated", cut);
  bad.emplace_back("not a CAR", toBytes("hello"));
  for (const auto& [what, car] : bad) {
    auto r = importBytes(*vault, car);
    EXPECT_FALSE(r) << what;
    EXPECT_EQ(vault->stats().blocks, 0u) << what;
    EXPECT_EQ(vault->stats().pins, 0u) << what;
    EXPECT_TRUE(Stream::list(*vault)->empty()) << what;
  }
  EXPECT_TRUE(importBytes(*vault, handMade(a, 6, [](auto&) {})));
}

}  // namespace
}  // namespace aether::log
