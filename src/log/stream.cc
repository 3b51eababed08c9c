// Stream: a signed stream persisted through store::Vault. Layout (namespace "log"):
//   streams/<id>            ""                         registry row, written with the first batch
//   s/<id>/h                signed head bytes          the current head
//   s/<id>/c/<size, hex16>  signed head bytes          the checkpoint each batch ended at
//   s/<id>/e/<seq, hex16>   entry CID bytes || leaf    the index (leaf = RFC 9162 leaf hash)
// Entry and payload blocks are vault blocks; one append batch is one synced VaultBatch commit,
// which also moves the stream's pin from the previous newest entry to the new one.
#include <chrono>
#include <cstdio>

#include "identity/identity.h"
#include "log/log.h"

namespace aether::log {
namespace {

constexpr std::string_view kNs = "log";
// Payloads beyond this are refused (vault meta and block limits stay far away).
constexpr std::size_t kMaxPayload = 1024 * 1024;

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string headKey(const std::string& id) { return "s/" + id + "/h"; }
std::string entryKey(const std::string& id, std::uint64_t seq) { return "s/" + id + "/e/" + hex16(seq); }
std::string checkpointKey(const std::string& id, std::uint64_t size) { return "s/" + id + "/c/" + hex16(size); }
std::string registryKey(const std::string& id) { return "streams/" + id; }

}  // namespace

Clock systemClock() {
  return [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  };
}

Result<std::unique_ptr<Stream>> Stream::open(store::Vault& vault, const crypto::Ed25519KeyPair& key,
                                             std::string_view name, Clock clock) {
  AE_TRY(validateStreamName(name));
  StreamId id{identity::didKeyFromEd25519(key.publicKey()), std::string(name)};
  std::unique_ptr<Stream> s(new Stream(vault, &key, id.toString(), std::move(clock)));
  AE_TRY(s->load());
  return s;
}

Result<std::unique_ptr<Stream>> Stream::openReadOnly(store::Vault& vault, std::string_view stream_id) {
  AE_ASSIGN_OR_RETURN(StreamId id, StreamId::parse(stream_id));
  std::unique_ptr<Stream> s(new Stream(vault, nullptr, id.toString(), systemClock()));
  AE_TRY(s->load());
  if (!s->head_) return fail(Errc::kNotFound, "log: the vault holds no stream " + s->id_);
  return s;
}

Result<std::vector<std::string>> Stream::list(store::Vault& vault, std::string_view author_did) {
  const std::string prefix = author_did.empty() ? "streams/" : "streams/" + std::string(author_did) + "/";
  AE_ASSIGN_OR_RETURN(std::vector<std::string> keys, vault.listMeta(kNs, prefix, 100000));
  std::vector<std::string> ids;
  for (auto& k : keys) ids.push_back(k.substr(std::string_view("streams/").size()));
  return ids;
}

Result<Stream::ImportResult> Stream::importExport(store::Vault& vault, store::ByteSource& car) {
  AE_ASSIGN_OR_RETURN(VerifiedStream v, verifyExport(car));
  Stream held(vault, nullptr, v.head.head.stream, systemClock());
  AE_TRY(held.load());
  const std::uint64_t have = held.size();
  const std::uint64_t size = v.head.head.size;
  for (std::uint64_t seq = 0; seq < std::min(have, size); ++seq) {
    if (blockCid(v.entry_blocks[seq]) != held.cids_[seq]) {
      return fail(Errc::kIntegrity, "log: import of " + held.id_ + ": entry " + std::to_string(seq) +
                                        " differs from the one held (a fork)");
    }
  }
  if (size <= have) return ImportResult{held.id_, have, 0};
  store::VaultBatch batch;
  for (const auto& p : v.payloads) batch.putBlock(p.cid, p.bytes);
  codec::Cid tip = blockCid(v.entry_blocks[size - 1]);
  for (std::uint64_t seq = have; seq < size; ++seq) {
    const ByteView block = v.entry_blocks[seq];
    const codec::Cid cid = blockCid(block);
    Bytes row = cid.toBytes();
    aether::append(row, leafHash(block));
    batch.putBlock(cid, block);
    batch.putMeta(kNs, entryKey(held.id_, seq), row);
  }
  const Bytes enc = encodeSignedHead(v.head);
  batch.putMeta(kNs, headKey(held.id_), enc);
  batch.putMeta(kNs, checkpointKey(held.id_, size), enc);
  if (have == 0) batch.putMeta(kNs, registryKey(held.id_), {});
  batch.pin(tip);
  if (have > 0) batch.unpin(held.cids_.back());
  AE_TRY(vault.commit(batch, true));
  return ImportResult{held.id_, size, size - have};
}

Status Stream::load() {
  AE_ASSIGN_OR_RETURN(std::optional<Bytes> head_row, vault_->getMeta(kNs, headKey(id_)));
  if (!head_row) return {};
  AE_ASSIGN_OR_RETURN(SignedHead head, decodeSignedHead(*head_row));
  if (head.head.stream != id_) return fail(Errc::kIntegrity, "log: head row of " + id_ + " names " + head.head.stream);
  AE_TRY(verifySignedHead(head));
  const std::uint64_t n = head.head.size;
  cids_.reserve(n);
  for (std::uint64_t seq = 0; seq < n; ++seq) {
    AE_ASSIGN_OR_RETURN(std::optional<Bytes> row, vault_->getMeta(kNs, entryKey(id_, seq)));
    if (!row) return fail(Errc::kIntegrity, "log: " + id_ + ": index row of entry " + std::to_string(seq) + " is missing");
    std::size_t used = 0;
    auto cid = codec::Cid::readPrefix(*row, &used);
    if (!cid || row->size() - used != crypto::kSha256Size) {
      return fail(Errc::kIntegrity, "log: " + id_ + ": index row of entry " + std::to_string(seq) + " is malformed");
    }
    Hash leaf;
    std::copy(row->begin() + static_cast<std::ptrdiff_t>(used), row->end(), leaf.begin());
    tree_.append(leaf);
    cids_.push_back(std::move(*cid));
  }
  if (tree_.root() != head.head.root) {
    return fail(Errc::kIntegrity, "log: " + id_ + ": the index does not match the signed head's root");
  }
  head_ = std::move(head);
  return {};
}

Result<AppendResult> Stream::append(std::span<const Bytes> payloads) {
  if (key_ == nullptr) return fail(Errc::kPermissionDenied, "log: " + id_ + " is another author's stream (read-only)");
  if (payloads.empty()) return fail(Errc::kInvalidArgument, "log: empty append batch");
  const std::uint64_t first = size();
  const std::uint64_t ts = clock_();
  store::VaultBatch batch;
  std::vector<codec::Cid> fresh;
  fresh.reserve(payloads.size());
  std::optional<codec::Cid> prev;
  if (!cids_.empty()) prev = cids_.back();

  auto result = [&]() -> Result<AppendResult> {
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      const Bytes& p = payloads[i];
      if (p.size() > kMaxPayload) {
        return fail(Errc::kLimitExceeded, "log: payload of " + std::to_string(p.size()) + " bytes (max " +
                                              std::to_string(kMaxPayload) + ")");
      }
      Entry e;
      e.stream = id_;
      e.seq = first + i;
      e.prev = prev;
      e.ts = ts;
      if (p.size() <= kMaxInline) {
        e.data = p;
      } else {
        AE_ASSIGN_OR_RETURN(codec::Cid pc, store::cidForBlock(1, codec::mc::kRaw, p));
        batch.putBlock(pc, p);
        e.payload = std::move(pc);
      }
      AE_ASSIGN_OR_RETURN(Bytes block, encodeEntry(e));
      codec::Cid cid = blockCid(block);
      const Hash leaf = leafHash(block);
      tree_.append(leaf);
      Bytes row = cid.toBytes();
      aether::append(row, leaf);
      batch.putBlock(cid, block);
      batch.putMeta(kNs, entryKey(id_, e.seq), row);
      fresh.push_back(cid);
      prev = std::move(cid);
    }
    Head h{id_, tree_.size(), tree_.root(), ts};
    AE_ASSIGN_OR_RETURN(SignedHead signed_head, signHead(h, *key_));
    const Bytes enc = encodeSignedHead(signed_head);
    batch.putMeta(kNs, headKey(id_), enc);
    batch.putMeta(kNs, checkpointKey(id_, h.size), enc);
    if (first == 0) batch.putMeta(kNs, registryKey(id_), {});
    // Keep the stream from vault GC in the same atomic commit: the newest entry, pinned
    // recursively, reaches every earlier one through prev links (and payloads through theirs).
    batch.pin(fresh.back());
    if (!cids_.empty()) batch.unpin(cids_.back());
    AE_TRY(vault_->commit(batch, true));
    return AppendResult{first, first + payloads.size() - 1, std::move(signed_head)};
  }();
  if (!result) {
    tree_.truncate(first);
    return result;
  }
  cids_.insert(cids_.end(), fresh.begin(), fresh.end());
  head_ = result->head;
  return result;
}

Result<Bytes> Stream::entryBlock(std::uint64_t seq) {
  if (seq >= size()) {
    return fail(Errc::kNotFound, "log: " + id_ + " has no entry " + std::to_string(seq) + " (size " +
                                     std::to_string(size()) + ")");
  }
  return vault_->get(cids_[seq]);
}

Result<Entry> Stream::get(std::uint64_t seq) {
  AE_ASSIGN_OR_RETURN(Bytes block, entryBlock(seq));
  return decodeEntry(block);
}

Result<Bytes> Stream::payload(const Entry& entry) {
  if (entry.data) return *entry.data;
  return vault_->get(*entry.payload);
}

Result<SignedHead> Stream::head() const {
  if (!head_) return fail(Errc::kNotFound, "log: " + id_ + " is empty");
  return *head_;
}

Result<SignedHead> Stream::checkpoint(std::uint64_t n) {
  AE_ASSIGN_OR_RETURN(std::optional<Bytes> row, vault_->getMeta(kNs, checkpointKey(id_, n)));
  if (!row) return fail(Errc::kNotFound, "log: " + id_ + " has no checkpoint at size " + std::to_string(n));
  return decodeSignedHead(*row);
}

Result<InclusionProof> Stream::proveInclusion(std::uint64_t seq, std::uint64_t n) const {
  AE_ASSIGN_OR_RETURN(std::vector<Hash> path, tree_.inclusionProof(seq, n));
  return InclusionProof{seq, n, std::move(path)};
}

Result<ConsistencyProof> Stream::proveConsistency(std::uint64_t first, std::uint64_t second) const {
  AE_ASSIGN_OR_RETURN(std::vector<Hash> path, tree_.consistencyProof(first, second));
  return ConsistencyProof{first, second, std::move(path)};
}

Status Stream::exportCar(store::ByteSink& out) {
  AE_ASSIGN_OR_RETURN(SignedHead h, head());
  const Bytes head_block = encodeSignedHead(h);
  const codec::Cid root = blockCid(head_block);
  AE_ASSIGN_OR_RETURN(store::CarWriter writer, store::CarWriter::create(out, std::span(&root, 1)));
  AE_TRY(writer.put(root, head_block));
  for (std::uint64_t seq = 0; seq < h.head.size; ++seq) {
    AE_ASSIGN_OR_RETURN(Bytes block, vault_->get(cids_[seq]));
    AE_TRY(writer.put(cids_[seq], block));
    AE_ASSIGN_OR_RETURN(Entry e, decodeEntry(block));
    if (e.payload) {
      AE_ASSIGN_OR_RETURN(Bytes p, vault_->get(*e.payload));
      AE_TRY(writer.put(*e.payload, p));
    }
  }
  return {};
}

}  // namespace aether::log
