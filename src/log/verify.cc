// verifyExport: an exported stream (CAR v1) checked end to end with public data only.
#include <map>
#include <set>

#include "log/log.h"

namespace aether::log {

Result<VerifiedStream> verifyExport(store::ByteSource& car) {
  AE_ASSIGN_OR_RETURN(store::CarReader reader, store::CarReader::open(car));
  if (reader.roots().size() != 1) {
    return fail(Errc::kMalformed, "log export: need exactly one root (the signed head), got " +
                                      std::to_string(reader.roots().size()));
  }
  const codec::Cid head_cid = reader.roots()[0];
  std::optional<SignedHead> head;
  std::map<std::uint64_t, std::pair<codec::Cid, Bytes>> by_seq;
  std::map<codec::Cid, Bytes> raw;
  for (;;) {
    AE_ASSIGN_OR_RETURN(std::optional<store::CarBlock> block, reader.next());
    if (!block) break;
    if (block->cid == head_cid) {
      if (head) continue;  // a repeated block is the same bytes (the reader verified the CID)
      AE_ASSIGN_OR_RETURN(SignedHead h, decodeSignedHead(block->bytes));
      head = std::move(h);
      continue;
    }
    if (block->cid.version() != 1 || block->cid.hash().code != codec::mc::kSha2_256) {
      return fail(Errc::kMalformed, "log export: unexpected block " + block->cid.toString());
    }
    if (block->cid.codec() == codec::mc::kRaw) {
      raw.emplace(block->cid, std::move(block->bytes));
      continue;
    }
    if (block->cid.codec() != codec::mc::kDagCbor) {
      return fail(Errc::kMalformed, "log export: unexpected block " + block->cid.toString());
    }
    AE_ASSIGN_OR_RETURN(Entry e, decodeEntry(block->bytes));
    auto [it, fresh] = by_seq.try_emplace(e.seq, block->cid, std::move(block->bytes));
    if (!fresh && it->second.first != block->cid) {
      return fail(Errc::kIntegrity, "log export: fork: two different entries for seq " + std::to_string(e.seq));
    }
  }
  if (!head) return fail(Errc::kMalformed, "log export: the root (signed head) block is missing");
  AE_TRY(verifySignedHead(*head));
  const std::uint64_t size = head->head.size;
  if (by_seq.size() != size || (size > 0 && by_seq.rbegin()->first != size - 1)) {
    // Find the first problem to name it.
    for (std::uint64_t s = 0; s < size; ++s) {
      if (!by_seq.contains(s)) return fail(Errc::kIntegrity, "log export: gap: entry " + std::to_string(s) + " is missing");
    }
    return fail(Errc::kIntegrity, "log export: entries beyond the signed size " + std::to_string(size));
  }
  VerifiedStream out;
  out.head = *head;
  out.entries.reserve(size);
  out.entry_blocks.reserve(size);
  MerkleTree tree;
  std::optional<codec::Cid> prev;
  std::set<codec::Cid> linked;
  for (auto& [seq, cid_block] : by_seq) {
    auto& [cid, block] = cid_block;
    AE_ASSIGN_OR_RETURN(Entry e, decodeEntry(block));
    if (e.stream != head->head.stream) {
      return fail(Errc::kIntegrity, "log export: entry " + std::to_string(seq) + " belongs to " + e.stream);
    }
    if (e.prev != prev) {
      return fail(Errc::kIntegrity, "log export: broken prev chain at seq " + std::to_string(seq));
    }
    if (e.payload) {
      if (!raw.contains(*e.payload)) {
        return fail(Errc::kIntegrity, "log export: payload of entry " + std::to_string(seq) + " is missing");
      }
      linked.insert(*e.payload);
    }
    tree.append(leafHash(block));
    prev = cid;
    out.entries.push_back(std::move(e));
    out.entry_blocks.push_back(std::move(block));
  }
  if (tree.root() != head->head.root) {
    return fail(Errc::kIntegrity, "log export: the entries' Merkle root does not match the signed head");
  }
  for (auto& [cid, bytes] : raw) {
    if (!linked.contains(cid)) return fail(Errc::kMalformed, "log export: stray block " + cid.toString());
    out.payloads.push_back(store::CarBlock{cid, std::move(bytes)});
  }
  return out;
}

}  // namespace aether::log
