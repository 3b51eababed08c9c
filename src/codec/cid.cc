// CIDv0 / CIDv1: binary and text forms.
#include <utility>

#include "codec/codec.h"
#include "codec/internal.h"

namespace aether::codec {
namespace {

constexpr std::size_t kCidV0Chars = 46;
constexpr std::size_t kCidV0Bytes = 34;  // 0x12 0x20 + 32-byte digest

bool looksLikeV0Binary(ByteView in) { return in.size() >= 2 && in[0] == 0x12 && in[1] == 0x20; }

}  // namespace

Cid Cid::v1(std::uint64_t codec, Multihash hash) { return Cid(1, codec, std::move(hash)); }

Result<Cid> Cid::v0(Multihash hash) {
  if (hash.code != mc::kSha2_256) {
    return fail(Errc::kUnsupported, "cid: v0 requires a sha2-256 multihash, got " + internal::codeHex(hash.code));
  }
  AE_TRY(hash.validate());
  return Cid(0, mc::kDagPb, std::move(hash));
}

Result<Cid> Cid::makeV1(std::uint64_t codec, Multihash hash) {
  if (!isCidCodec(codec)) return fail(Errc::kUnsupported, "cid: unsupported codec " + internal::codeHex(codec));
  AE_TRY(hash.validate());
  return Cid(1, codec, std::move(hash));
}

Result<Cid> Cid::readPrefix(ByteView in, std::size_t* consumed) {
  if (in.empty()) return fail(Errc::kTruncated, "cid: empty input");
  if (looksLikeV0Binary(in)) {
    if (in.size() < kCidV0Bytes) {
      return fail(Errc::kTruncated, "cid: v0 needs 34 bytes, got " + std::to_string(in.size()));
    }
    AE_ASSIGN_OR_RETURN(auto mh, Multihash::decode(in.first(kCidV0Bytes)));
    if (consumed != nullptr) *consumed = kCidV0Bytes;
    return Cid(0, mc::kDagPb, std::move(mh));
  }
  auto version = varintDecode(in);
  if (!version) return withContext(std::move(version).error(), "cid version");
  if (version->value != 1) {
    if (version->value == 0) {
      return fail(Errc::kMalformed, "cid: version 0 is only valid as a bare sha2-256 multihash");
    }
    if (version->value == 0x12) {
      return fail(Errc::kMalformed, "cid: looks like a v0 CID but the digest length is not 32");
    }
    return fail(Errc::kUnsupported, "cid: unsupported version " + std::to_string(version->value));
  }
  std::size_t pos = version->length;
  auto codec = varintDecode(in.subspan(pos));
  if (!codec) return withContext(std::move(codec).error(), "cid codec");
  if (!isCidCodec(codec->value)) {
    return fail(Errc::kUnsupported, "cid: unsupported codec " + internal::codeHex(codec->value));
  }
  pos += codec->length;
  std::size_t mh_len = 0;
  auto mh = Multihash::decodePrefix(in.subspan(pos), &mh_len);
  if (!mh) return withContext(std::move(mh).error(), "cid");
  if (consumed != nullptr) *consumed = pos + mh_len;
  return Cid(1, codec->value, std::move(*mh));
}

Result<Cid> Cid::fromBytes(ByteView in) {
  std::size_t used = 0;
  AE_ASSIGN_OR_RETURN(auto cid, readPrefix(in, &used));
  if (used != in.size()) {
    return fail(Errc::kTrailingData, "cid: " + std::to_string(in.size() - used) + " bytes after the CID");
  }
  return cid;
}

Result<Cid> Cid::parse(std::string_view text) {
  if (text.size() == kCidV0Chars && text.starts_with("Qm")) {
    auto bytes = base58btcDecode(text);
    if (!bytes) return withContext(std::move(bytes).error(), "cid v0");
    if (bytes->size() != kCidV0Bytes || !looksLikeV0Binary(*bytes)) {
      return fail(Errc::kMalformed, "cid: 46-character Qm string is not a sha2-256 multihash");
    }
    return fromBytes(*bytes);
  }
  auto decoded = multibaseDecode(text);
  if (!decoded) return withContext(std::move(decoded).error(), "cid");
  if (!decoded->empty() && (*decoded)[0] == 0x12) {
    return fail(Errc::kMalformed, "cid: a v0 CID may not carry a multibase prefix");
  }
  return fromBytes(*decoded);
}

void Cid::appendTo(Bytes& out) const {
  if (version_ == 0) {
    hash_.appendTo(out);
    return;
  }
  varintAppend(out, version_);
  varintAppend(out, codec_);
  hash_.appendTo(out);
}

Bytes Cid::toBytes() const {
  Bytes out;
  out.reserve(4 + hash_.encodedSize());
  appendTo(out);
  return out;
}

std::string Cid::toString() const {
  if (version_ == 0) return base58btcEncode(toBytes());
  return multibaseEncode(Multibase::kBase32, toBytes());
}

std::string Cid::toString(Multibase base) const {
  if (version_ == 0) return base58btcEncode(toBytes());
  return multibaseEncode(base, toBytes());
}

}  // namespace aether::codec
