// store: content-addressed blocks the way IPFS lays them out — UnixFS files and directories
// built from dag-pb and raw blocks (byte-identical to npm ipfs-unixfs-importer), the verifying
// exporter that streams them back, and CAR v1 archives. Importers, exporters, readers and writers
// are single-threaded objects (thread-compatible); the free functions are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"

namespace aether::store {

// ---- byte and block streams ---------------------------------------------------------------------

// A sequential byte stream (a file, a socket, a buffer). read() fills up to out.size() bytes
// and returns how many it wrote; 0 means end of stream. It may return fewer than asked.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  [[nodiscard]] virtual Result<std::size_t> read(std::span<std::uint8_t> out) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  [[nodiscard]] virtual Status write(ByteView data) = 0;
};

// Where importers put blocks. put() may see the same block more than once (a file with repeated
// chunks); implementations deduplicate if they care.
class BlockSink {
 public:
  virtual ~BlockSink() = default;
  [[nodiscard]] virtual Status put(const codec::Cid& cid, ByteView block) = 0;
};

// Where exporters get blocks from. kNotFound for a block it does not hold. Callers verify what
// they get (verifyBlock); a source need not.
class BlockSource {
 public:
  virtual ~BlockSource() = default;
  [[nodiscard]] virtual Result<Bytes> get(const codec::Cid& cid) = 0;
};

// A ByteSource over a caller-owned buffer.
class MemoryByteSource final : public ByteSource {
 public:
  explicit MemoryByteSource(ByteView data) : data_(data) {}
  [[nodiscard]] Result<std::size_t> read(std::span<std::uint8_t> out) override;

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

// A ByteSink appending to a vector.
class MemoryByteSink final : public ByteSink {
 public:
  [[nodiscard]] Status write(ByteView data) override;
  Bytes& bytes() { return bytes_; }

 private:
  Bytes bytes_;
};

// Blocks in memory, deduplicated, remembering first-insertion order (for CAR export).
class MemoryBlockStore final : public BlockSink, public BlockSource {
 public:
  [[nodiscard]] Status put(const codec::Cid& cid, ByteView block) override;
  [[nodiscard]] Result<Bytes> get(const codec::Cid& cid) override;
  // Replaces a stored block's bytes (tests use it to tamper). kNotFound if absent.
  [[nodiscard]] Status replace(const codec::Cid& cid, Bytes block);
  std::size_t size() const { return order_.size(); }
  const std::vector<codec::Cid>& order() const { return order_; }

 private:
  std::map<codec::Cid, Bytes> blocks_;
  std::vector<codec::Cid> order_;
};

// Checks that `block` hashes to the CID's multihash (sha2-256 or identity; other hash functions
// are kUnsupported). kIntegrity on a mismatch.
[[nodiscard]] Status verifyBlock(const codec::Cid& cid, ByteView block);

// The CID of `block` under `codec` (sha2-256); version 0 requires codec == dag-pb.
[[nodiscard]] Result<codec::Cid> cidForBlock(std::uint64_t version, std::uint64_t codec,
                                             ByteView block);

// ---- UnixFS import ------------------------------------------------------------------------------

enum class LeafKind : std::uint8_t {
  kRaw,    // leaves are raw blocks (always CIDv1 raw)
  kDagPb,  // leaves are dag-pb nodes holding a UnixFS "file" message with the bytes
};

// How a directory that grows too big would be split into a HAMT shard, as the JS importer
// estimates it. We do not build HAMT shards: a directory whose estimate exceeds
// ImportProfile::shard_threshold is refused with kUnsupported (the JS importer would shard it).
enum class ShardEstimate : std::uint8_t {
  kLinksBytes,  // sum of name bytes + CID bytes per entry (default, unixfs-v0-2015)
  kBlockBytes,  // the serialized directory node size (unixfs-v1-2025)
};

// The knobs that decide a UnixFS DAG's shape, hence its root CID. Layout is always balanced
// and the chunker always fixed-size.
struct ImportProfile {
  std::string_view name;
  std::uint64_t cid_version = 1;      // for dag-pb nodes; raw leaves are always CIDv1
  std::size_t chunk_size = 262144;    // bytes per leaf
  std::size_t max_links = 174;        // children per file node
  LeafKind leaves = LeafKind::kRaw;
  ShardEstimate shard_estimate = ShardEstimate::kLinksBytes;
  std::size_t shard_threshold = 262144;

  // kInvalidArgument for chunk_size 0 or > kMaxChunkSize, max_links < 2, cid_version > 1.
  [[nodiscard]] Status validate() const;
  // "default", "unixfs-v1-2025", "unixfs-v0-2015"; kNotFound for anything else.
  [[nodiscard]] static Result<ImportProfile> byName(std::string_view name);

  static constexpr std::size_t kMaxChunkSize = 4 * 1024 * 1024;
};

// ipfs-unixfs-importer without a profile (and Kubo --cid-version=1): CIDv1, 256 KiB, 174, raw.
inline constexpr ImportProfile kProfileDefault{"default", 1, 262144, 174, LeafKind::kRaw,
                                               ShardEstimate::kLinksBytes, 262144};
// IPIP-0499 unixfs-v1-2025: CIDv1, 1 MiB, 1024 links, raw leaves.
inline constexpr ImportProfile kProfileUnixfsV1_2025{"unixfs-v1-2025", 1, 1048576, 1024,
                                                     LeafKind::kRaw, ShardEstimate::kBlockBytes,
                                                     262144};
// IPIP-0499 unixfs-v0-2015: CIDv0, 256 KiB, 174 links, dag-pb leaves.
inline constexpr ImportProfile kProfileUnixfsV0_2015{"unixfs-v0-2015", 0, 262144, 174,
                                                     LeafKind::kDagPb, ShardEstimate::kLinksBytes,
                                                     262144};

struct ImportResult {
  codec::Cid root;
  std::uint64_t content_size = 0;  // file bytes (0 for a directory)
  std::uint64_t dag_size = 0;      // what a parent link's Tsize would say: all blocks' bytes
};

// Imports one file, reading `content` one chunk at a time (memory: one chunk plus at most
// max_links pending links per tree level), putting every block into `sink` as it is made.
[[nodiscard]] Result<ImportResult> importFile(ByteSource& content, BlockSink& sink,
                                              const ImportProfile& profile);

// Builds a directory tree the way importer([{path: 'root/a/b', content}, ...]) with
// wrapWithDirectory false does and returns the root directory. Paths are relative to that root
// ("a/b.txt"), '/'-separated, without empty, "." or ".." components. Files are imported (and
// their blocks emitted) when added; directory nodes are emitted by finish(), children first.
// Entries are sorted by name bytes. Symlinks, mode and mtime are not represented.
class DirectoryImporter {
 public:
  DirectoryImporter(BlockSink& sink, const ImportProfile& profile);
  ~DirectoryImporter();
  DirectoryImporter(DirectoryImporter&&) noexcept;
  DirectoryImporter& operator=(DirectoryImporter&&) noexcept;

  // kAlreadyExists if the path (or a file on its way) is already taken.
  [[nodiscard]] Status addFile(std::string_view path, ByteSource& content);
  // An (empty unless later filled) directory; parents are created implicitly.
  [[nodiscard]] Status addDirectory(std::string_view path);
  // REQUIRES: called once.
  [[nodiscard]] Result<ImportResult> finish();

  struct Dir;  // opaque; defined in unixfs.cc

 private:
  BlockSink* sink_;
  ImportProfile profile_;
  std::unique_ptr<Dir> root_;
};

// ---- UnixFS export ------------------------------------------------------------------------------

struct ExportLimits {
  std::size_t max_depth = 64;                  // dag-pb nesting
  std::size_t max_block = 4 * 1024 * 1024;     // bytes per block
};

// Streams the content of the file at `root` into `out`, fetching each block from `source`
// and verifying it against its CID first (kIntegrity on a mismatch). Checks blocksizes and
// filesize against what the children hold (kMalformed). Returns the number of bytes written.
// A directory root is kInvalidArgument.
[[nodiscard]] Result<std::uint64_t> exportFile(const codec::Cid& root, BlockSource& source,
                                               ByteSink& out, const ExportLimits& limits = {});

struct DirectoryEntry {
  std::string name;
  codec::Cid cid;
  std::uint64_t tsize = 0;
};
// The entries of a (non-sharded) UnixFS directory, verified against its CID.
[[nodiscard]] Result<std::vector<DirectoryEntry>> listDirectory(const codec::Cid& dir,
                                                                BlockSource& source);

// The link CIDs of a dag-pb block, in order (kMalformed etc. as the dag-pb decoder reports).
[[nodiscard]] Result<std::vector<codec::Cid>> dagPbLinks(ByteView block);

// ---- CAR v1 -------------------------------------------------------------------------------------

// Writes a CARv1 stream: the header at create(), then one section per put(). put() does not
// check blocks against CIDs (importers are trusted producers); it does not deduplicate.
class CarWriter final : public BlockSink {
 public:
  [[nodiscard]] static Result<CarWriter> create(ByteSink& out, std::span<const codec::Cid> roots);
  [[nodiscard]] Status put(const codec::Cid& cid, ByteView block) override;
  std::uint64_t blocksWritten() const { return blocks_; }

 private:
  explicit CarWriter(ByteSink& out) : out_(&out) {}
  ByteSink* out_;
  std::uint64_t blocks_ = 0;
  Bytes scratch_;
};

struct CarLimits {
  std::size_t max_header = 64 * 1024;        // header bytes
  std::size_t max_section = 8 * 1024 * 1024; // CID + block bytes per section
};

struct CarBlock {
  codec::Cid cid;
  Bytes bytes;
};

// Reads a CARv1 stream section by section, verifying each block against its CID. Errors:
// kMalformed (bad header, zero-length section, bad CID), kUnsupported (CAR version 2, unknown
// hash), kTruncated (input ends inside the header or a section), kOverflow / kNonCanonical
// (bad varints), kLimitExceeded (see CarLimits), kIntegrity (block does not match its CID).
class CarReader {
 public:
  [[nodiscard]] static Result<CarReader> open(ByteSource& in, const CarLimits& limits = {});
  const std::vector<codec::Cid>& roots() const { return roots_; }
  // The next block, or nullopt at a clean end of input.
  [[nodiscard]] Result<std::optional<CarBlock>> next();

 private:
  CarReader(ByteSource& in, const CarLimits& limits) : in_(&in), limits_(limits) {}
  [[nodiscard]] Result<bool> fill(std::size_t want);  // false: clean end before any byte
  [[nodiscard]] Result<std::optional<std::uint64_t>> readVarint();
  [[nodiscard]] Result<Bytes> readExactly(std::size_t n, std::string_view what);

  ByteSource* in_;
  CarLimits limits_;
  std::vector<codec::Cid> roots_;
  Bytes buf_;            // storage; the unread bytes are [pos_, end_)
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
};

// ---- the vault: persistent, encrypted, content-addressed (RocksDB) ------------------------------
//
// One RocksDB database per node home (<home>/vault/) with column families "blocks", "pins",
// "meta", "charges" (per-space accounting) and RocksDB's "default" (key check, counters). Block bytes are sealed with XChaCha20-Poly1305 under
// the 32-byte vault key (random nonce per block; the CID bytes are the associated data); the row
// key of a block is BLAKE2b-256 keyed by a subkey of the vault key over the CID bytes, so the
// database alone does not say which content it holds. get() decrypts, re-hashes and compares
// with the CID: tampered bytes are kIntegrity, never wrong data. Meta values are sealed the
// same way (associated data: namespace + key); meta keys are stored as given.
// Durability: a Status::ok from commit(batch) with sync, and from flush(), means the data is on
// disk. put() skips the write-ahead log (block bytes are written once, to blob files) and is
// durable only after the next flush() or synced commit (which flushes the memtables first).
// Thread-safety: a Vault is thread-safe (RocksDB is; counters are atomic / mutex-guarded).
// Full description: docs/storage.md.

struct VaultOptions {
  std::uint64_t quota_bytes = 0;  // total stored block bytes allowed; 0 = unlimited
  bool create_if_missing = true;
};

struct VaultStats {
  std::uint64_t blocks = 0;
  std::uint64_t bytes = 0;  // plaintext block bytes
  std::uint64_t pins = 0;
};

// Per-space accounting. A space is a named bucket ("app/<name>", "user", ...) that block writes
// are charged to: a block counts against the space that first stored it (a block already in the
// vault is free to store again, whoever asks), until gc() removes it.
struct SpaceUsage {
  std::uint64_t bytes = 0;  // plaintext bytes of the blocks charged to the space
  std::uint64_t quota = 0;  // 0 = unlimited
  friend bool operator==(const SpaceUsage&, const SpaceUsage&) = default;
};

struct GcResult {
  std::uint64_t blocks_removed = 0;
  std::uint64_t bytes_freed = 0;
};

// A set of writes applied atomically by Vault::commit. Blocks and meta rows together, so a
// subsystem (log/) can persist content and its index in one durable step.
class VaultBatch {
 public:
  void putBlock(const codec::Cid& cid, ByteView block);
  void putMeta(std::string_view ns, std::string_view key, ByteView value);
  void deleteMeta(std::string_view ns, std::string_view key);
  // A recursive pin / its removal, atomic with the rest of the batch (log/ pins a stream's
  // newest entry in the commit that adds it). pin: the block must be in the vault or put
  // earlier in this batch (kNotFound otherwise). unpin of an absent pin does nothing.
  void pin(const codec::Cid& root);
  void unpin(const codec::Cid& root);
  // Charge the blocks this batch adds to `space` (its quota applies; see SpaceUsage).
  void chargeTo(std::string_view space) { space_ = std::string(space); }
  const std::string& space() const { return space_; }
  bool empty() const { return ops_.empty(); }

  struct Op {
    enum class Kind : std::uint8_t { kBlock, kPutMeta, kDeleteMeta, kPin, kUnpin } kind;
    std::string ns;   // meta namespace (empty for blocks)
    Bytes key;        // CID bytes or meta key
    Bytes value;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
  std::string space_;
};

class Vault final : public BlockSink, public BlockSource {
 public:
  // Opens (creating if allowed) the vault database in `dir` with `key` (32 bytes; derive it
  // from the node key with vaultKeyFromSeed). kInvalidArgument for another key size, kIo when
  // RocksDB cannot open (the message says why, e.g. another process holds the lock),
  // kAuthFailed when the key does not open this vault (a key check row is verified at open).
  [[nodiscard]] static Result<std::unique_ptr<Vault>> open(const std::filesystem::path& dir,
                                                           ByteView key,
                                                           const VaultOptions& options = {});
  ~Vault() override;

  // BlockSink/BlockSource. put() verifies the block against the CID (kIntegrity) and the quota
  // (kLimitExceeded), deduplicates, and is not synced. get(): kNotFound, kIntegrity.
  [[nodiscard]] Status put(const codec::Cid& cid, ByteView block) override;
  [[nodiscard]] Result<Bytes> get(const codec::Cid& cid) override;
  [[nodiscard]] Result<bool> has(const codec::Cid& cid);
  // put() charged to `space` (kLimitExceeded past the space's quota or the vault's).
  [[nodiscard]] Status putIn(std::string_view space, const codec::Cid& cid, ByteView block);
  // Makes every earlier put() durable.
  [[nodiscard]] Status flush();
  // Applies `batch` atomically (blocks verified first; on any error nothing is written).
  // `sync` = durable on return.
  [[nodiscard]] Status commit(const VaultBatch& batch, bool sync = true);

  // Small records for other subsystems (stream indexes, app kv). `ns` is a namespace such as
  // "log" or "kv/<app>"; at most 256 bytes of ns+key, 1 MiB of value.
  [[nodiscard]] Result<std::optional<Bytes>> getMeta(std::string_view ns, std::string_view key);
  // Keys of `ns` starting with `prefix`, in byte order, at most `limit`.
  [[nodiscard]] Result<std::vector<std::string>> listMeta(std::string_view ns,
                                                          std::string_view prefix,
                                                          std::size_t limit = 1000);

  // Pins keep a DAG (recursive: the root and everything it links to) from gc().
  [[nodiscard]] Status pin(const codec::Cid& root, bool recursive = true);
  [[nodiscard]] Status unpin(const codec::Cid& root);  // kNotFound if not pinned
  [[nodiscard]] Result<std::vector<codec::Cid>> pins();
  // Removes every block that no pin reaches (following dag-pb and dag-cbor links).
  [[nodiscard]] Result<GcResult> gc();

  VaultStats stats() const;

  // Space quotas (0 = unlimited), durable on return; usage already above a new quota stays (only
  // new blocks are refused). Space names: 1..256 bytes. Stored sealed, under keyed-hash row keys.
  [[nodiscard]] Status setSpaceQuota(std::string_view space, std::uint64_t quota_bytes);
  [[nodiscard]] Result<SpaceUsage> spaceUsage(std::string_view space);

  struct Impl;

 private:
  enum class Durability : std::uint8_t { kNoWal, kWal, kSynced };
  [[nodiscard]] Status commitImpl(const VaultBatch& batch, Durability durability);
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The vault key for a node: HKDF-SHA256 over the node's Ed25519 seed with the info string
// "aether vault key v1". The keystore seals the seed, so the keystore seals the vault key.
[[nodiscard]] Result<crypto::SecretBytes> vaultKeyFromSeed(ByteView seed);

}  // namespace aether::store
