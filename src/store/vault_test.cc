// The vault against a real RocksDB in a temporary directory.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"

namespace aether::store {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aether-vault-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Bytes key32(std::uint8_t fill) { return Bytes(32, fill); }

codec::Cid rawCid(ByteView data) { return *cidForBlock(1, codec::mc::kRaw, data); }

std::unique_ptr<Vault> openOrDie(const fs::path& dir, ByteView key, VaultOptions options = {}) {
  auto v = Vault::open(dir, key, options);
  EXPECT_TRUE(v) << v.error().toString();
  return v ? std::move(*v) : nullptr;
}

// Applies `edit` to every row of column family `cf` with RocksDB directly (the vault closed).
template <class Edit>
void editRows(const fs::path& dir, const std::string& cf, Edit edit) {
  rocksdb::DBOptions o;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                      {"blocks", {}}, {"pins", {}}, {"meta", {}}, {"charges", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir.string(), cfs, &handles, &db).ok());
  rocksdb::ColumnFamilyHandle* h = handles[cf == "blocks" ? 1 : cf == "pins" ? 2 : 3];
  std::vector<std::pair<std::string, std::string>> rows;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
  for (it->SeekToFirst(); it->Valid(); it->Next()) rows.emplace_back(it->key().ToString(), it->value().ToString());
  it.reset();
  edit(rows);
  for (auto& [k, v] : rows) ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h, k, v).ok());
  for (auto* x : handles) (void)db->DestroyColumnFamilyHandle(x);
  delete db;
}

TEST(Vault, KeyFromSeedIsHkdfSha256) {
  Bytes seed(32);
  for (std::size_t i = 0; i < 32; ++i) seed[i] = static_cast<std::uint8_t>(i);
  auto k = vaultKeyFromSeed(seed);
  ASSERT_TRUE(k);
  // HKDF-SHA256(ikm = 00..1f, salt = empty, info = "aether vault key v1"), computed with Python's
  // hmac/hashlib (RFC 5869 by hand).
  EXPECT_EQ(hexEncode(k->view()), "4e116a76e70f098db2c7c1a84c598ef83c61b5458918f6ce3bad7f7879de7565");
  EXPECT_EQ(vaultKeyFromSeed(Bytes(31)).error().code, Errc::kInvalidArgument);
}

TEST(Vault, PutGetDedupAndReopen) {
  TempDir dir;
  const Bytes data = toBytes("hello vault");
  const auto cid = rawCid(data);
  {
    auto v = openOrDie(dir.path, key32(1));
    ASSERT_TRUE(v);
    EXPECT_FALSE(*v->has(cid));
    ASSERT_TRUE(v->put(cid, data));
    ASSERT_TRUE(v->put(cid, data));  // dedup
    ASSERT_TRUE(v->flush());
    EXPECT_TRUE(*v->has(cid));
    EXPECT_EQ(*v->get(cid), data);
    EXPECT_EQ(v->stats().blocks, 1u);
    EXPECT_EQ(v->stats().bytes, data.size());
    EXPECT_EQ(v->get(rawCid(toBytes("absent"))).error().code, Errc::kNotFound);
  }
  auto v = openOrDie(dir.path, key32(1));
  ASSERT_TRUE(v);
  EXPECT_EQ(*v->get(cid), data);
  EXPECT_EQ(v->stats().blocks, 1u);
  EXPECT_EQ(v->stats().bytes, data.size());
}

TEST(Vault, PlaintextIsNotOnDisk) {
  TempDir dir;
  const std::string secret = "a very recognisable plaintext string 0123456789";
  const auto cid = rawCid(asBytes(secret));
  {
    auto v = openOrDie(dir.path, key32(1));
    ASSERT_TRUE(v->put(cid, asBytes(secret)));
    ASSERT_TRUE(v->flush());
  }
  // Neither the content nor the CID bytes appear in any file of the database.
  const Bytes cid_bytes = cid.toBytes();
  for (const auto& f : fs::recursive_directory_iterator(dir.path)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(all.find(secret), std::string::npos) << f.path();
    EXPECT_EQ(all.find(std::string(asChars(cid_bytes))), std::string::npos) << f.path();
  }
}

TEST(Vault, WrongKeyIsAuthFailed) {
  TempDir dir;
  { ASSERT_TRUE(openOrDie(dir.path, key32(1))); }
  auto v = Vault::open(dir.path, key32(2));
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::kAuthFailed);
  EXPECT_EQ(Vault::open(dir.path, Bytes(16)).error().code, Errc::kInvalidArgument);
}

TEST(Vault, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto a = openOrDie(dir.path, key32(1));
  ASSERT_TRUE(a);
  auto b = Vault::open(dir.path, key32(1));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::kIo);
  EXPECT_NE(b.error().message.find("in use"), std::string::npos) << b.error().message;
}

TEST(Vault, TamperedOrSwappedRowsAreIntegrityErrors) {
  TempDir dir;
  const Bytes a = toBytes("block a"), b = toBytes("block b");
  {
    auto v = openOrDie(dir.path, key32(1));
    ASSERT_TRUE(v->put(rawCid(a), a));
    ASSERT_TRUE(v->put(rawCid(b), b));
    ASSERT_TRUE(v->flush());
  }
  // Swap the two rows' values: each still decrypts under the key, but not under its CID.
  editRows(dir.path, "blocks", [](auto& rows) {
    ASSERT_EQ(rows.size(), 2u);
    std::swap(rows[0].second, rows[1].second);
  });
  {
    auto v = openOrDie(dir.path, key32(1));
    EXPECT_EQ(v->get(rawCid(a)).error().code, Errc::kIntegrity);
    EXPECT_EQ(v->get(rawCid(b)).error().code, Errc::kIntegrity);
  }
  // Flip one ciphertext byte.
  editRows(dir.path, "blocks", [](auto& rows) {
    std::swap(rows[0].second, rows[1].second);  // restore
    rows[0].second[30] ^= 0x01;
  });
  auto v = openOrDie(dir.path, key32(1));
  int ok = 0, integrity = 0;
  for (const Bytes* d : {&a, &b}) {
    auto r = v->get(rawCid(*d));
    if (r) {
      ++ok;
      EXPECT_EQ(*r, *d);
    } else {
      EXPECT_EQ(r.error().code, Errc::kIntegrity);
      ++integrity;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(integrity, 1);
}

TEST(Vault, BadBlocksQuotaAndBatchesWriteNothing) {
  TempDir dir;
  auto v = openOrDie(dir.path, key32(1), VaultOptions{.quota_bytes = 1000});
  // A block that does not hash to its CID.
  auto st = v->put(rawCid(toBytes("x")), toBytes("y"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIntegrity);
  EXPECT_EQ(v->stats().blocks, 0u);
  // Quota.
  const Bytes big1(600, 1), big2(600, 2);
  ASSERT_TRUE(v->put(rawCid(big1), big1));
  st = v->put(rawCid(big2), big2);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kLimitExceeded);
  EXPECT_FALSE(*v->has(rawCid(big2)));
  EXPECT_EQ(v->stats().bytes, 600u);
  // A batch with a bad block writes none of its operations.
  const Bytes good = toBytes("good");
  VaultBatch batch;
  batch.putBlock(rawCid(good), good);
  batch.putMeta("log", "head", toBytes("h"));
  batch.putBlock(rawCid(toBytes("p")), toBytes("q"));
  EXPECT_FALSE(v->commit(batch));
  EXPECT_FALSE(*v->has(rawCid(good)));
  EXPECT_FALSE(v->getMeta("log", "head")->has_value());
  // The same batch without the bad block lands whole.
  VaultBatch ok;
  ok.putBlock(rawCid(good), good);
  ok.putMeta("log", "head", toBytes("h"));
  ASSERT_TRUE(v->commit(ok));
  EXPECT_TRUE(*v->has(rawCid(good)));
  EXPECT_EQ(**v->getMeta("log", "head"), toBytes("h"));
}

TEST(Vault, MetaRecords) {
  TempDir dir;
  auto v = openOrDie(dir.path, key32(1));
  VaultBatch b;
  b.putMeta("kv/app", "a/1", toBytes("one"));
  b.putMeta("kv/app", "a/2", toBytes("two"));
  b.putMeta("kv/app", "b/1", toBytes("three"));
  b.putMeta("kv/other", "a/9", toBytes("x"));
  ASSERT_TRUE(v->commit(b));
  EXPECT_EQ(*v->listMeta("kv/app", "a/"), (std::vector<std::string>{"a/1", "a/2"}));
  EXPECT_EQ(v->listMeta("kv/app", "")->size(), 3u);
  EXPECT_EQ(v->listMeta("kv/app", "", 2)->size(), 2u);
  VaultBatch d;
  d.deleteMeta("kv/app", "a/1");
  ASSERT_TRUE(v->commit(d));
  EXPECT_FALSE(v->getMeta("kv/app", "a/1")->has_value());
  EXPECT_EQ(v->getMeta("", "x").error().code, Errc::kInvalidArgument);
  EXPECT_EQ(v->getMeta("kv", std::string(300, 'k')).error().code, Errc::kLimitExceeded);
  // A meta value moved to another key fails authentication (the row key is the AD).
  v.reset();
  editRows(dir.path, "meta", [](auto& rows) {
    for (auto& r : rows) {
      if (r.first == std::string("kv/app\0a/2", 10)) {
        for (auto& o : rows) {
          if (o.first == std::string("kv/app\0b/1", 10)) std::swap(r.second, o.second);
        }
      }
    }
  });
  v = openOrDie(dir.path, key32(1));
  EXPECT_EQ(v->getMeta("kv/app", "a/2").error().code, Errc::kIntegrity);
}

TEST(Vault, PinsAndGarbageCollection) {
  TempDir dir;
  auto v = openOrDie(dir.path, key32(1));
  // A three-chunk UnixFS file (small chunks) plus one unrelated block.
  Bytes content(3000);
  crypto::SeededRng(1).fill(content);  // three distinct chunks
  ImportProfile profile = kProfileDefault;
  profile.chunk_size = 1024;
  MemoryByteSource src(content);
  auto imported = importFile(src, *v, profile);
  ASSERT_TRUE(imported) << imported.error().toString();
  const Bytes loose = toBytes("unreferenced");
  ASSERT_TRUE(v->put(rawCid(loose), loose));
  EXPECT_EQ(v->stats().blocks, 5u);  // root + 3 leaves + loose

  EXPECT_EQ(v->pin(rawCid(toBytes("not here"))).error().code, Errc::kNotFound);
  ASSERT_TRUE(v->pin(imported->root));
  EXPECT_EQ(v->stats().pins, 1u);
  EXPECT_EQ(*v->pins(), std::vector<codec::Cid>{imported->root});

  auto r = v->gc();
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->blocks_removed, 1u);
  EXPECT_EQ(r->bytes_freed, loose.size());
  EXPECT_FALSE(*v->has(rawCid(loose)));
  MemoryByteSink out;
  auto n = exportFile(imported->root, *v, out);
  ASSERT_TRUE(n) << n.error().toString();
  EXPECT_EQ(out.bytes(), content);

  // A direct (non-recursive) pin keeps only the root.
  ASSERT_TRUE(v->unpin(imported->root));
  EXPECT_EQ(v->unpin(imported->root).error().code, Errc::kNotFound);
  ASSERT_TRUE(v->pin(imported->root, /*recursive=*/false));
  r = v->gc();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->blocks_removed, 3u);
  EXPECT_TRUE(*v->has(imported->root));
  ASSERT_TRUE(v->unpin(imported->root));
  r = v->gc();
  EXPECT_EQ(r->blocks_removed, 1u);
  EXPECT_EQ(v->stats().blocks, 0u);
  EXPECT_EQ(v->stats().bytes, 0u);
}

TEST(Vault, BatchPinsAreAtomicWithTheirBlocks) {
  TempDir dir;
  auto v = openOrDie(dir.path, key32(1));
  const Bytes a = toBytes("entry a"), b = toBytes("entry b");
  // A pin of a block that is neither stored nor in the batch fails the whole batch.
  VaultBatch bad;
  bad.putBlock(rawCid(a), a);
  bad.pin(rawCid(b));
  EXPECT_EQ(v->commit(bad).error().code, Errc::kNotFound);
  EXPECT_FALSE(*v->has(rawCid(a)));
  EXPECT_EQ(v->stats().pins, 0u);
  // Block and pin together; a repeated pin counts once; unpin of an absent pin does nothing.
  VaultBatch ok;
  ok.putBlock(rawCid(a), a);
  ok.pin(rawCid(a));
  ok.pin(rawCid(a));
  ok.unpin(rawCid(b));
  ASSERT_TRUE(v->commit(ok));
  EXPECT_EQ(v->stats().pins, 1u);
  EXPECT_EQ(*v->pins(), std::vector<codec::Cid>{rawCid(a)});
  // Moving the pin a -> b in one batch.
  VaultBatch move;
  move.putBlock(rawCid(b), b);
  move.pin(rawCid(b));
  move.unpin(rawCid(a));
  ASSERT_TRUE(v->commit(move));
  EXPECT_EQ(*v->pins(), std::vector<codec::Cid>{rawCid(b)});
  auto r = v->gc();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->blocks_removed, 1u);
  v.reset();
  v = openOrDie(dir.path, key32(1));
  EXPECT_EQ(v->stats().pins, 1u);
  EXPECT_EQ(v->stats().blocks, 1u);
  EXPECT_EQ(*v->get(rawCid(b)), b);
}

TEST(Vault, SpaceQuotasChargeTheFirstWriterUntilGc) {
  TempDir dir;
  auto v = openOrDie(dir.path, key32(1));
  EXPECT_EQ(v->setSpaceQuota("", 1).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(v->spaceUsage(std::string(257, 's')).error().code, Errc::kInvalidArgument);
  ASSERT_TRUE(v->setSpaceQuota("app/a", 1000));
  EXPECT_EQ(v->spaceUsage("app/a")->quota, 1000u);
  EXPECT_EQ(v->spaceUsage("app/unknown")->bytes, 0u);
  const Bytes x(600, 1), y(600, 2), z(300, 3);
  ASSERT_TRUE(v->putIn("app/a", rawCid(x), x));
  EXPECT_EQ(v->spaceUsage("app/a")->bytes, 600u);
  // Over the space quota: refused, nothing written; another space (no quota) may store it.
  auto st = v->putIn("app/a", rawCid(y), y);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kLimitExceeded);
  EXPECT_NE(st.error().message.find("app/a"), std::string::npos) << st.error().message;
  EXPECT_FALSE(*v->has(rawCid(y)));
  ASSERT_TRUE(v->putIn("app/b", rawCid(y), y));
  // A block already in the vault is free to store again, and stays charged to its first writer.
  ASSERT_TRUE(v->putIn("app/a", rawCid(y), y));
  EXPECT_EQ(v->spaceUsage("app/a")->bytes, 600u);
  EXPECT_EQ(v->spaceUsage("app/b")->bytes, 600u);
  // A batch charged to a space: all or nothing.
  VaultBatch batch;
  batch.chargeTo("app/a");
  batch.putBlock(rawCid(z), z);
  batch.putBlock(rawCid(Bytes(200, 4)), Bytes(200, 4));
  EXPECT_EQ(v->commit(batch).error().code, Errc::kLimitExceeded);
  EXPECT_FALSE(*v->has(rawCid(z)));
  EXPECT_EQ(v->spaceUsage("app/a")->bytes, 600u);
  // Usage survives a reopen (unsynced puts too, after flush) and gc refunds it.
  ASSERT_TRUE(v->flush());
  v.reset();
  v = openOrDie(dir.path, key32(1));
  EXPECT_EQ(*v->spaceUsage("app/a"), (SpaceUsage{600, 1000}));
  ASSERT_TRUE(v->pin(rawCid(y)));
  auto r = v->gc();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->blocks_removed, 1u);
  EXPECT_EQ(v->spaceUsage("app/a")->bytes, 0u);
  EXPECT_EQ(v->spaceUsage("app/b")->bytes, 600u);
  ASSERT_TRUE(v->putIn("app/a", rawCid(z), z));
  EXPECT_EQ(v->spaceUsage("app/a")->bytes, 300u);
  // Lowering a quota below the usage refuses only new blocks.
  ASSERT_TRUE(v->setSpaceQuota("app/a", 100));
  EXPECT_EQ(*v->spaceUsage("app/a"), (SpaceUsage{300, 100}));
  EXPECT_EQ(v->putIn("app/a", rawCid(x), x).error().code, Errc::kLimitExceeded);
  EXPECT_EQ(*v->get(rawCid(z)), z);
}

}  // namespace
}  // namespace aether::store
