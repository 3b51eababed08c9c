#include "store/store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/internal.h"

namespace aether::store {
namespace {

using codec::Cid;
using internal::PbLink;
using internal::PbNode;
using internal::UnixfsData;
using internal::UnixfsType;

Bytes hex(std::string_view h) {
  auto b = hexDecode(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or(Bytes{});
}

Cid rawCid(std::string_view content) { return cidForBlock(1, codec::mc::kRaw, asBytes(content)).value(); }

// Deterministic bytes without buffering: byte i of stream `seed`.
std::uint8_t streamByte(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t z = seed + (i / 8) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<std::uint8_t>(z >> (8 * (i % 8)));
}

Bytes streamBytes(std::uint64_t seed, std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = streamByte(seed, i);
  return b;
}

Result<ImportResult> importBytes(ByteView data, BlockSink& sink, const ImportProfile& p) {
  MemoryByteSource src(data);
  return importFile(src, sink, p);
}

// ---- dag-pb -------------------------------------------------------------------------------------

TEST(DagPb, EmptyDirectoryNodeIsTheWellKnownOne) {
  UnixfsData u;
  u.type = UnixfsType::kDirectory;
  PbNode node;
  node.data = internal::encodeUnixfs(u).value();
  const Bytes block = internal::encodePbNode(node).value();
  EXPECT_EQ(hexEncode(block), "0a020801");
  EXPECT_EQ(cidForBlock(0, codec::mc::kDagPb, block)->toString(), "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
  EXPECT_EQ(cidForBlock(1, codec::mc::kDagPb, block)->toString(),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
  auto back = internal::decodePbNode(block);
  ASSERT_TRUE(back) << back.error().toString();
  EXPECT_EQ(*back, node);
}

TEST(DagPb, RoundTripsLinksNamesAndSizes) {
  PbNode node;
  node.links.push_back(PbLink{rawCid("a"), std::nullopt, std::nullopt});
  node.links.push_back(PbLink{rawCid("b"), std::string(""), 0});
  node.links.push_back(PbLink{rawCid("c"), std::string("Z"), 7});
  node.links.push_back(PbLink{rawCid("d"), std::string("a"), kMaxVarintValue});
  node.links.push_back(PbLink{rawCid("e"), std::string("\xc3\xa4"), 1});
  node.data = Bytes{1, 2, 3};
  const Bytes enc = internal::encodePbNode(node).value();
  auto dec = internal::decodePbNode(enc);
  ASSERT_TRUE(dec) << dec.error().toString();
  EXPECT_EQ(*dec, node);
  // Links (field 2) come first on the wire, Data (field 1) last.
  EXPECT_EQ(enc.front(), 0x12);
  EXPECT_EQ(hexEncode(ByteView(enc).last(5)), "0a03010203");
}

TEST(DagPb, EncoderRefusesUnsortedLinks) {
  PbNode node;
  node.links.push_back(PbLink{rawCid("a"), std::string("b"), 1});
  node.links.push_back(PbLink{rawCid("b"), std::string("a"), 1});
  auto r = internal::encodePbNode(node);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

std::string linkHex(std::string_view cid_field_and_rest) {
  const std::size_t len = cid_field_and_rest.size() / 2;
  return "12" + hexEncode(varintEncode(len)) + std::string(cid_field_and_rest);
}

TEST(DagPb, RejectsBadInput) {
  const std::string cid = hexEncode(rawCid("x").toBytes());                 // 36 bytes
  const std::string hash = "0a" + hexEncode(varintEncode(cid.size() / 2)) + cid;  // Hash field
  struct Case {
    std::string name;
    std::string hex;
    Errc code;
  };
  const std::vector<Case> cases = {
      {"key only", "0a", Errc::kTruncated},
      {"data runs past end", "0a0508", Errc::kTruncated},
      {"truncated key varint", "8a", Errc::kTruncated},
      {"duplicate data", "0a0208010a00", Errc::kMalformed},
      {"links after data", "0a0208011200", Errc::kNonCanonical},
      {"unknown node field 3", "1a00", Errc::kMalformed},
      {"data with varint wire type", "0801", Errc::kMalformed},
      {"non-minimal length varint", "0a810008", Errc::kNonCanonical},
      {"overlong varint", "0affffffffffffffffff01", Errc::kOverflow},
      {"link without hash", "1200", Errc::kMalformed},
      {"link hash not a cid", linkHex("0a020102"), Errc::kMalformed},
      {"link hash with trailing byte", linkHex("0a" + hexEncode(varintEncode(cid.size() / 2 + 1)) + cid + "00"),
       Errc::kMalformed},
      {"link name before hash", linkHex("120161" + hash), Errc::kNonCanonical},
      {"link duplicate tsize", linkHex(hash + "18011801"), Errc::kMalformed},
      {"link tsize as bytes", linkHex(hash + "1a0101"), Errc::kMalformed},
      {"link name as varint", linkHex(hash + "1001"), Errc::kMalformed},
      {"link unknown field 4", linkHex(hash + "2001"), Errc::kMalformed},
      {"link name not utf-8", linkHex(hash + "1201ff"), Errc::kMalformed},
      {"links unsorted", linkHex(hash + "120162") + linkHex(hash + "120161"), Errc::kNonCanonical},
      {"link truncated inside", "1205" + hash.substr(0, 6), Errc::kTruncated},
  };
  ASSERT_GE(cases.size(), 10u);
  for (const Case& c : cases) {
    auto r = internal::decodePbNode(hex(c.hex));
    ASSERT_FALSE(r) << c.name << " was accepted";
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().toString();
  }
  // Control: the same link with a sorted order decodes.
  EXPECT_TRUE(internal::decodePbNode(hex(linkHex(hash + "120161") + linkHex(hash + "120162"))));
  // Equal names (file nodes: all "") are allowed.
  EXPECT_TRUE(internal::decodePbNode(hex(linkHex(hash + "1200") + linkHex(hash + "1200"))));
}

TEST(Unixfs, RoundTripAndBadInput) {
  UnixfsData u;
  u.type = UnixfsType::kFile;
  u.data = Bytes{9};
  u.filesize = 10;
  u.blocksizes = {4, 5};
  u.mode = 0644;
  const Bytes enc = internal::encodeUnixfs(u).value();
  EXPECT_EQ(hexEncode(enc), "0802120109180a20042005" "38a403");
  EXPECT_EQ(internal::decodeUnixfs(enc).value(), u);

  EXPECT_EQ(internal::decodeUnixfs(hex("")).error().code, Errc::kMalformed);
  EXPECT_EQ(internal::decodeUnixfs(hex("0809")).error().code, Errc::kMalformed);
  EXPECT_EQ(internal::decodeUnixfs(hex("18010802")).error().code, Errc::kNonCanonical);
  EXPECT_EQ(internal::decodeUnixfs(hex("080218011801")).error().code, Errc::kMalformed);
  EXPECT_EQ(internal::decodeUnixfs(hex("08024801")).error().code, Errc::kMalformed);  // field 9
  EXPECT_EQ(internal::decodeUnixfs(hex("08022201")).error().code, Errc::kMalformed);  // packed blocksizes
  EXPECT_EQ(internal::decodeUnixfs(hex("08021205")).error().code, Errc::kTruncated);
  EXPECT_TRUE(internal::decodeUnixfs(hex("08021801")));
}

// ---- importer -----------------------------------------------------------------------------------

TEST(Importer, EmptyFileIsTheWellKnownCid) {
  MemoryBlockStore s;
  EXPECT_EQ(importBytes({}, s, kProfileDefault)->root.toString(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(importBytes({}, s, kProfileUnixfsV1_2025)->root.toString(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  auto v0 = importBytes({}, s, kProfileUnixfsV0_2015);
  EXPECT_EQ(v0->root.toString(), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  EXPECT_EQ(v0->dag_size, 6u);
}

TEST(Importer, OneChunkFileIsItsOwnRawLeaf) {
  const Bytes data = streamBytes(1, 262144);
  MemoryBlockStore s;
  auto r = importBytes(data, s, kProfileDefault);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root, cidForBlock(1, codec::mc::kRaw, data).value());
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(r->dag_size, data.size());
}

TEST(Importer, ChunkPlusOneMakesARootWithTwoRawLinks) {
  const Bytes data = streamBytes(2, 262145);
  MemoryBlockStore s;
  auto r = importBytes(data, s, kProfileDefault);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root.version(), 1u);
  EXPECT_EQ(r->root.codec(), codec::mc::kDagPb);
  auto node = internal::decodePbNode(s.get(r->root).value()).value();
  ASSERT_EQ(node.links.size(), 2u);
  EXPECT_EQ(node.links[0].name, std::string(""));  // empty Name written, as the JS importer does
  EXPECT_EQ(node.links[1].tsize, 1u);
  auto u = internal::decodeUnixfs(node.data.value()).value();
  EXPECT_EQ(u.filesize, 262145u);
  EXPECT_EQ(u.blocksizes, (std::vector<std::uint64_t>{262144, 1}));
}

TEST(Importer, OneChildIntermediateNodeIsKept) {
  ImportProfile p = kProfileDefault;
  p.chunk_size = 1;
  p.max_links = 2;
  MemoryBlockStore s;
  auto r = importBytes(asBytes("abc"), s, p);
  ASSERT_TRUE(r);
  auto root = internal::decodePbNode(s.get(r->root).value()).value();
  ASSERT_EQ(root.links.size(), 2u);
  auto second = internal::decodePbNode(s.get(root.links[1].hash).value()).value();
  ASSERT_EQ(second.links.size(), 1u);
  EXPECT_EQ(second.links[0].hash, rawCid("c"));
  EXPECT_EQ(r->content_size, 3u);
}

TEST(Importer, DagPbLeavesForV0) {
  MemoryBlockStore s;
  auto r = importBytes(asBytes("hello"), s, kProfileUnixfsV0_2015);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->root.version(), 0u);
  auto node = internal::decodePbNode(s.get(r->root).value()).value();
  auto u = internal::decodeUnixfs(node.data.value()).value();
  EXPECT_EQ(u.type, UnixfsType::kFile);
  EXPECT_EQ(u.data, toBytes("hello"));
  EXPECT_EQ(u.filesize, 5u);
}

TEST(Importer, ProfilesByNameAndValidation) {
  EXPECT_EQ(ImportProfile::byName("unixfs-v1-2025")->chunk_size, 1048576u);
  EXPECT_EQ(ImportProfile::byName("unixfs-v0-2015")->cid_version, 0u);
  EXPECT_EQ(ImportProfile::byName("nope").error().code, Errc::kNotFound);
  ImportProfile p = kProfileDefault;
  p.max_links = 1;
  MemoryBlockStore s;
  EXPECT_EQ(importBytes(asBytes("x"), s, p).error().code, Errc::kInvalidArgument);
  p = kProfileDefault;
  p.chunk_size = 0;
  EXPECT_EQ(importBytes(asBytes("x"), s, p).error().code, Errc::kInvalidArgument);
}

// A source that produces `size` bytes on the fly and records how it is read.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::uint64_t size) : size_(size) {}
  Result<std::size_t> read(std::span<std::uint8_t> out) override {
    ++reads;
    max_request = std::max(max_request, out.size());
    // Hand out at most 100 000 bytes per call, so the importer must loop to fill a chunk.
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>({out.size(), size_ - pos_, 100000}));
    for (std::size_t i = 0; i < n; ++i) out[i] = streamByte(7, pos_ + i);
    pos_ += n;
    return n;
  }
  std::uint64_t pos() const { return pos_; }
  std::size_t reads = 0;
  std::size_t max_request = 0;

 private:
  std::uint64_t size_;
  std::uint64_t pos_ = 0;
};

// Counts blocks as they arrive, noting how much of the source had been read by then.
class ProgressSink final : public BlockSink {
 public:
  explicit ProgressSink(const CountingSource& src) : src_(src) {}
  Status put(const Cid&, ByteView block) override {
    ++blocks;
    max_block = std::max(max_block, block.size());
    if (src_.pos() < 16u * 1024 * 1024) ++blocks_before_half;
    return {};
  }
  std::size_t blocks = 0;
  std::size_t blocks_before_half = 0;
  std::size_t max_block = 0;

 private:
  const CountingSource& src_;
};

TEST(Importer, StreamsChunkByChunkWithoutBufferingTheFile) {
  constexpr std::uint64_t kSize = 32ull * 1024 * 1024 + 5;  // 129 chunks of 256 KiB
  CountingSource src(kSize);
  ProgressSink sink(src);
  auto r = importFile(src, sink, kProfileDefault);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->content_size, kSize);
  // Never asks for more than one chunk at a time...
  EXPECT_LE(src.max_request, kProfileDefault.chunk_size);
  EXPECT_GE(src.reads, kSize / 100000);
  // ...and emits leaves while reading: half the leaves are out before half the file is read.
  EXPECT_GE(sink.blocks_before_half, 60u);
  EXPECT_EQ(sink.blocks, 129u + 1u);  // 129 leaves under one root (< 174 links)
  EXPECT_LE(sink.max_block, kProfileDefault.chunk_size);
}

// ---- directories --------------------------------------------------------------------------------

TEST(Directory, EntriesSortedByNameBytesWithTsize) {
  MemoryBlockStore s;
  DirectoryImporter d(s, kProfileDefault);
  for (std::string_view name : std::initializer_list<std::string_view>{"\xc3\xa4", "a", "B", "10", "9"}) {
    MemoryByteSource src(asBytes(name));
    ASSERT_TRUE(d.addFile(name, src));
  }
  ASSERT_TRUE(d.addDirectory("sub/empty"));
  auto r = d.finish();
  ASSERT_TRUE(r) << r.error().toString();
  auto entries = listDirectory(r->root, s);
  ASSERT_TRUE(entries) << entries.error().toString();
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"10", "9", "B", "a", "sub", "\xc3\xa4"}));
  EXPECT_EQ((*entries)[3].tsize, 1u);                  // raw leaf "a": its length
  EXPECT_EQ((*entries)[3].cid, rawCid("a"));
  auto sub = listDirectory((*entries)[4].cid, s).value();
  ASSERT_EQ(sub.size(), 1u);
  EXPECT_EQ(sub[0].cid.toString(), "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
  EXPECT_EQ(sub[0].tsize, 4u);
  EXPECT_EQ((*entries)[4].tsize, s.get((*entries)[4].cid)->size() + 4u);
}

TEST(Directory, RejectsBadPathsAndDuplicates) {
  MemoryBlockStore s;
  DirectoryImporter d(s, kProfileDefault);
  MemoryByteSource a(asBytes("a"));
  ASSERT_TRUE(d.addFile("x/y", a));
  for (std::string_view bad : std::initializer_list<std::string_view>{"", "/x", "x/", "x//y", "./x", "x/../y", "..", std::string_view("a\0b", 3)}) {
    MemoryByteSource src(asBytes("z"));
    auto st = d.addFile(bad, src);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, Errc::kInvalidArgument) << bad;
  }
  MemoryByteSource b(asBytes("b"));
  EXPECT_EQ(d.addFile("x/y", b).error().code, Errc::kAlreadyExists);
  EXPECT_EQ(d.addFile("x/y/z", b).error().code, Errc::kAlreadyExists);
  EXPECT_EQ(d.addDirectory("x/y").error().code, Errc::kAlreadyExists);
  EXPECT_EQ(d.addFile("x", b).error().code, Errc::kAlreadyExists);
}

TEST(Directory, TooBigForOneNodeIsUnsupportedNotSharded) {
  ImportProfile p = kProfileDefault;
  p.shard_threshold = 200;
  MemoryBlockStore s;
  DirectoryImporter d(s, p);
  for (int i = 0; i < 5; ++i) {
    MemoryByteSource src(asBytes("same"));
    ASSERT_TRUE(d.addFile("a-rather-long-file-name-number-" + std::to_string(i), src));
  }
  auto r = d.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported);
}

// ---- exporter -----------------------------------------------------------------------------------

TEST(Exporter, RoundTripsMultiLevelFiles) {
  for (const ImportProfile* base : {&kProfileDefault, &kProfileUnixfsV0_2015}) {
    ImportProfile p = *base;
    p.chunk_size = 100;
    p.max_links = 3;
    const Bytes data = streamBytes(3, 5000);  // 50 leaves, 4 levels
    MemoryBlockStore s;
    auto r = importBytes(data, s, p);
    ASSERT_TRUE(r);
    MemoryByteSink out;
    auto n = exportFile(r->root, s, out);
    ASSERT_TRUE(n) << n.error().toString();
    EXPECT_EQ(*n, data.size());
    EXPECT_EQ(out.bytes(), data);
  }
}

TEST(Exporter, TamperedBlockIsAnIntegrityError) {
  ImportProfile p = kProfileDefault;
  p.chunk_size = 100;
  const Bytes data = streamBytes(4, 1000);
  MemoryBlockStore s;
  auto r = importBytes(data, s, p);
  ASSERT_TRUE(r);
  // Flip one byte of the sixth leaf.
  const Cid leaf = cidForBlock(1, codec::mc::kRaw, ByteView(data).subspan(500, 100)).value();
  Bytes bad = s.get(leaf).value();
  bad[3] ^= 1;
  ASSERT_TRUE(s.replace(leaf, bad));
  MemoryByteSink out;
  auto n = exportFile(r->root, s, out);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, Errc::kIntegrity);
  EXPECT_EQ(out.bytes().size(), 500u);  // streamed up to the bad block, not past it

  // A tampered root too.
  MemoryBlockStore s2;
  auto r2 = importBytes(data, s2, p).value();
  Bytes root = s2.get(r2.root).value();
  root.back() ^= 1;
  ASSERT_TRUE(s2.replace(r2.root, root));
  MemoryByteSink out2;
  EXPECT_EQ(exportFile(r2.root, s2, out2).error().code, Errc::kIntegrity);
}

TEST(Exporter, MissingBlockAndDirectory) {
  MemoryBlockStore s;
  MemoryByteSink out;
  EXPECT_EQ(exportFile(rawCid("nothing"), s, out).error().code, Errc::kNotFound);
  DirectoryImporter d(s, kProfileDefault);
  ASSERT_TRUE(d.addDirectory("x"));
  auto dir = d.finish().value();
  EXPECT_EQ(exportFile(dir.root, s, out).error().code, Errc::kInvalidArgument);
}

TEST(Exporter, InconsistentBlocksizesAreMalformed) {
  // A file node claiming 5 bytes for a 1-byte raw child.
  MemoryBlockStore s;
  const Cid child = rawCid("a");
  ASSERT_TRUE(s.put(child, asBytes("a")));
  UnixfsData u;
  u.filesize = 5;
  u.blocksizes = {5};
  PbNode node;
  node.links.push_back(PbLink{child, std::string(), 1});
  node.data = internal::encodeUnixfs(u).value();
  const Bytes block = internal::encodePbNode(node).value();
  const Cid root = cidForBlock(1, codec::mc::kDagPb, block).value();
  ASSERT_TRUE(s.put(root, block));
  MemoryByteSink out;
  EXPECT_EQ(exportFile(root, s, out).error().code, Errc::kMalformed);
}

// ---- CAR ----------------------------------------------------------------------------------------

Bytes writeCar(std::span<const Cid> roots, const std::vector<std::pair<Cid, Bytes>>& blocks) {
  MemoryByteSink out;
  auto w = CarWriter::create(out, roots);
  EXPECT_TRUE(w);
  for (const auto& [c, b] : blocks) EXPECT_TRUE(w->put(c, b));
  return out.bytes();
}

Status readAll(ByteView car, std::vector<CarBlock>* blocks = nullptr, const CarLimits& limits = {}) {
  MemoryByteSource src(car);
  AE_ASSIGN_OR_RETURN(CarReader r, CarReader::open(src, limits));
  for (;;) {
    AE_ASSIGN_OR_RETURN(auto b, r.next());
    if (!b) return {};
    if (blocks != nullptr) blocks->push_back(std::move(*b));
  }
}

TEST(Car, WriterOutputIsTheSpecLayout) {
  const Cid c = rawCid("hi");
  const Cid roots[] = {c};
  const Bytes car = writeCar(roots, {{c, toBytes("hi")}});
  // varint(header) {roots: [c], version: 1}
  const std::string header = "a265726f6f747381d82a5825" "00" + hexEncode(c.toBytes()) + "6776657273696f6e01";
  const std::string section = hexEncode(varintEncode(36 + 2)) + hexEncode(c.toBytes()) + "6869";
  EXPECT_EQ(hexEncode(car), hexEncode(varintEncode(header.size() / 2)) + header + section);
  std::vector<CarBlock> blocks;
  ASSERT_TRUE(readAll(car, &blocks));
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].cid, c);
  EXPECT_EQ(blocks[0].bytes, toBytes("hi"));
}

TEST(Car, ImportIntoCarAndBack) {
  ImportProfile p = kProfileUnixfsV0_2015;
  p.chunk_size = 64;
  const Bytes data = streamBytes(5, 3000);
  MemoryBlockStore s;
  auto r = importBytes(data, s, p).value();
  const Cid roots[] = {r.root};
  MemoryByteSink out;
  auto w = CarWriter::create(out, roots).value();
  for (const Cid& c : s.order()) ASSERT_TRUE(w.put(c, s.get(c).value()));
  MemoryByteSource src(out.bytes());
  auto reader = CarReader::open(src).value();
  ASSERT_EQ(reader.roots().size(), 1u);
  EXPECT_EQ(reader.roots()[0], r.root);
  MemoryBlockStore back;
  for (;;) {
    auto b = reader.next();
    ASSERT_TRUE(b) << b.error().toString();
    if (!*b) break;
    ASSERT_TRUE(back.put((*b)->cid, (*b)->bytes));
  }
  MemoryByteSink content;
  ASSERT_TRUE(exportFile(r.root, back, content));
  EXPECT_EQ(content.bytes(), data);
}

TEST(Car, RejectsBadInput) {
  const Cid c = rawCid("hi");
  const Cid roots[] = {c};
  const Bytes good = writeCar(roots, {{c, toBytes("hi")}});
  const std::size_t header_end = 1 + good[0];
  auto headerCar = [](const codec::Value& v) {
    Bytes h = codec::encodeDagCbor(v).value();
    Bytes out = varintEncode(h.size());
    append(out, h);
    return out;
  };
  auto with = [&](ByteView tail) {
    Bytes out(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(header_end));
    append(out, tail);
    return out;
  };
  codec::Value::Map v2{{"version", codec::Value(2)}};
  codec::Value::Map v3{{"roots", codec::Value(codec::Value::List{})}, {"version", codec::Value(3)}};
  codec::Value::Map noRoots{{"version", codec::Value(1)}};
  codec::Value::Map rootNotLink{{"roots", codec::Value(codec::Value::List{codec::Value(1)})}, {"version", codec::Value(1)}};
  codec::Value::Map extraKey{{"roots", codec::Value(codec::Value::List{})}, {"version", codec::Value(1)}, {"x", codec::Value(1)}};
  Bytes tampered = good;
  tampered.back() ^= 1;
  Bytes badCidSection = with(hex("0401ff0000"));
  Bytes section = varintEncode(36 + 2);
  append(section, c.toBytes());
  append(section, asBytes("hi"));

  struct Case {
    std::string name;
    Bytes car;
    Errc code;
  };
  const std::vector<Case> cases = {
      {"empty", {}, Errc::kTruncated},
      {"zero-length header", hex("00"), Errc::kMalformed},
      {"header runs past end", hex("0aa2"), Errc::kTruncated},
      {"header not dag-cbor", hex("01ff"), Errc::kMalformed},
      {"header non-canonical cbor", hex("021800"), Errc::kMalformed},
      {"header a list", headerCar(codec::Value(codec::Value::List{})), Errc::kMalformed},
      {"version 2", headerCar(codec::Value(v2)), Errc::kUnsupported},
      {"version 3", headerCar(codec::Value(v3)), Errc::kMalformed},
      {"no roots", headerCar(codec::Value(noRoots)), Errc::kMalformed},
      {"root not a link", headerCar(codec::Value(rootNotLink)), Errc::kMalformed},
      {"extra header key", headerCar(codec::Value(extraKey)), Errc::kMalformed},
      {"overlong header varint", hex("ffffffffffffffffff01"), Errc::kOverflow},
      {"non-minimal header varint", hex("8000"), Errc::kNonCanonical},
      {"truncated header varint", hex("80"), Errc::kTruncated},
      {"zero-length section", with(hex("00")), Errc::kMalformed},
      {"section cut short", Bytes(good.begin(), good.end() - 1), Errc::kTruncated},
      {"stray byte after last section", [&] { Bytes b = good; b.push_back(5); return b; }(), Errc::kTruncated},
      {"truncated section varint", [&] { Bytes b = good; b.push_back(0x80); return b; }(), Errc::kTruncated},
      {"overlong section varint", with(hex("ffffffffffffffffff01")), Errc::kOverflow},
      {"bad cid in section", badCidSection, Errc::kMalformed},
      {"tampered block", tampered, Errc::kIntegrity},
  };
  ASSERT_GE(cases.size(), 10u);
  for (const Case& k : cases) {
    auto st = readAll(k.car);
    ASSERT_FALSE(st) << k.name << " was accepted";
    EXPECT_EQ(st.error().code, k.code) << k.name << ": " << st.error().toString();
  }
  // Limits.
  CarLimits small;
  small.max_section = 10;
  EXPECT_EQ(readAll(good, nullptr, small).error().code, Errc::kLimitExceeded);
  small = CarLimits{};
  small.max_header = 4;
  EXPECT_EQ(readAll(good, nullptr, small).error().code, Errc::kLimitExceeded);
  // Controls: the good CAR, and one with an empty roots list (as @ipld/car allows), read fine.
  EXPECT_TRUE(readAll(good));
  codec::Value::Map noRootsOk{{"roots", codec::Value(codec::Value::List{})}, {"version", codec::Value(1)}};
  Bytes emptyRoots = headerCar(codec::Value(noRootsOk));
  append(emptyRoots, section);
  EXPECT_TRUE(readAll(emptyRoots));
}

}  // namespace
}  // namespace aether::store
