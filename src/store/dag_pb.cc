// dag-pb and UnixFS Data protobuf codecs (see internal.h for the accepted forms).
#include <algorithm>
#include <string>

#include "store/internal.h"

namespace aether::store::internal {
namespace {

constexpr std::uint8_t kWireVarint = 0;
constexpr std::uint8_t kWireBytes = 2;

std::uint8_t key(std::uint32_t field, std::uint8_t wire) {
  return static_cast<std::uint8_t>((field << 3) | wire);
}

// A cursor over a protobuf message with strict varints.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }

  Result<std::uint64_t> varint(std::string_view what) {
    auto v = varintDecode(in_.subspan(pos_));
    if (!v) return withContext(std::move(v).error(), what);
    pos_ += v->length;
    return v->value;
  }

  Result<ByteView> bytes(std::string_view what) {
    AE_ASSIGN_OR_RETURN(const std::uint64_t len, varint(what));
    if (len > in_.size() - pos_) {
      return fail(Errc::kTruncated, std::string(what) + ": length " + std::to_string(len) +
                                        " runs past the end (" +
                                        std::to_string(in_.size() - pos_) + " bytes left)");
    }
    ByteView out = in_.subspan(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return out;
  }

  // The field number and wire type of the next key.
  Result<std::pair<std::uint64_t, std::uint8_t>> key(std::string_view what) {
    AE_ASSIGN_OR_RETURN(const std::uint64_t k, varint(what));
    return std::pair<std::uint64_t, std::uint8_t>{k >> 3, static_cast<std::uint8_t>(k & 7)};
  }

 private:
  ByteView in_;
  std::size_t pos_ = 0;
};

void appendBytesField(Bytes& out, std::uint32_t field, ByteView b) {
  out.push_back(key(field, kWireBytes));
  varintAppend(out, b.size());
  append(out, b);
}

void appendVarintField(Bytes& out, std::uint32_t field, std::uint64_t v) {
  out.push_back(key(field, kWireVarint));
  varintAppend(out, v);
}

std::string fieldName(std::uint64_t f) { return std::to_string(f); }

Result<PbLink> decodeLink(ByteView in) {
  Reader r(in);
  std::optional<codec::Cid> hash;
  std::optional<std::string> name;
  std::optional<std::uint64_t> tsize;
  std::uint64_t last_field = 0;
  while (!r.done()) {
    AE_ASSIGN_OR_RETURN(auto k, r.key("dag-pb link key"));
    const auto [field, wire] = k;
    if (field < 1 || field > 3) {
      return fail(Errc::kMalformed, "dag-pb link: unknown field " + fieldName(field));
    }
    if (field == last_field) {
      return fail(Errc::kMalformed, "dag-pb link: duplicate field " + fieldName(field));
    }
    if (field < last_field) {
      return fail(Errc::kNonCanonical, "dag-pb link: field " + fieldName(field) + " after field " +
                                           fieldName(last_field));
    }
    last_field = field;
    if (field == 1) {
      if (wire != kWireBytes) return fail(Errc::kMalformed, "dag-pb link: Hash has wire type " + std::to_string(wire));
      AE_ASSIGN_OR_RETURN(ByteView h, r.bytes("dag-pb link Hash"));
      auto cid = codec::Cid::fromBytes(h);
      if (!cid) {
        Error e = std::move(cid).error();
        e.code = Errc::kMalformed;
        return withContext(std::move(e), "dag-pb link Hash");
      }
      hash = std::move(*cid);
    } else if (field == 2) {
      if (wire != kWireBytes) return fail(Errc::kMalformed, "dag-pb link: Name has wire type " + std::to_string(wire));
      AE_ASSIGN_OR_RETURN(ByteView n, r.bytes("dag-pb link Name"));
      std::string s(asChars(n));
      if (!isValidUtf8(s)) return fail(Errc::kMalformed, "dag-pb link: Name is not UTF-8");
      name = std::move(s);
    } else {
      if (wire != kWireVarint) return fail(Errc::kMalformed, "dag-pb link: Tsize has wire type " + std::to_string(wire));
      AE_ASSIGN_OR_RETURN(tsize, r.varint("dag-pb link Tsize"));
    }
  }
  if (!hash) return fail(Errc::kMalformed, "dag-pb link: no Hash");
  return PbLink{std::move(*hash), std::move(name), tsize};
}

}  // namespace

bool pbLinkNameLess(const PbLink& a, const PbLink& b) {
  const std::string_view x = a.name ? std::string_view(*a.name) : std::string_view();
  const std::string_view y = b.name ? std::string_view(*b.name) : std::string_view();
  // char_traits<char> compares as unsigned char: bytewise, shorter prefix first.
  return x < y;
}

Result<Bytes> encodePbNode(const PbNode& node) {
  Bytes out;
  Bytes link;
  for (std::size_t i = 0; i < node.links.size(); ++i) {
    const PbLink& l = node.links[i];
    if (i > 0 && pbLinkNameLess(l, node.links[i - 1])) {
      return fail(Errc::kInvalidArgument, "dag-pb: links not sorted by name (index " + std::to_string(i) + ")");
    }
    link.clear();
    appendBytesField(link, 1, l.hash.toBytes());
    if (l.name) {
      if (!isValidUtf8(*l.name)) return fail(Errc::kInvalidArgument, "dag-pb: link name is not UTF-8");
      appendBytesField(link, 2, asBytes(*l.name));
    }
    if (l.tsize) {
      if (*l.tsize > kMaxVarintValue) return fail(Errc::kInvalidArgument, "dag-pb: Tsize over 2^63-1");
      appendVarintField(link, 3, *l.tsize);
    }
    appendBytesField(out, 2, link);
  }
  if (node.data) appendBytesField(out, 1, *node.data);
  return out;
}

Result<PbNode> decodePbNode(ByteView in) {
  Reader r(in);
  PbNode node;
  while (!r.done()) {
    AE_ASSIGN_OR_RETURN(auto k, r.key("dag-pb node key"));
    const auto [field, wire] = k;
    if (field != 1 && field != 2) {
      return fail(Errc::kMalformed, "dag-pb node: unknown field " + fieldName(field));
    }
    if (wire != kWireBytes) {
      return fail(Errc::kMalformed, "dag-pb node: field " + fieldName(field) + " has wire type " + std::to_string(wire));
    }
    if (node.data) {
      if (field == 1) return fail(Errc::kMalformed, "dag-pb node: duplicate Data");
      return fail(Errc::kNonCanonical, "dag-pb node: Links after Data");
    }
    if (field == 1) {
      AE_ASSIGN_OR_RETURN(ByteView d, r.bytes("dag-pb Data"));
      node.data = Bytes(d.begin(), d.end());
    } else {
      AE_ASSIGN_OR_RETURN(ByteView l, r.bytes("dag-pb Links"));
      AE_ASSIGN_OR_RETURN(PbLink link, decodeLink(l));
      if (!node.links.empty() && pbLinkNameLess(link, node.links.back())) {
        return fail(Errc::kNonCanonical, "dag-pb node: links not sorted by name");
      }
      node.links.push_back(std::move(link));
    }
  }
  return node;
}

Result<Bytes> encodeUnixfs(const UnixfsData& d) {
  Bytes out;
  appendVarintField(out, 1, static_cast<std::uint64_t>(d.type));
  if (d.data) appendBytesField(out, 2, *d.data);
  auto checked = [](std::uint64_t v) { return v <= kMaxVarintValue; };
  if (d.filesize) {
    if (!checked(*d.filesize)) return fail(Errc::kInvalidArgument, "unixfs: filesize over 2^63-1");
    appendVarintField(out, 3, *d.filesize);
  }
  for (std::uint64_t b : d.blocksizes) {
    if (!checked(b)) return fail(Errc::kInvalidArgument, "unixfs: blocksize over 2^63-1");
    appendVarintField(out, 4, b);
  }
  if (d.hash_type) {
    if (!checked(*d.hash_type)) return fail(Errc::kInvalidArgument, "unixfs: hashType over 2^63-1");
    appendVarintField(out, 5, *d.hash_type);
  }
  if (d.fanout) {
    if (!checked(*d.fanout)) return fail(Errc::kInvalidArgument, "unixfs: fanout over 2^63-1");
    appendVarintField(out, 6, *d.fanout);
  }
  if (d.mode) appendVarintField(out, 7, *d.mode);
  if (d.mtime) appendBytesField(out, 8, *d.mtime);
  return out;
}

Result<UnixfsData> decodeUnixfs(ByteView in) {
  Reader r(in);
  UnixfsData d;
  std::uint64_t last_field = 0;
  bool have_type = false;
  while (!r.done()) {
    AE_ASSIGN_OR_RETURN(auto k, r.key("unixfs key"));
    const auto [field, wire] = k;
    if (field < 1 || field > 8) return fail(Errc::kMalformed, "unixfs: unknown field " + fieldName(field));
    if (field < last_field) {
      return fail(Errc::kNonCanonical, "unixfs: field " + fieldName(field) + " after field " + fieldName(last_field));
    }
    if (field == last_field && field != 4) {
      return fail(Errc::kMalformed, "unixfs: duplicate field " + fieldName(field));
    }
    last_field = field;
    const bool bytes_field = field == 2 || field == 8;
    if (wire != (bytes_field ? kWireBytes : kWireVarint)) {
      return fail(Errc::kMalformed, "unixfs: field " + fieldName(field) + " has wire type " + std::to_string(wire));
    }
    if (bytes_field) {
      AE_ASSIGN_OR_RETURN(ByteView b, r.bytes("unixfs bytes field"));
      (field == 2 ? d.data : d.mtime) = Bytes(b.begin(), b.end());
      continue;
    }
    AE_ASSIGN_OR_RETURN(const std::uint64_t v, r.varint("unixfs field " + fieldName(field)));
    switch (field) {
      case 1:
        if (v > 5) return fail(Errc::kMalformed, "unixfs: unknown Type " + std::to_string(v));
        d.type = static_cast<UnixfsType>(v);
        have_type = true;
        break;
      case 3: d.filesize = v; break;
      case 4: d.blocksizes.push_back(v); break;
      case 5: d.hash_type = v; break;
      case 6: d.fanout = v; break;
      case 7:
        if (v > 0xffffffffu) return fail(Errc::kOverflow, "unixfs: mode over 32 bits");
        d.mode = static_cast<std::uint32_t>(v);
        break;
      default: break;
    }
  }
  if (!have_type) return fail(Errc::kMalformed, "unixfs: no Type");
  return d;
}

}  // namespace aether::store::internal

namespace aether::store {

Result<std::vector<codec::Cid>> dagPbLinks(ByteView block) {
  AE_ASSIGN_OR_RETURN(internal::PbNode node, internal::decodePbNode(block));
  std::vector<codec::Cid> out;
  out.reserve(node.links.size());
  for (auto& l : node.links) out.push_back(std::move(l.hash));
  return out;
}

}  // namespace aether::store
