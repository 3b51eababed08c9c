// RFC 9162 §2.1 Merkle Tree Hash, inclusion and consistency proofs (generation and
// verification), following the RFC's recursive definitions and verification algorithms.
#include <bit>

#include "log/log.h"

namespace aether::log {
namespace {

// The largest power of two strictly smaller than n. REQUIRES: n >= 2.
std::uint64_t splitPoint(std::uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Hash leafHash(ByteView leaf) {
  crypto::Sha256 h;
  const std::uint8_t prefix = 0x00;
  h.update(ByteView(&prefix, 1));
  h.update(leaf);
  return h.finish();
}

Hash nodeHash(const Hash& left, const Hash& right) {
  std::uint8_t buf[1 + 2 * crypto::kSha256Size];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 1 + crypto::kSha256Size);
  return crypto::sha256(ByteView(buf, sizeof buf));
}

Hash emptyRoot() { return crypto::sha256(ByteView()); }

void MerkleTree::append(const Hash& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  // Every time a level gets an even number of nodes, the last two complete a parent.
  for (std::size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
    if (levels_.size() == k + 1) levels_.emplace_back();
    const auto& level = levels_[k];
    Hash parent = nodeHash(level[level.size() - 2], level[level.size() - 1]);
    levels_[k + 1].push_back(parent);
  }
}

void MerkleTree::truncate(std::uint64_t n) {
  for (std::size_t k = 0; k < levels_.size(); ++k) {
    const std::uint64_t keep = k < 64 ? (n >> k) : 0;
    if (levels_[k].size() > keep) levels_[k].resize(keep);
  }
}

Hash MerkleTree::subtree(std::uint64_t lo, std::uint64_t hi) const {
  const std::uint64_t n = hi - lo;
  if (std::has_single_bit(n) && lo % n == 0) {
    const int k = std::countr_zero(n);
    return levels_[k][lo >> k];
  }
  const std::uint64_t k = splitPoint(n);
  return nodeHash(subtree(lo, lo + k), subtree(lo + k, hi));
}

Hash MerkleTree::root() const { return size() == 0 ? emptyRoot() : subtree(0, size()); }

Result<Hash> MerkleTree::root(std::uint64_t n) const {
  if (n > size()) {
    return fail(Errc::kInvalidArgument, "merkle: size " + std::to_string(n) + " beyond the tree (" +
                                            std::to_string(size()) + " leaves)");
  }
  return n == 0 ? emptyRoot() : subtree(0, n);
}

// PATH(m, D[lo:hi]): the sibling of each subtree on the way down, deepest first.
void MerkleTree::path(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, std::vector<Hash>& out) const {
  const std::uint64_t n = hi - lo;
  if (n <= 1) return;
  const std::uint64_t k = splitPoint(n);
  if (m < k) {
    path(m, lo, lo + k, out);
    out.push_back(subtree(lo + k, hi));
  } else {
    path(m - k, lo + k, hi, out);
    out.push_back(subtree(lo, lo + k));
  }
}

Result<std::vector<Hash>> MerkleTree::inclusionProof(std::uint64_t index, std::uint64_t n) const {
  if (n > size() || index >= n) {
    return fail(Errc::kInvalidArgument, "merkle: no inclusion proof for index " + std::to_string(index) +
                                            " in size " + std::to_string(n) + " (tree has " +
                                            std::to_string(size()) + " leaves)");
  }
  std::vector<Hash> out;
  path(index, 0, n, out);
  return out;
}

// SUBPROOF(m, D[lo:hi], whole).
void MerkleTree::subproof(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, bool whole,
                          std::vector<Hash>& out) const {
  const std::uint64_t n = hi - lo;
  if (m == n) {
    if (!whole) out.push_back(subtree(lo, hi));
    return;
  }
  const std::uint64_t k = splitPoint(n);
  if (m <= k) {
    subproof(m, lo, lo + k, whole, out);
    out.push_back(subtree(lo + k, hi));
  } else {
    subproof(m - k, lo + k, hi, false, out);
    out.push_back(subtree(lo, lo + k));
  }
}

Result<std::vector<Hash>> MerkleTree::consistencyProof(std::uint64_t first, std::uint64_t second) const {
  if (first == 0 || first > second || second > size()) {
    return fail(Errc::kInvalidArgument, "merkle: no consistency proof from " + std::to_string(first) +
                                            " to " + std::to_string(second) + " (tree has " +
                                            std::to_string(size()) + " leaves)");
  }
  std::vector<Hash> out;
  subproof(first, 0, second, true, out);
  return out;
}

Status verifyInclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                       std::span<const Hash> path, const Hash& root) {
  if (index >= size) {
    return fail(Errc::kInvalidArgument, "inclusion: index " + std::to_string(index) + " not below size " +
                                            std::to_string(size));
  }
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return fail(Errc::kIntegrity, "inclusion: proof is longer than the tree is deep");
    if ((fn & 1) != 0 || fn == sn) {
      r = nodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(Errc::kIntegrity, "inclusion: proof is shorter than the tree is deep");
  if (r != root) return fail(Errc::kIntegrity, "inclusion: proof does not lead to the root");
  return {};
}

Status verifyConsistency(std::uint64_t first, std::uint64_t second, const Hash& first_root,
                         const Hash& second_root, std::span<const Hash> path) {
  if (first == 0 || first > second) {
    return fail(Errc::kInvalidArgument, "consistency: sizes " + std::to_string(first) + " -> " +
                                            std::to_string(second) + " (need 0 < first <= second)");
  }
  if (first == second) {
    if (!path.empty()) return fail(Errc::kIntegrity, "consistency: equal sizes need an empty proof");
    if (first_root != second_root) return fail(Errc::kIntegrity, "consistency: equal sizes, different roots");
    return {};
  }
  if (path.empty()) return fail(Errc::kIntegrity, "consistency: empty proof");
  // If first is a power of two, first_root is itself the first node of the proof.
  std::vector<Hash> nodes;
  nodes.reserve(path.size() + 1);
  if (std::has_single_bit(first)) nodes.push_back(first_root);
  nodes.insert(nodes.end(), path.begin(), path.end());

  std::uint64_t fn = first - 1;
  std::uint64_t sn = second - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = nodes[0];
  Hash sr = nodes[0];
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    const Hash& c = nodes[i];
    if (sn == 0) return fail(Errc::kIntegrity, "consistency: proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(Errc::kIntegrity, "consistency: proof is too short");
  if (fr != first_root) return fail(Errc::kIntegrity, "consistency: proof does not lead to the first root");
  if (sr != second_root) return fail(Errc::kIntegrity, "consistency: proof does not lead to the second root");
  return {};
}

}  // namespace aether::log
