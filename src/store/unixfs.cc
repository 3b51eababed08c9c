// UnixFS importer (balanced layout, fixed-size chunks), directory builder and verifying exporter.
// The DAG shape follows ipfs-unixfs-importer exactly; docs/formats/unixfs-car.md explains it.
#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <variant>

#include "crypto/crypto.h"
#include "store/internal.h"
#include "store/store.h"

namespace aether::store {

using codec::Cid;
using internal::PbLink;
using internal::PbNode;
using internal::UnixfsData;
using internal::UnixfsType;

// ---- small stream and store helpers ---------------------------------------------------------------

Result<std::size_t> MemoryByteSource::read(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), data_.size() - pos_);
  if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

Status MemoryByteSink::write(ByteView data) {
  append(bytes_, data);
  return {};
}

Status MemoryBlockStore::put(const Cid& cid, ByteView block) {
  auto [it, inserted] = blocks_.try_emplace(cid);
  if (inserted) {
    it->second.assign(block.begin(), block.end());
    order_.push_back(cid);
  }
  return {};
}

Result<Bytes> MemoryBlockStore::get(const Cid& cid) {
  auto it = blocks_.find(cid);
  if (it == blocks_.end()) return fail(Errc::kNotFound, "block " + cid.toString() + " not in store");
  return it->second;
}

Status MemoryBlockStore::replace(const Cid& cid, Bytes block) {
  auto it = blocks_.find(cid);
  if (it == blocks_.end()) return fail(Errc::kNotFound, "block " + cid.toString() + " not in store");
  it->second = std::move(block);
  return {};
}

Status verifyBlock(const Cid& cid, ByteView block) {
  const codec::Multihash& mh = cid.hash();
  if (mh.code == codec::mc::kSha2_256) {
    const crypto::Sha256Digest d = crypto::sha256(block);
    if (mh.digest.size() != d.size() || std::memcmp(mh.digest.data(), d.data(), d.size()) != 0) {
      return fail(Errc::kIntegrity, "block does not hash to " + cid.toString());
    }
    return {};
  }
  if (mh.code == codec::mc::kIdentity) {
    if (!std::ranges::equal(mh.digest, block)) {
      return fail(Errc::kIntegrity, "block differs from identity CID " + cid.toString());
    }
    return {};
  }
  return fail(Errc::kUnsupported, "cannot verify multihash code " + std::to_string(mh.code));
}

Result<Cid> cidForBlock(std::uint64_t version, std::uint64_t codec, ByteView block) {
  const crypto::Sha256Digest d = crypto::sha256(block);
  AE_ASSIGN_OR_RETURN(auto mh, codec::Multihash::sha256(d));
  if (version == 0) {
    if (codec != codec::mc::kDagPb) return fail(Errc::kInvalidArgument, "CIDv0 is dag-pb only");
    return Cid::v0(std::move(mh));
  }
  if (version != 1) return fail(Errc::kInvalidArgument, "CID version must be 0 or 1");
  return Cid::makeV1(codec, std::move(mh));
}

// ---- profiles -------------------------------------------------------------------------------------

Status ImportProfile::validate() const {
  if (chunk_size == 0 || chunk_size > kMaxChunkSize) {
    return fail(Errc::kInvalidArgument, "import profile: chunk size must be 1.." + std::to_string(kMaxChunkSize));
  }
  if (max_links < 2) return fail(Errc::kInvalidArgument, "import profile: max links must be >= 2");
  if (cid_version > 1) return fail(Errc::kInvalidArgument, "import profile: CID version must be 0 or 1");
  return {};
}

Result<ImportProfile> ImportProfile::byName(std::string_view name) {
  for (const ImportProfile& p : {kProfileDefault, kProfileUnixfsV1_2025, kProfileUnixfsV0_2015}) {
    if (p.name == name) return p;
  }
  return fail(Errc::kNotFound, "unknown import profile '" + std::string(name) + "'");
}

// ---- file import --------------------------------------------------------------------------------

namespace {

// One node of the file DAG as its parent sees it.
struct Child {
  Cid cid;
  std::uint64_t tsize;    // bytes of the subtree's blocks (link Tsize)
  std::uint64_t content;  // file bytes below it (blocksizes entry)
};

// Emits a dag-pb block under the profile's CID version.
Result<Cid> putPb(BlockSink& sink, std::uint64_t cid_version, ByteView block) {
  AE_ASSIGN_OR_RETURN(Cid cid, cidForBlock(cid_version, codec::mc::kDagPb, block));
  AE_TRY(sink.put(cid, block));
  return cid;
}

// The balanced layout as a stream: level i holds at most max_links pending children; a full level
// becomes one node on level i+1. finish() closes the partial groups bottom-up; the first level that
// ever saw exactly one child holds the root (a lone leaf is its own root).
class BalancedBuilder {
 public:
  BalancedBuilder(BlockSink& sink, const ImportProfile& p) : sink_(sink), p_(p) {}

  Status addLeaf(ByteView chunk) {
    Child leaf{Cid::v1(codec::mc::kRaw, codec::Multihash{}), 0, chunk.size()};
    if (p_.leaves == LeafKind::kRaw) {
      AE_ASSIGN_OR_RETURN(leaf.cid, cidForBlock(1, codec::mc::kRaw, chunk));
      AE_TRY(sink_.put(leaf.cid, chunk));
      leaf.tsize = chunk.size();
    } else {
      UnixfsData u;
      u.type = UnixfsType::kFile;
      if (!chunk.empty()) u.data = Bytes(chunk.begin(), chunk.end());
      u.filesize = chunk.size();
      AE_ASSIGN_OR_RETURN(Bytes data, internal::encodeUnixfs(u));
      PbNode node;
      node.data = std::move(data);
      AE_ASSIGN_OR_RETURN(Bytes block, internal::encodePbNode(node));
      AE_ASSIGN_OR_RETURN(leaf.cid, putPb(sink_, p_.cid_version, block));
      leaf.tsize = block.size();
    }
    return push(0, std::move(leaf));
  }

  Result<Child> finish() {
    for (std::size_t level = 0; level < levels_.size(); ++level) {
      if (produced_[level] == 1) {
        // Nothing above: this lone child is the root.
        return std::move(levels_[level].front());
      }
      if (!levels_[level].empty()) {
        AE_ASSIGN_OR_RETURN(Child node, reduce(levels_[level]));
        levels_[level].clear();
        AE_TRY(push(level + 1, std::move(node)));
      }
    }
    return fail(Errc::kInternal, "unixfs importer: no leaves");
  }

 private:
  Status push(std::size_t level, Child c) {
    if (levels_.size() <= level) {
      levels_.emplace_back();
      levels_.back().reserve(p_.max_links);
      produced_.push_back(0);
    }
    levels_[level].push_back(std::move(c));
    ++produced_[level];
    if (levels_[level].size() == p_.max_links) {
      AE_ASSIGN_OR_RETURN(Child node, reduce(levels_[level]));
      levels_[level].clear();
      return push(level + 1, std::move(node));
    }
    return {};
  }

  // A UnixFS file node over `children` (empty leaves are left out, as the JS importer does).
  Result<Child> reduce(const std::vector<Child>& children) {
    UnixfsData u;
    u.type = UnixfsType::kFile;
    PbNode node;
    node.links.reserve(children.size());
    std::uint64_t content = 0;
    std::uint64_t tsize = 0;
    for (const Child& c : children) {
      if (c.content == 0) continue;
      u.blocksizes.push_back(c.content);
      content += c.content;
      tsize += c.tsize;
      node.links.push_back(PbLink{c.cid, std::string(), c.tsize});
    }
    u.filesize = content;
    AE_ASSIGN_OR_RETURN(Bytes data, internal::encodeUnixfs(u));
    node.data = std::move(data);
    AE_ASSIGN_OR_RETURN(Bytes block, internal::encodePbNode(node));
    AE_ASSIGN_OR_RETURN(Cid cid, putPb(sink_, p_.cid_version, block));
    return Child{std::move(cid), tsize + block.size(), content};
  }

  BlockSink& sink_;
  const ImportProfile& p_;
  std::vector<std::vector<Child>> levels_;
  std::vector<std::uint64_t> produced_;
};

// Reads until `buf` is full or the source ends; returns the byte count.
Result<std::size_t> readFull(ByteSource& in, std::span<std::uint8_t> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    AE_ASSIGN_OR_RETURN(const std::size_t n, in.read(buf.subspan(got)));
    if (n == 0) break;
    if (n > buf.size() - got) return fail(Errc::kInternal, "byte source returned more than asked");
    got += n;
  }
  return got;
}

}  // namespace

Result<ImportResult> importFile(ByteSource& content, BlockSink& sink, const ImportProfile& profile) {
  AE_TRY(profile.validate());
  BalancedBuilder builder(sink, profile);
  Bytes chunk(profile.chunk_size);
  bool emitted = false;
  for (;;) {
    AE_ASSIGN_OR_RETURN(const std::size_t n, readFull(content, chunk));
    // The fixed-size chunker yields one empty chunk for empty input and none after full ones.
    if (n == 0 && emitted) break;
    AE_TRY(builder.addLeaf(ByteView(chunk).first(n)));
    emitted = true;
    if (n < chunk.size()) break;
  }
  AE_ASSIGN_OR_RETURN(Child root, builder.finish());
  return ImportResult{std::move(root.cid), root.content, root.tsize};
}

// ---- directories --------------------------------------------------------------------------------

struct DirectoryImporter::Dir {
  struct File {
    Cid cid;
    std::uint64_t tsize;
  };
  // Sorted by name bytes, which is the order dag-pb needs.
  std::map<std::string, std::variant<std::unique_ptr<Dir>, File>> entries;  // default: a null Dir
};

DirectoryImporter::DirectoryImporter(BlockSink& sink, const ImportProfile& profile)
    : sink_(&sink), profile_(profile), root_(std::make_unique<Dir>()) {}
DirectoryImporter::~DirectoryImporter() = default;
DirectoryImporter::DirectoryImporter(DirectoryImporter&&) noexcept = default;
DirectoryImporter& DirectoryImporter::operator=(DirectoryImporter&&) noexcept = default;

namespace {

Result<std::vector<std::string>> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  if (path.empty()) return fail(Errc::kInvalidArgument, "path is empty");
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return fail(Errc::kInvalidArgument, "path '" + std::string(path) + "' has an empty, '.' or '..' component");
    }
    if (part.find('\0') != std::string_view::npos || !isValidUtf8(part)) {
      return fail(Errc::kInvalidArgument, "path '" + std::string(path) + "' is not UTF-8 text");
    }
    parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

Status DirectoryImporter::addFile(std::string_view path, ByteSource& content) {
  if (!root_) return fail(Errc::kInvalidArgument, "directory importer already finished");
  AE_ASSIGN_OR_RETURN(auto parts, splitPath(path));
  Dir* dir = root_.get();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    auto& slot = dir->entries[parts[i]];
    if (std::holds_alternative<Dir::File>(slot)) {
      return fail(Errc::kAlreadyExists, "'" + parts[i] + "' in '" + std::string(path) + "' is a file");
    }
    auto& sub = std::get<std::unique_ptr<Dir>>(slot);
    if (!sub) sub = std::make_unique<Dir>();
    dir = sub.get();
  }
  if (dir->entries.contains(parts.back())) {
    return fail(Errc::kAlreadyExists, "'" + std::string(path) + "' already exists");
  }
  AE_ASSIGN_OR_RETURN(ImportResult r, importFile(content, *sink_, profile_));
  dir->entries.emplace(parts.back(), Dir::File{std::move(r.root), r.dag_size});
  return {};
}

Status DirectoryImporter::addDirectory(std::string_view path) {
  if (!root_) return fail(Errc::kInvalidArgument, "directory importer already finished");
  AE_ASSIGN_OR_RETURN(auto parts, splitPath(path));
  Dir* dir = root_.get();
  for (const std::string& part : parts) {
    auto& slot = dir->entries[part];
    if (std::holds_alternative<Dir::File>(slot)) {
      return fail(Errc::kAlreadyExists, "'" + part + "' in '" + std::string(path) + "' is a file");
    }
    auto& sub = std::get<std::unique_ptr<Dir>>(slot);
    if (!sub) sub = std::make_unique<Dir>();
    dir = sub.get();
  }
  return {};
}

namespace {

struct Built {
  Cid cid;
  std::uint64_t tsize;
};

}  // namespace

// Post-order: children first, then this directory's node.
struct DirBuilderAccess {
  static Result<Built> build(DirectoryImporter::Dir& dir, BlockSink& sink, const ImportProfile& p,
                             const std::string& where) {
    PbNode node;
    std::uint64_t links_estimate = 0;
    std::uint64_t tsize = 0;
    for (auto& [name, entry] : dir.entries) {
      Built child{Cid::v1(codec::mc::kRaw, codec::Multihash{}), 0};
      if (auto* f = std::get_if<DirectoryImporter::Dir::File>(&entry)) {
        child = Built{f->cid, f->tsize};
      } else {
        auto& sub = std::get<std::unique_ptr<DirectoryImporter::Dir>>(entry);
        AE_ASSIGN_OR_RETURN(child, build(*sub, sink, p, where + "/" + name));
        sub.reset();  // its blocks are out; keep only the link
      }
      links_estimate += name.size() + child.cid.toBytes().size();
      tsize += child.tsize;
      node.links.push_back(PbLink{std::move(child.cid), name, child.tsize});
    }
    UnixfsData u;
    u.type = UnixfsType::kDirectory;
    AE_ASSIGN_OR_RETURN(Bytes data, internal::encodeUnixfs(u));
    node.data = std::move(data);
    AE_ASSIGN_OR_RETURN(Bytes block, internal::encodePbNode(node));
    const std::uint64_t estimate =
        p.shard_estimate == ShardEstimate::kLinksBytes ? links_estimate : block.size();
    if (estimate > p.shard_threshold) {
      return fail(Errc::kUnsupported, "directory '" + where + "' is too big for one node (" +
                                          std::to_string(dir.entries.size()) +
                                          " entries); HAMT sharding is not implemented");
    }
    AE_ASSIGN_OR_RETURN(Cid cid, putPb(sink, p.cid_version, block));
    return Built{std::move(cid), tsize + block.size()};
  }
};

Result<ImportResult> DirectoryImporter::finish() {
  if (!root_) return fail(Errc::kInvalidArgument, "directory importer already finished");
  AE_TRY(profile_.validate());
  auto root = std::move(root_);
  AE_ASSIGN_OR_RETURN(Built b, DirBuilderAccess::build(*root, *sink_, profile_, "."));
  return ImportResult{std::move(b.cid), 0, b.tsize};
}

// ---- export -------------------------------------------------------------------------------------

namespace {

Result<Bytes> fetchVerified(const Cid& cid, BlockSource& source, const ExportLimits& limits) {
  AE_ASSIGN_OR_RETURN(Bytes block, source.get(cid));
  if (block.size() > limits.max_block) {
    return fail(Errc::kLimitExceeded, "block " + cid.toString() + " is " + std::to_string(block.size()) + " bytes");
  }
  AE_TRY(verifyBlock(cid, block));
  return block;
}

struct DecodedPb {
  PbNode node;
  UnixfsData unixfs;
};

Result<DecodedPb> decodeUnixfsNode(const Cid& cid, ByteView block) {
  auto node = internal::decodePbNode(block);
  if (!node) return withContext(std::move(node).error(), cid.toString());
  if (!node->data) return fail(Errc::kMalformed, cid.toString() + ": dag-pb node without UnixFS Data");
  auto u = internal::decodeUnixfs(*node->data);
  if (!u) return withContext(std::move(u).error(), cid.toString());
  return DecodedPb{std::move(*node), std::move(*u)};
}

Result<std::uint64_t> exportNode(const Cid& cid, BlockSource& source, ByteSink& out,
                                 const ExportLimits& limits, std::size_t depth) {
  if (depth > limits.max_depth) return fail(Errc::kLimitExceeded, "file DAG deeper than " + std::to_string(limits.max_depth));
  AE_ASSIGN_OR_RETURN(Bytes block, fetchVerified(cid, source, limits));
  if (cid.codec() == codec::mc::kRaw) {
    AE_TRY(out.write(block));
    return block.size();
  }
  if (cid.codec() != codec::mc::kDagPb) {
    return fail(Errc::kUnsupported, cid.toString() + ": not a UnixFS block (codec " + std::to_string(cid.codec()) + ")");
  }
  AE_ASSIGN_OR_RETURN(DecodedPb n, decodeUnixfsNode(cid, block));
  block.clear();
  block.shrink_to_fit();
  const UnixfsData& u = n.unixfs;
  if (u.type == UnixfsType::kDirectory || u.type == UnixfsType::kHamtShard) {
    return fail(Errc::kInvalidArgument, cid.toString() + " is a directory");
  }
  if (u.type != UnixfsType::kFile && u.type != UnixfsType::kRaw) {
    return fail(Errc::kUnsupported, cid.toString() + ": UnixFS type " + std::to_string(static_cast<int>(u.type)));
  }
  if (u.blocksizes.size() != n.node.links.size()) {
    return fail(Errc::kMalformed, cid.toString() + ": " + std::to_string(n.node.links.size()) + " links but " +
                                      std::to_string(u.blocksizes.size()) + " blocksizes");
  }
  std::uint64_t written = 0;
  if (u.data) {
    AE_TRY(out.write(*u.data));
    written += u.data->size();
  }
  for (std::size_t i = 0; i < n.node.links.size(); ++i) {
    AE_ASSIGN_OR_RETURN(const std::uint64_t got, exportNode(n.node.links[i].hash, source, out, limits, depth + 1));
    if (got != u.blocksizes[i]) {
      return fail(Errc::kMalformed, cid.toString() + ": child " + std::to_string(i) + " holds " + std::to_string(got) +
                                        " bytes, blocksizes says " + std::to_string(u.blocksizes[i]));
    }
    written += got;
  }
  if (u.filesize && *u.filesize != written) {
    return fail(Errc::kMalformed, cid.toString() + ": filesize " + std::to_string(*u.filesize) + " but content is " +
                                      std::to_string(written) + " bytes");
  }
  return written;
}

}  // namespace

Result<std::uint64_t> exportFile(const Cid& root, BlockSource& source, ByteSink& out, const ExportLimits& limits) {
  return exportNode(root, source, out, limits, 0);
}

Result<std::vector<DirectoryEntry>> listDirectory(const Cid& dir, BlockSource& source) {
  if (dir.codec() != codec::mc::kDagPb) return fail(Errc::kInvalidArgument, dir.toString() + " is not a directory");
  AE_ASSIGN_OR_RETURN(Bytes block, fetchVerified(dir, source, ExportLimits{}));
  AE_ASSIGN_OR_RETURN(DecodedPb n, decodeUnixfsNode(dir, block));
  if (n.unixfs.type == UnixfsType::kHamtShard) {
    return fail(Errc::kUnsupported, dir.toString() + " is a HAMT-sharded directory");
  }
  if (n.unixfs.type != UnixfsType::kDirectory) return fail(Errc::kInvalidArgument, dir.toString() + " is not a directory");
  std::vector<DirectoryEntry> entries;
  entries.reserve(n.node.links.size());
  for (PbLink& l : n.node.links) {
    if (!l.name || l.name->empty()) return fail(Errc::kMalformed, dir.toString() + ": directory link without a name");
    entries.push_back(DirectoryEntry{std::move(*l.name), std::move(l.hash), l.tsize.value_or(0)});
  }
  return entries;
}

}  // namespace aether::store
