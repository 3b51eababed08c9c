// log: signed append-only streams. A stream is (author DID, name); its entries are canonical
// DAG-CBOR blocks chained by `prev`, kept under an RFC 9162 Merkle tree whose heads the author
// signs with Ed25519 (one signature per append batch). Inclusion and consistency proofs, strict
// decoders and verifiers that need only public data; Stream persists through store::Vault.
// Thread-safety: free functions are reentrant; MerkleTree and Stream are thread-compatible (one
// thread at a time); at most one Stream object per (vault, stream) at a time.
// Formats: docs/formats/log.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "store/store.h"

namespace aether::log {

using Hash = crypto::Sha256Digest;

// ---- RFC 9162 §2.1 Merkle tree ------------------------------------------------------------------

Hash leafHash(ByteView leaf);                         // SHA-256(0x00 || leaf)
Hash nodeHash(const Hash& left, const Hash& right);   // SHA-256(0x01 || left || right)
Hash emptyRoot();                                     // SHA-256 of nothing: MTH({})

// The tree over leaf hashes. Keeps every complete power-of-two subtree (about 2n hashes), so
// roots and proofs for any size <= size() cost O(log^2 n) hashes at most.
class MerkleTree {
 public:
  void append(const Hash& leaf_hash);
  // Drops leaves [n, size()). REQUIRES: n <= size().
  void truncate(std::uint64_t n);
  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // REQUIRES: index < size().
  const Hash& leaf(std::uint64_t index) const { return levels_[0][index]; }

  Hash root() const;
  // MTH of the first `size` leaves. kInvalidArgument if size > size().
  [[nodiscard]] Result<Hash> root(std::uint64_t size) const;
  // RFC 9162 §2.1.3.1 PATH(index, D[size]). kInvalidArgument unless index < size <= size().
  [[nodiscard]] Result<std::vector<Hash>> inclusionProof(std::uint64_t index, std::uint64_t size) const;
  // RFC 9162 §2.1.4.1 PROOF(first, D[second]). kInvalidArgument unless
  // 0 < first <= second <= size(); first == second gives the empty proof.
  [[nodiscard]] Result<std::vector<Hash>> consistencyProof(std::uint64_t first, std::uint64_t second) const;

 private:
  Hash subtree(std::uint64_t lo, std::uint64_t hi) const;
  void path(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, std::vector<Hash>& out) const;
  void subproof(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, bool whole, std::vector<Hash>& out) const;

  // levels_[k][i] = MTH of leaves [i * 2^k, (i + 1) * 2^k) (complete subtrees only).
  std::vector<std::vector<Hash>> levels_;
};

// RFC 9162 §2.1.3.2. kInvalidArgument for index >= size; kIntegrity when the proof does not
// lead to `root`.
[[nodiscard]] Status verifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                                     std::span<const Hash> path, const Hash& root);
// RFC 9162 §2.1.4.2. kInvalidArgument unless 0 < first <= second; kIntegrity on a bad proof.
// first == second needs an empty proof and equal roots.
[[nodiscard]] Status verifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                                       const Hash& second_root, std::span<const Hash> path);

// ---- streams, entries, heads --------------------------------------------------------------------

// Payloads up to this many bytes travel inline in the entry ("data"); longer ones are raw blocks
// linked from the entry ("payload").
inline constexpr std::size_t kMaxInline = 1024;
inline constexpr std::size_t kMaxStreamName = 64;
// Proof paths longer than this are refused by the decoders (a 2^64-leaf tree needs <= 128).
inline constexpr std::size_t kMaxProofHashes = 128;

// 1..64 characters of [A-Za-z0-9._-], not "." or "..". kInvalidArgument otherwise.
[[nodiscard]] Status validateStreamName(std::string_view name);

// "did:key:z6Mk.../name" — the `stream` field of entries and heads.
struct StreamId {
  std::string author;  // an Ed25519 did:key
  std::string name;
  std::string toString() const { return author + "/" + name; }
  // kMalformed (no '/', bad name) or parseDidKey's errors.
  [[nodiscard]] static Result<StreamId> parse(std::string_view text);
  friend bool operator==(const StreamId&, const StreamId&) = default;
};

// One entry: the DAG-CBOR map {stream, seq, prev, ts, data | payload}.
struct Entry {
  std::string stream;
  std::uint64_t seq = 0;
  std::optional<codec::Cid> prev;     // null exactly for seq 0
  std::optional<Bytes> data;          // inline payload (<= kMaxInline bytes), or
  std::optional<codec::Cid> payload;  // a raw (0x55) sha2-256 block; exactly one of the two
  std::uint64_t ts = 0;               // milliseconds since the Unix epoch
  friend bool operator==(const Entry&, const Entry&) = default;
};

// kInvalidArgument for an entry breaking the rules above.
[[nodiscard]] Result<Bytes> encodeEntry(const Entry& entry);
// Strict: canonical DAG-CBOR, exactly those keys, the rules above (kMalformed etc.).
[[nodiscard]] Result<Entry> decodeEntry(ByteView block);
// CIDv1 dag-cbor sha2-256 of an entry (or head) block.
codec::Cid blockCid(ByteView block);

// A tree head: {stream, size, root, ts}.
struct Head {
  std::string stream;
  std::uint64_t size = 0;
  Hash root{};
  std::uint64_t ts = 0;
  friend bool operator==(const Head&, const Head&) = default;
};

// {head: <bytes of the head's DAG-CBOR>, sig: Ed25519(author, "aether/log/head/v1\n" || head)}.
struct SignedHead {
  Head head;
  Bytes head_bytes;
  crypto::Ed25519Signature sig{};
};

[[nodiscard]] Result<Bytes> encodeHead(const Head& head);
[[nodiscard]] Result<Head> decodeHead(ByteView bytes);
// REQUIRES: key is the key of the stream's author (checked: kInvalidArgument otherwise).
[[nodiscard]] Result<SignedHead> signHead(const Head& head, const crypto::Ed25519KeyPair& key);
Bytes encodeSignedHead(const SignedHead& head);
// Strict decode; does not check the signature.
[[nodiscard]] Result<SignedHead> decodeSignedHead(ByteView bytes);
// The signature against the public key in the stream's author DID: kBadSignature.
[[nodiscard]] Status verifySignedHead(const SignedHead& head);

// An entry travelling alone: {entry: <entry block>, sig: Ed25519(author, "aether/log/entry/v1\n"
// || entry block)}.
struct SignedEntry {
  Entry entry;
  Bytes block;
  crypto::Ed25519Signature sig{};
};
[[nodiscard]] Result<SignedEntry> signEntry(ByteView block, const crypto::Ed25519KeyPair& key);
Bytes encodeSignedEntry(const SignedEntry& entry);
[[nodiscard]] Result<SignedEntry> decodeSignedEntry(ByteView bytes);
[[nodiscard]] Status verifySignedEntry(const SignedEntry& entry);

// {index, size, path: [32-byte hashes]} and {first, second, path}.
struct InclusionProof {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::vector<Hash> path;
};
struct ConsistencyProof {
  std::uint64_t first = 0;
  std::uint64_t second = 0;
  std::vector<Hash> path;
};
[[nodiscard]] Result<Bytes> encodeInclusionProof(const InclusionProof& proof);
[[nodiscard]] Result<InclusionProof> decodeInclusionProof(ByteView bytes);
[[nodiscard]] Result<Bytes> encodeConsistencyProof(const ConsistencyProof& proof);
[[nodiscard]] Result<ConsistencyProof> decodeConsistencyProof(ByteView bytes);

// An entry block against a signed head: the head's signature, the entry's stream and seq
// (== proof.index), proof.size == head size, and the inclusion proof.
[[nodiscard]] Status verifyEntryInHead(ByteView entry_block, const InclusionProof& proof,
                                       const SignedHead& head);

// ---- exported streams ---------------------------------------------------------------------------

// A stream checked end to end from an export (a CAR v1: root = the signed head block, then the
// entry blocks and payload blocks).
struct VerifiedStream {
  SignedHead head;
  std::vector<Bytes> entry_blocks;  // by seq
  std::vector<Entry> entries;       // by seq
  std::vector<store::CarBlock> payloads;
};

// Reads and verifies an exported stream without a node: every block against its CID, the head
// signature against the author DID, seq 0..size-1 each exactly once (kIntegrity for a gap, a
// fork — two different entries for one seq — or an entry beyond the head), the prev chain, the
// stream field, the payload blocks linked, and the Merkle root. Decoder errors keep their codes.
[[nodiscard]] Result<VerifiedStream> verifyExport(store::ByteSource& car);

// ---- persistent streams (stream.cc; not in the fuzz build, which has no vault) ------------------

// Milliseconds since the Unix epoch (injected so tests control time).
using Clock = std::function<std::uint64_t()>;
Clock systemClock();

struct AppendResult {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  SignedHead head;
};

// A stream of the vault's owner, persisted in the vault: entry and payload blocks as blocks,
// the index (per seq: entry CID + leaf hash), the current signed head and every batch's
// checkpoint as meta rows of namespace "log". The newest entry is pinned (recursively: the prev
// chain keeps the rest) so vault GC keeps the stream; the pin moves in the batch's own commit.
class Stream {
 public:
  // Opens or creates `name` for the author `key`. Reloads the index and checks that it matches
  // the signed head (kIntegrity otherwise).
  [[nodiscard]] static Result<std::unique_ptr<Stream>> open(store::Vault& vault,
                                                            const crypto::Ed25519KeyPair& key,
                                                            std::string_view name, Clock clock);
  // Opens a stream the vault holds (any author, e.g. one imported) for reading; append() is
  // kPermissionDenied. kNotFound if the vault holds no such stream.
  [[nodiscard]] static Result<std::unique_ptr<Stream>> openReadOnly(store::Vault& vault, std::string_view stream_id);
  // Stream ids ("<did>/<name>") held in the vault whose author is `author_did` (all if empty).
  [[nodiscard]] static Result<std::vector<std::string>> list(store::Vault& vault, std::string_view author_did = {});

  struct ImportResult {
    std::string stream;
    std::uint64_t size = 0;   // entries held after the import
    std::uint64_t added = 0;  // entries the import added
  };
  // Verifies an export (verifyExport: signature, gaps, forks, prev chain, root) and stores it:
  // a stream the vault does not hold yet, or a longer version of one it holds, whose entries
  // must then extend the held ones (same CIDs; a different entry at a held seq is kIntegrity).
  // One synced commit: on any error nothing is written. An export not longer than what is held
  // (but consistent with it) adds nothing.
  [[nodiscard]] static Result<ImportResult> importExport(store::Vault& vault, store::ByteSource& car);

  const std::string& id() const { return id_; }
  std::uint64_t size() const { return tree_.size(); }

  // Appends one entry per payload in one synced vault commit and signs one head. Durable on
  // return; on error nothing was written. kInvalidArgument for an empty batch.
  [[nodiscard]] Result<AppendResult> append(std::span<const Bytes> payloads);

  // kNotFound for seq >= size().
  [[nodiscard]] Result<Bytes> entryBlock(std::uint64_t seq);
  [[nodiscard]] Result<Entry> get(std::uint64_t seq);
  // The payload bytes of an entry (inline, or its block from the vault).
  [[nodiscard]] Result<Bytes> payload(const Entry& entry);
  // kNotFound while the stream is empty.
  [[nodiscard]] Result<SignedHead> head() const;
  // The signed head a batch ended at, kNotFound if no batch ended at `size`.
  [[nodiscard]] Result<SignedHead> checkpoint(std::uint64_t size);
  [[nodiscard]] Result<Hash> root(std::uint64_t size) const { return tree_.root(size); }
  [[nodiscard]] Result<InclusionProof> proveInclusion(std::uint64_t seq, std::uint64_t size) const;
  [[nodiscard]] Result<ConsistencyProof> proveConsistency(std::uint64_t first, std::uint64_t second) const;
  // Writes the CAR export verifyExport reads. kNotFound while empty.
  [[nodiscard]] Status exportCar(store::ByteSink& out);

 private:
  // `key` is null for a read-only stream.
  Stream(store::Vault& vault, const crypto::Ed25519KeyPair* key, std::string id, Clock clock)
      : vault_(&vault), key_(key), id_(std::move(id)), clock_(std::move(clock)) {}
  [[nodiscard]] Status load();

  store::Vault* vault_;
  const crypto::Ed25519KeyPair* key_;
  std::string id_;
  Clock clock_;
  MerkleTree tree_;
  std::vector<codec::Cid> cids_;  // entry CIDs by seq
  std::optional<SignedHead> head_;
};

}  // namespace aether::log
