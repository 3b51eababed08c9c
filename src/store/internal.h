// store internals: the dag-pb (PBNode / PBLink) and UnixFS Data protobuf codecs. Private to
// src/store (its tests and fuzzers include it too). Pure functions on value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/base.h"
#include "codec/codec.h"

namespace aether::store::internal {

// ---- dag-pb -------------------------------------------------------------------------------------
//
// Wire form (ipld dag-pb spec): PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }
// with every Links field before Data; PBLink { bytes Hash = 1; string Name = 2; uint64 Tsize = 3; }
// in that order. The decoder accepts only that canonical form: minimal varints, no unknown or
// duplicate fields, Hash present and a valid CID, Name valid UTF-8, links sorted by Name bytes
// (a missing Name sorts as ""). So encode(decode(b)) == b for every accepted b.

struct PbLink {
  codec::Cid hash;
  std::optional<std::string> name;
  std::optional<std::uint64_t> tsize;
  friend bool operator==(const PbLink&, const PbLink&) = default;
};

struct PbNode {
  std::vector<PbLink> links;
  std::optional<Bytes> data;
  friend bool operator==(const PbNode&, const PbNode&) = default;
};

// Byte order of names as dag-pb sorts them (shorter prefix first).
bool pbLinkNameLess(const PbLink& a, const PbLink& b);

// kInvalidArgument if links are not sorted, a Tsize exceeds 2^63-1, or a name is not UTF-8.
[[nodiscard]] Result<Bytes> encodePbNode(const PbNode& node);
[[nodiscard]] Result<PbNode> decodePbNode(ByteView in);

// ---- UnixFS Data --------------------------------------------------------------------------------
//
// message Data { required DataType Type = 1; optional bytes Data = 2; optional uint64 filesize = 3;
//   repeated uint64 blocksizes = 4 (not packed); optional uint64 hashType = 5;
//   optional uint64 fanout = 6; optional uint32 mode = 7; optional UnixTime mtime = 8; }
// Fields are written in field-number order; the decoder requires that order (blocksizes may
// repeat), minimal varints and no unknown fields. mtime is kept as its raw message bytes.

enum class UnixfsType : std::uint64_t {
  kRaw = 0,
  kDirectory = 1,
  kFile = 2,
  kMetadata = 3,
  kSymlink = 4,
  kHamtShard = 5,
};

struct UnixfsData {
  UnixfsType type = UnixfsType::kFile;
  std::optional<Bytes> data;
  std::optional<std::uint64_t> filesize;
  std::vector<std::uint64_t> blocksizes;
  std::optional<std::uint64_t> hash_type;
  std::optional<std::uint64_t> fanout;
  std::optional<std::uint32_t> mode;
  std::optional<Bytes> mtime;
  friend bool operator==(const UnixfsData&, const UnixfsData&) = default;
};

[[nodiscard]] Result<Bytes> encodeUnixfs(const UnixfsData& d);
[[nodiscard]] Result<UnixfsData> decodeUnixfs(ByteView in);

}  // namespace aether::store::internal
