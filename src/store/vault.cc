// The vault: encrypted, content-addressed blocks, pins and small records in RocksDB.
//
// Layout (docs/storage.md):
//   column family "blocks": row key = BLAKE2b-256 keyed by the index key over the CID bytes;
//                           value   = 0x01 || nonce(24) || XChaCha20-Poly1305(block, AD = CID)
//   column family "pins":   row key as for blocks; value = 0x01 || nonce || seal(flag || CID)
//   column family "meta":   row key = namespace || 0x00 || key (plain);
//                           value   = 0x01 || nonce || seal(value, AD = row key)
//   column family "charges": row key as for blocks; value = the space id the block is charged to
//   default:                "keycheck" (a sealed constant: a wrong key fails at open),
//                           "stats" (blocks, bytes, pins as 3 x u64 BE, updated in every batch)
//                           and "space/" || space id: seal(used u64 BE || quota u64 BE || name)
// A space id is BLAKE2b-256 keyed by the index key over "space:" || name.
// The encryption and index keys are HKDF-SHA256 subkeys of the vault key.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <mutex>
#include <set>
#include <unordered_set>

#include "store/internal.h"
#include "store/store.h"

namespace aether::store {
namespace {

constexpr std::uint8_t kFormat = 0x01;
constexpr std::size_t kNonce = crypto::kXChaCha20Poly1305NonceSize;
constexpr std::size_t kOverhead = 1 + kNonce + crypto::kAeadTagSize;
constexpr std::size_t kMaxMetaKey = 256;
constexpr std::size_t kMaxMetaValue = 1 << 20;
constexpr std::size_t kMaxBlock = 8 * 1024 * 1024;
constexpr std::string_view kKeyCheckRow = "keycheck";
constexpr std::string_view kKeyCheckPlain = "aether vault v1";
constexpr std::string_view kStatsRow = "stats";
constexpr std::string_view kSpaceRowPrefix = "space/";
constexpr std::size_t kMaxSpaceName = 256;

Error rocksError(const rocksdb::Status& s, std::string_view what) {
  return Error{Errc::kIo, "vault: " + std::string(what) + ": " + s.ToString()};
}

rocksdb::Slice slice(ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
ByteView view(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

void putU64(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t getU64(ByteView in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

struct Vault::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, blocks, pins, meta, charges
  crypto::SecretBytes enc_key;
  crypto::SecretBytes index_key;
  VaultOptions options;
  crypto::SystemRng rng;

  std::mutex write_mu;  // serializes writers so the stats row stays exact
  VaultStats stats;     // guarded by write_mu

  ~Impl() {
    if (db) {
      for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
      (void)db->Close();
    }
  }

  rocksdb::ColumnFamilyHandle* cfDefault() const { return handles[0]; }
  rocksdb::ColumnFamilyHandle* cfBlocks() const { return handles[1]; }
  rocksdb::ColumnFamilyHandle* cfPins() const { return handles[2]; }
  rocksdb::ColumnFamilyHandle* cfMeta() const { return handles[3]; }
  rocksdb::ColumnFamilyHandle* cfCharges() const { return handles[4]; }

  // ---- spaces: REQUIRES write_mu for the read-modify-write users.
  struct SpaceRec {
    std::string row;  // "space/" || id
    std::string name;
    SpaceUsage usage;
  };
  Result<std::string> spaceRow(std::string_view name) const {
    if (name.empty() || name.size() > kMaxSpaceName) {
      return fail(Errc::kInvalidArgument, "vault: space names are 1.." + std::to_string(kMaxSpaceName) + " bytes");
    }
    std::string msg = "space:";
    msg.append(name);
    AE_ASSIGN_OR_RETURN(auto id, crypto::blake2b256Keyed(index_key.view(), asBytes(msg)));
    std::string row(kSpaceRowPrefix);
    row.append(reinterpret_cast<const char*>(id.data()), id.size());
    return row;
  }
  // The record under `row` (zero usage when absent; `name` fills a new record).
  Result<SpaceRec> loadSpace(const std::string& row, std::string_view name) {
    SpaceRec rec{row, std::string(name), {}};
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions(), cfDefault(), row, &value);
    if (s.IsNotFound()) return rec;
    if (!s.ok()) return std::unexpected(rocksError(s, "read space"));
    AE_ASSIGN_OR_RETURN(Bytes plain, open(asBytes(row), view(value), "space record"));
    if (plain.size() < 16) return fail(Errc::kIntegrity, "vault: space record is malformed");
    rec.usage.bytes = getU64(plain);
    rec.usage.quota = getU64(ByteView(plain).subspan(8));
    rec.name.assign(reinterpret_cast<const char*>(plain.data() + 16), plain.size() - 16);
    return rec;
  }
  Status stageSpace(rocksdb::WriteBatch& wb, const SpaceRec& rec) {
    Bytes plain;
    putU64(plain, rec.usage.bytes);
    putU64(plain, rec.usage.quota);
    append(plain, asBytes(rec.name));
    AE_ASSIGN_OR_RETURN(Bytes sealed, seal(asBytes(rec.row), plain));
    wb.Put(cfDefault(), rec.row, slice(sealed));
    return {};
  }

  Result<crypto::Blake2b256Digest> rowKey(const codec::Cid& cid) const {
    return crypto::blake2b256Keyed(index_key.view(), cid.toBytes());
  }

  Result<Bytes> seal(ByteView aad, ByteView plain) {
    Bytes out(kOverhead + plain.size());
    out[0] = kFormat;
    rng.fill(std::span<std::uint8_t>(out.data() + 1, kNonce));
    AE_TRY(crypto::xchacha20poly1305SealInto(enc_key.view(), ByteView(out.data() + 1, kNonce), aad, plain,
                                             std::span<std::uint8_t>(out.data() + 1 + kNonce, plain.size() + crypto::kAeadTagSize)));
    return out;
  }

  Result<Bytes> open(ByteView aad, ByteView sealed, std::string_view what) const {
    if (sealed.size() < kOverhead || sealed[0] != kFormat) {
      return fail(Errc::kIntegrity, "vault: " + std::string(what) + ": stored row is malformed");
    }
    Bytes out(sealed.size() - kOverhead);
    auto st = crypto::xchacha20poly1305OpenInto(enc_key.view(), sealed.subspan(1, kNonce), aad, sealed.subspan(1 + kNonce), out);
    if (!st) return fail(Errc::kIntegrity, "vault: " + std::string(what) + ": stored bytes fail authentication");
    return out;
  }

  Bytes statsValue(const VaultStats& s) const {
    Bytes v;
    putU64(v, s.blocks);
    putU64(v, s.bytes);
    putU64(v, s.pins);
    return v;
  }

  // Block puts skip the write-ahead log (the ciphertext would otherwise be written twice: WAL
  // and blob file); flush() makes them durable with an atomic memtable flush. A WAL'd write
  // must never depend on unflushed no-WAL writes (the stats row would count blocks a crash
  // loses), so it flushes them first. REQUIRES: write_mu held for both.
  bool unflushed_no_wal = false;  // guarded by write_mu

  Status flushMemtables() {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    auto s = db->Flush(fo, handles);
    if (!s.ok()) return std::unexpected(rocksError(s, "flush"));
    unflushed_no_wal = false;
    return {};
  }

  Status write(rocksdb::WriteBatch& batch, bool sync) {
    if (unflushed_no_wal) AE_TRY(flushMemtables());
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    auto s = db->Write(wo, &batch);
    if (!s.ok()) return std::unexpected(rocksError(s, "write"));
    return {};
  }

  Status writeNoWal(rocksdb::WriteBatch& batch) {
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    auto s = db->Write(wo, &batch);
    if (!s.ok()) return std::unexpected(rocksError(s, "write"));
    unflushed_no_wal = true;
    return {};
  }

  Result<bool> rowExists(rocksdb::ColumnFamilyHandle* cf, ByteView key) {
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions(), cf, slice(key), &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return std::unexpected(rocksError(s, "read"));
    return true;
  }

  static std::string metaRow(std::string_view ns, std::string_view key) {
    std::string row(ns);
    row.push_back('\0');
    row.append(key);
    return row;
  }

  Status checkMeta(std::string_view ns, std::string_view key) const {
    if (ns.empty() || ns.find('\0') != std::string_view::npos) {
      return fail(Errc::kInvalidArgument, "vault: meta namespace must be non-empty without NUL");
    }
    if (ns.size() + key.size() > kMaxMetaKey) {
      return fail(Errc::kLimitExceeded, "vault: meta namespace + key longer than " + std::to_string(kMaxMetaKey));
    }
    return {};
  }

  // Blocks reachable from `root` (including it), by following dag-pb and dag-cbor links.
  Status mark(const codec::Cid& root, bool recursive, std::set<codec::Cid>& seen,
              std::unordered_set<std::string>& rows);
  Result<Bytes> getBlock(const codec::Cid& cid);
};

Result<Bytes> Vault::Impl::getBlock(const codec::Cid& cid) {
  AE_ASSIGN_OR_RETURN(auto key, rowKey(cid));
  std::string value;
  auto s = db->Get(rocksdb::ReadOptions(), cfBlocks(), slice(key), &value);
  if (s.IsNotFound()) return fail(Errc::kNotFound, "vault: no block " + cid.toString());
  if (!s.ok()) return std::unexpected(rocksError(s, "read block"));
  AE_ASSIGN_OR_RETURN(Bytes block, open(cid.toBytes(), view(value), "block " + cid.toString()));
  if (auto st = verifyBlock(cid, block); !st) {
    return fail(Errc::kIntegrity, "vault: block " + cid.toString() + " does not hash to its CID");
  }
  return block;
}

namespace {
void collectLinks(const codec::Value& v, std::vector<codec::Cid>& out, int depth = 0) {
  if (depth > 64) return;
  if (const auto* c = v.asLink()) {
    out.push_back(*c);
  } else if (const auto* l = v.asList()) {
    for (const auto& e : *l) collectLinks(e, out, depth + 1);
  } else if (const auto* m = v.asMap()) {
    for (const auto& [k, e] : *m) collectLinks(e, out, depth + 1);
  }
}
}  // namespace

Status Vault::Impl::mark(const codec::Cid& root, bool recursive, std::set<codec::Cid>& seen,
                         std::unordered_set<std::string>& rows) {
  std::vector<codec::Cid> stack{root};
  while (!stack.empty()) {
    codec::Cid cid = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(cid).second) continue;
    AE_ASSIGN_OR_RETURN(auto key, rowKey(cid));
    rows.insert(std::string(reinterpret_cast<const char*>(key.data()), key.size()));
    if (!recursive) continue;  // a direct pin keeps only its root
    auto block = getBlock(cid);
    if (!block) {
      if (block.error().code == Errc::kNotFound) continue;  // a partial DAG: keep what is there
      return std::unexpected(block.error());
    }
    if (cid.codec() == codec::mc::kDagPb) {
      if (auto node = internal::decodePbNode(*block)) {
        for (const auto& l : node->links) stack.push_back(l.hash);
      }
    } else if (cid.codec() == codec::mc::kDagCbor) {
      if (auto v = codec::decodeDagCbor(*block)) {
        std::vector<codec::Cid> links;
        collectLinks(*v, links);
        for (auto& l : links) stack.push_back(std::move(l));
      }
    }
  }
  return {};
}

// ---- VaultBatch ----------------------------------------------------------------------------------

void VaultBatch::putBlock(const codec::Cid& cid, ByteView block) {
  ops_.push_back(Op{Op::Kind::kBlock, {}, cid.toBytes(), Bytes(block.begin(), block.end())});
}
void VaultBatch::putMeta(std::string_view ns, std::string_view key, ByteView value) {
  ops_.push_back(Op{Op::Kind::kPutMeta, std::string(ns), Bytes(asBytes(key).begin(), asBytes(key).end()),
                    Bytes(value.begin(), value.end())});
}
void VaultBatch::deleteMeta(std::string_view ns, std::string_view key) {
  ops_.push_back(Op{Op::Kind::kDeleteMeta, std::string(ns), Bytes(asBytes(key).begin(), asBytes(key).end()), {}});
}
void VaultBatch::pin(const codec::Cid& root) { ops_.push_back(Op{Op::Kind::kPin, {}, root.toBytes(), {}}); }
void VaultBatch::unpin(const codec::Cid& root) { ops_.push_back(Op{Op::Kind::kUnpin, {}, root.toBytes(), {}}); }

// ---- Vault ---------------------------------------------------------------------------------------

Result<crypto::SecretBytes> vaultKeyFromSeed(ByteView seed) {
  if (seed.size() != 32) return fail(Errc::kInvalidArgument, "vault key: seed must be 32 bytes");
  return crypto::hkdfSha256(seed, {}, asBytes("aether vault key v1"), 32);
}

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

Result<std::unique_ptr<Vault>> Vault::open(const std::filesystem::path& dir, ByteView key, const VaultOptions& options) {
  if (key.size() != 32) return fail(Errc::kInvalidArgument, "vault: key must be 32 bytes");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  AE_ASSIGN_OR_RETURN(impl->enc_key, crypto::hkdfSha256(key, {}, asBytes("aether vault encryption"), 32));
  AE_ASSIGN_OR_RETURN(impl->index_key, crypto::hkdfSha256(key, {}, asBytes("aether vault index"), 32));

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  db_options.paranoid_checks = true;
  db_options.atomic_flush = true;  // column families flush together: blocks and the stats row agree
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 4;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.compression = rocksdb::kNoCompression;  // ciphertext does not compress
  rocksdb::ColumnFamilyOptions block_options = cf_options;
  // Block values (up to a few MiB each) go to blob files: compaction then moves 32-byte keys
  // and blob references, not the ciphertext (RocksDB's integrated BlobDB).
  block_options.enable_blob_files = true;
  block_options.min_blob_size = 4096;
  block_options.blob_file_size = 256 << 20;
  block_options.enable_blob_garbage_collection = true;
  block_options.write_buffer_size = 32 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"blocks", block_options},
      {"pins", cf_options},
      {"meta", cf_options},
      {"charges", cf_options},
  };
  std::error_code ec;
  if (options.create_if_missing) std::filesystem::create_directories(dir, ec);
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, dir.string(), cfs, &impl->handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return fail(Errc::kIo, "vault: " + dir.string() + " is in use by another process (" + s.ToString() + ")");
    }
    return std::unexpected(rocksError(s, "open " + dir.string()));
  }
  impl->db.reset(raw);

  // The key check row: created with the vault, verified on every open.
  std::string check;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->cfDefault(), std::string(kKeyCheckRow), &check);
  if (s.IsNotFound()) {
    AE_ASSIGN_OR_RETURN(Bytes sealed, impl->seal(asBytes(kKeyCheckRow), asBytes(kKeyCheckPlain)));
    rocksdb::WriteBatch batch;
    batch.Put(impl->cfDefault(), std::string(kKeyCheckRow), slice(sealed));
    batch.Put(impl->cfDefault(), std::string(kStatsRow), slice(impl->statsValue({})));
    AE_TRY(impl->write(batch, true));
  } else if (!s.ok()) {
    return std::unexpected(rocksError(s, "read key check"));
  } else {
    auto plain = impl->open(asBytes(kKeyCheckRow), view(check), "key check");
    if (!plain || asChars(*plain) != kKeyCheckPlain) {
      return fail(Errc::kAuthFailed, "vault: " + dir.string() + " was created with another key");
    }
    std::string stats;
    s = impl->db->Get(rocksdb::ReadOptions(), impl->cfDefault(), std::string(kStatsRow), &stats);
    if (!s.ok() || stats.size() != 24) return fail(Errc::kIntegrity, "vault: the stats row is missing or malformed");
    impl->stats = VaultStats{getU64(view(stats)), getU64(view(stats).subspan(8)), getU64(view(stats).subspan(16))};
  }
  return std::unique_ptr<Vault>(new Vault(std::move(impl)));
}

Status Vault::put(const codec::Cid& cid, ByteView block) {
  VaultBatch batch;
  batch.putBlock(cid, block);
  return commitImpl(batch, Durability::kNoWal);
}

Status Vault::putIn(std::string_view space, const codec::Cid& cid, ByteView block) {
  VaultBatch batch;
  batch.chargeTo(space);
  batch.putBlock(cid, block);
  return commitImpl(batch, Durability::kNoWal);
}

Result<Bytes> Vault::get(const codec::Cid& cid) { return impl_->getBlock(cid); }

Result<bool> Vault::has(const codec::Cid& cid) {
  AE_ASSIGN_OR_RETURN(auto key, impl_->rowKey(cid));
  return impl_->rowExists(impl_->cfBlocks(), key);
}

Status Vault::flush() {
  std::lock_guard lock(impl_->write_mu);
  if (impl_->unflushed_no_wal) AE_TRY(impl_->flushMemtables());
  auto s = impl_->db->FlushWAL(/*sync=*/true);
  if (!s.ok()) return std::unexpected(rocksError(s, "sync"));
  return {};
}

Status Vault::commit(const VaultBatch& batch, bool sync) {
  return commitImpl(batch, sync ? Durability::kSynced : Durability::kWal);
}

Status Vault::commitImpl(const VaultBatch& batch, Durability durability) {
  auto& im = *impl_;
  // Check everything before writing anything.
  std::vector<codec::Cid> cids(batch.ops().size(), codec::Cid::v1(codec::mc::kRaw, *codec::Multihash::identity({})));
  for (std::size_t i = 0; i < batch.ops().size(); ++i) {
    const auto& op = batch.ops()[i];
    if (op.kind == VaultBatch::Op::Kind::kBlock) {
      auto cid = codec::Cid::fromBytes(op.key);
      if (!cid) return withContext(cid.error(), "vault: block CID");
      if (op.value.size() > kMaxBlock) {
        return fail(Errc::kLimitExceeded, "vault: block " + cid->toString() + " is larger than " + std::to_string(kMaxBlock) + " bytes");
      }
      if (auto st = verifyBlock(*cid, op.value); !st) {
        return fail(st.error().code, "vault: block does not match its CID " + cid->toString() + ": " + st.error().message);
      }
      cids[i] = std::move(*cid);
    } else if (op.kind == VaultBatch::Op::Kind::kPin || op.kind == VaultBatch::Op::Kind::kUnpin) {
      auto cid = codec::Cid::fromBytes(op.key);
      if (!cid) return withContext(cid.error(), "vault: pin CID");
      cids[i] = std::move(*cid);
    } else {
      AE_TRY(im.checkMeta(op.ns, asChars(op.key)));
      if (op.value.size() > kMaxMetaValue) return fail(Errc::kLimitExceeded, "vault: meta value larger than 1 MiB");
    }
  }
  std::optional<std::string> space_row;
  if (!batch.space().empty()) {
    AE_ASSIGN_OR_RETURN(space_row, im.spaceRow(batch.space()));
  }
  std::lock_guard lock(im.write_mu);
  VaultStats next = im.stats;
  std::optional<Impl::SpaceRec> space;
  if (space_row) {
    AE_ASSIGN_OR_RETURN(space, im.loadSpace(*space_row, batch.space()));
  }
  rocksdb::WriteBatch wb;
  std::set<std::string> fresh;  // rows added by this batch (a batch may repeat a block)
  std::map<std::string, bool> pin_state;  // pins set / removed earlier in this batch
  for (std::size_t i = 0; i < batch.ops().size(); ++i) {
    const auto& op = batch.ops()[i];
    switch (op.kind) {
      case VaultBatch::Op::Kind::kBlock: {
        AE_ASSIGN_OR_RETURN(auto key, im.rowKey(cids[i]));
        std::string row(reinterpret_cast<const char*>(key.data()), key.size());
        if (fresh.contains(row)) break;
        AE_ASSIGN_OR_RETURN(bool exists, im.rowExists(im.cfBlocks(), key));
        if (exists) break;  // content-addressed: same CID, same bytes
        if (im.options.quota_bytes != 0 && next.bytes + op.value.size() > im.options.quota_bytes) {
          return fail(Errc::kLimitExceeded, "vault: quota of " + std::to_string(im.options.quota_bytes) +
                                                " bytes would be exceeded (" + std::to_string(next.bytes) + " used)");
        }
        if (space && space->usage.quota != 0 && space->usage.bytes + op.value.size() > space->usage.quota) {
          return fail(Errc::kLimitExceeded, "vault: quota of space '" + space->name + "' (" +
                                                std::to_string(space->usage.quota) + " bytes) would be exceeded (" +
                                                std::to_string(space->usage.bytes) + " used)");
        }
        AE_ASSIGN_OR_RETURN(Bytes sealed, im.seal(op.key, op.value));
        wb.Put(im.cfBlocks(), row, slice(sealed));
        if (space) {
          wb.Put(im.cfCharges(), row, space->row.substr(kSpaceRowPrefix.size()));
          space->usage.bytes += op.value.size();
        }
        fresh.insert(std::move(row));
        next.blocks += 1;
        next.bytes += op.value.size();
        break;
      }
      case VaultBatch::Op::Kind::kPutMeta: {
        const std::string row = Impl::metaRow(op.ns, asChars(op.key));
        AE_ASSIGN_OR_RETURN(Bytes sealed, im.seal(asBytes(row), op.value));
        wb.Put(im.cfMeta(), row, slice(sealed));
        break;
      }
      case VaultBatch::Op::Kind::kDeleteMeta:
        wb.Delete(im.cfMeta(), Impl::metaRow(op.ns, asChars(op.key)));
        break;
      case VaultBatch::Op::Kind::kPin:
      case VaultBatch::Op::Kind::kUnpin: {
        // As Vault::pin / unpin, inside this write batch.
        AE_ASSIGN_OR_RETURN(auto key, im.rowKey(cids[i]));
        const std::string row(reinterpret_cast<const char*>(key.data()), key.size());
        const ByteView key_view(key.data(), key.size());
        AE_ASSIGN_OR_RETURN(bool pinned, im.rowExists(im.cfPins(), key));
        if (auto it = pin_state.find(row); it != pin_state.end()) pinned = it->second;
        if (op.kind == VaultBatch::Op::Kind::kPin) {
          AE_ASSIGN_OR_RETURN(bool present, im.rowExists(im.cfBlocks(), key));
          if (!present && !fresh.contains(row)) {
            return fail(Errc::kNotFound, "vault: cannot pin " + cids[i].toString() + ": the block is not in the vault");
          }
          Bytes plain{1};
          append(plain, op.key);
          AE_ASSIGN_OR_RETURN(Bytes sealed, im.seal(key_view, plain));
          wb.Put(im.cfPins(), slice(key_view), slice(sealed));
          if (!pinned) next.pins += 1;
          pin_state[row] = true;
        } else {
          if (pinned) {
            wb.Delete(im.cfPins(), slice(key_view));
            next.pins -= 1;
          }
          pin_state[row] = false;
        }
        break;
      }
    }
  }
  if (space && !fresh.empty()) AE_TRY(im.stageSpace(wb, *space));
  wb.Put(im.cfDefault(), std::string(kStatsRow), slice(im.statsValue(next)));
  if (durability == Durability::kNoWal) {
    AE_TRY(im.writeNoWal(wb));
  } else {
    AE_TRY(im.write(wb, durability == Durability::kSynced));
  }
  im.stats = next;
  return {};
}

Result<std::optional<Bytes>> Vault::getMeta(std::string_view ns, std::string_view key) {
  AE_TRY(impl_->checkMeta(ns, key));
  const std::string row = Impl::metaRow(ns, key);
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cfMeta(), row, &value);
  if (s.IsNotFound()) return std::optional<Bytes>{};
  if (!s.ok()) return std::unexpected(rocksError(s, "read meta"));
  AE_ASSIGN_OR_RETURN(Bytes plain, impl_->open(asBytes(row), view(value), "meta " + std::string(ns)));
  return std::optional<Bytes>(std::move(plain));
}

Result<std::vector<std::string>> Vault::listMeta(std::string_view ns, std::string_view prefix, std::size_t limit) {
  AE_TRY(impl_->checkMeta(ns, prefix));
  const std::string start = Impl::metaRow(ns, prefix);
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfMeta()));
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    auto k = it->key();
    if (!k.starts_with(start)) break;
    out.emplace_back(k.data() + ns.size() + 1, k.size() - ns.size() - 1);
  }
  if (!it->status().ok()) return std::unexpected(rocksError(it->status(), "list meta"));
  return out;
}

Status Vault::pin(const codec::Cid& root, bool recursive) {
  auto& im = *impl_;
  AE_ASSIGN_OR_RETURN(bool present, has(root));
  if (!present) return fail(Errc::kNotFound, "vault: cannot pin " + root.toString() + ": the block is not in the vault");
  AE_ASSIGN_OR_RETURN(auto key, im.rowKey(root));
  Bytes plain{static_cast<std::uint8_t>(recursive ? 1 : 0)};
  append(plain, root.toBytes());
  AE_ASSIGN_OR_RETURN(Bytes sealed, im.seal(ByteView(key.data(), key.size()), plain));
  std::lock_guard lock(im.write_mu);
  AE_ASSIGN_OR_RETURN(bool pinned, im.rowExists(im.cfPins(), key));
  VaultStats next = im.stats;
  if (!pinned) next.pins += 1;
  rocksdb::WriteBatch wb;
  wb.Put(im.cfPins(), slice(ByteView(key.data(), key.size())), slice(sealed));
  wb.Put(im.cfDefault(), std::string(kStatsRow), slice(im.statsValue(next)));
  AE_TRY(im.write(wb, true));
  im.stats = next;
  return {};
}

Status Vault::unpin(const codec::Cid& root) {
  auto& im = *impl_;
  AE_ASSIGN_OR_RETURN(auto key, im.rowKey(root));
  std::lock_guard lock(im.write_mu);
  AE_ASSIGN_OR_RETURN(bool pinned, im.rowExists(im.cfPins(), key));
  if (!pinned) return fail(Errc::kNotFound, "vault: " + root.toString() + " is not pinned");
  VaultStats next = im.stats;
  next.pins -= 1;
  rocksdb::WriteBatch wb;
  wb.Delete(im.cfPins(), slice(ByteView(key.data(), key.size())));
  wb.Put(im.cfDefault(), std::string(kStatsRow), slice(im.statsValue(next)));
  AE_TRY(im.write(wb, true));
  im.stats = next;
  return {};
}

Result<std::vector<codec::Cid>> Vault::pins() {
  std::vector<codec::Cid> out;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfPins()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto k = it->key();
    AE_ASSIGN_OR_RETURN(Bytes plain, impl_->open(ByteView(reinterpret_cast<const std::uint8_t*>(k.data()), k.size()),
                                                 ByteView(reinterpret_cast<const std::uint8_t*>(it->value().data()), it->value().size()),
                                                 "pin"));
    if (plain.empty()) return fail(Errc::kIntegrity, "vault: empty pin row");
    AE_ASSIGN_OR_RETURN(codec::Cid cid, codec::Cid::fromBytes(ByteView(plain).subspan(1)));
    out.push_back(std::move(cid));
  }
  if (!it->status().ok()) return std::unexpected(rocksError(it->status(), "list pins"));
  return out;
}

Result<GcResult> Vault::gc() {
  auto& im = *impl_;
  // Mark: every block reachable from a pin. Writers are held off for the whole run, so a block
  // added after the mark cannot be swept.
  std::lock_guard lock(im.write_mu);
  std::set<codec::Cid> seen;
  std::unordered_set<std::string> live;
  {
    std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(rocksdb::ReadOptions(), im.cfPins()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto k = it->key();
      AE_ASSIGN_OR_RETURN(Bytes plain, im.open(ByteView(reinterpret_cast<const std::uint8_t*>(k.data()), k.size()),
                                               ByteView(reinterpret_cast<const std::uint8_t*>(it->value().data()), it->value().size()),
                                               "pin"));
      if (plain.empty()) return fail(Errc::kIntegrity, "vault: empty pin row");
      AE_ASSIGN_OR_RETURN(codec::Cid cid, codec::Cid::fromBytes(ByteView(plain).subspan(1)));
      AE_TRY(im.mark(cid, plain[0] == 1, seen, live));
    }
    if (!it->status().ok()) return std::unexpected(rocksError(it->status(), "gc: pins"));
  }
  // Sweep.
  GcResult result;
  VaultStats next = im.stats;
  std::map<std::string, std::uint64_t> refunds;  // space row -> bytes freed
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(rocksdb::ReadOptions(), im.cfBlocks()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string row = it->key().ToString();
    if (live.contains(row)) continue;
    const std::uint64_t plain = it->value().size() >= kOverhead ? it->value().size() - kOverhead : 0;
    wb.Delete(im.cfBlocks(), row);
    result.blocks_removed += 1;
    result.bytes_freed += plain;
    std::string charged;
    auto s = im.db->Get(rocksdb::ReadOptions(), im.cfCharges(), row, &charged);
    if (s.ok()) {
      wb.Delete(im.cfCharges(), row);
      refunds[std::string(kSpaceRowPrefix) + charged] += plain;
    } else if (!s.IsNotFound()) {
      return std::unexpected(rocksError(s, "gc: charges"));
    }
  }
  if (!it->status().ok()) return std::unexpected(rocksError(it->status(), "gc: blocks"));
  for (const auto& [space_row, bytes] : refunds) {
    AE_ASSIGN_OR_RETURN(auto rec, im.loadSpace(space_row, {}));
    rec.usage.bytes -= std::min(rec.usage.bytes, bytes);
    AE_TRY(im.stageSpace(wb, rec));
  }
  next.blocks -= std::min(next.blocks, result.blocks_removed);
  next.bytes -= std::min(next.bytes, result.bytes_freed);
  wb.Put(im.cfDefault(), std::string(kStatsRow), slice(im.statsValue(next)));
  AE_TRY(im.write(wb, true));
  im.stats = next;
  return result;
}

VaultStats Vault::stats() const {
  std::lock_guard lock(impl_->write_mu);
  return impl_->stats;
}

}  // namespace aether::store

namespace aether::store {

Status Vault::setSpaceQuota(std::string_view space, std::uint64_t quota_bytes) {
  auto& im = *impl_;
  AE_ASSIGN_OR_RETURN(std::string row, im.spaceRow(space));
  std::lock_guard lock(im.write_mu);
  AE_ASSIGN_OR_RETURN(auto rec, im.loadSpace(row, space));
  rec.usage.quota = quota_bytes;
  rocksdb::WriteBatch wb;
  AE_TRY(im.stageSpace(wb, rec));
  return im.write(wb, true);
}

Result<SpaceUsage> Vault::spaceUsage(std::string_view space) {
  auto& im = *impl_;
  AE_ASSIGN_OR_RETURN(std::string row, im.spaceRow(space));
  std::lock_guard lock(im.write_mu);
  AE_ASSIGN_OR_RETURN(auto rec, im.loadSpace(row, space));
  return rec.usage;
}

}  // namespace aether::store
