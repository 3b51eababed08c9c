// Multicodec names and multihash encode / decode.
#include <array>
#include <utility>

#include "codec/codec.h"
#include "codec/internal.h"

namespace aether::codec {
namespace {

struct CodecName {
  std::uint64_t code;
  std::string_view name;
};

// Names as spelled in multiformats/multicodec table.csv.
constexpr std::array<CodecName, 20> kCodecNames{{
    {mc::kIdentity, "identity"},
    {mc::kSha2_256, "sha2-256"},
    {mc::kBlake2b256, "blake2b-256"},
    {mc::kRaw, "raw"},
    {mc::kDagPb, "dag-pb"},
    {mc::kDagCbor, "dag-cbor"},
    {mc::kLibp2pKey, "libp2p-key"},
    {mc::kDagJson, "dag-json"},
    {mc::kEd25519Pub, "ed25519-pub"},
    {mc::kX25519Pub, "x25519-pub"},
    {mc::kIp4, "ip4"},
    {mc::kTcp, "tcp"},
    {mc::kIp6, "ip6"},
    {mc::kDns, "dns"},
    {mc::kDns4, "dns4"},
    {mc::kDns6, "dns6"},
    {mc::kUdp, "udp"},
    {mc::kP2p, "p2p"},
    {mc::kQuic, "quic"},
    {mc::kQuicV1, "quic-v1"},
}};

constexpr std::size_t kHash256Bytes = 32;

Status checkDigest(std::uint64_t code, std::size_t size) {
  switch (code) {
    case mc::kIdentity:
      if (size > Multihash::kMaxIdentityDigest) {
        return fail(Errc::kLimitExceeded, "multihash: identity digest of " + std::to_string(size) +
                                              " bytes exceeds " + std::to_string(Multihash::kMaxIdentityDigest));
      }
      return {};
    case mc::kSha2_256:
    case mc::kBlake2b256:
      if (size != kHash256Bytes) {
        return fail(Errc::kWrongLength, "multihash: " + std::string(*multicodecName(code)) + " digest must be 32 bytes, got " +
                                            std::to_string(size));
      }
      return {};
    default:
      return fail(Errc::kUnsupported, "multihash: unsupported hash code 0x" + hexEncode(varintEncode(code)));
  }
}

}  // namespace

std::optional<std::string_view> multicodecName(std::uint64_t code) {
  for (const auto& entry : kCodecNames) {
    if (entry.code == code) return entry.name;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> multicodecCode(std::string_view name) {
  for (const auto& entry : kCodecNames) {
    if (entry.name == name) return entry.code;
  }
  return std::nullopt;
}

bool isCidCodec(std::uint64_t code) {
  return code == mc::kRaw || code == mc::kDagPb || code == mc::kDagCbor || code == mc::kLibp2pKey ||
         code == mc::kDagJson;
}

Result<Multihash> Multihash::make(std::uint64_t code, ByteView digest) {
  AE_TRY(checkDigest(code, digest.size()));
  return Multihash{code, Bytes(digest.begin(), digest.end())};
}
Result<Multihash> Multihash::sha256(ByteView digest32) { return make(mc::kSha2_256, digest32); }
Result<Multihash> Multihash::blake2b256(ByteView digest32) { return make(mc::kBlake2b256, digest32); }
Result<Multihash> Multihash::identity(ByteView data) { return make(mc::kIdentity, data); }

Status Multihash::validate() const { return checkDigest(code, digest.size()); }

void Multihash::appendTo(Bytes& out) const {
  varintAppend(out, code);
  varintAppend(out, digest.size());
  append(out, digest);
}

Bytes Multihash::encode() const {
  Bytes out;
  out.reserve(encodedSize());
  appendTo(out);
  return out;
}

std::size_t Multihash::encodedSize() const {
  return varintSize(code) + varintSize(digest.size()) + digest.size();
}

Result<Multihash> Multihash::decodePrefix(ByteView in, std::size_t* consumed) {
  auto code = varintDecode(in);
  if (!code) return withContext(std::move(code).error(), "multihash code");
  auto size = varintDecode(in.subspan(code->length));
  if (!size) return withContext(std::move(size).error(), "multihash length");
  // Check the code and length before looking at (or allocating for) the digest.
  AE_TRY(checkDigest(code->value, size->value));
  const std::size_t header = code->length + size->length;
  if (in.size() - header < size->value) {
    return fail(Errc::kTruncated, "multihash: digest needs " + std::to_string(size->value) + " bytes, " +
                                      std::to_string(in.size() - header) + " left");
  }
  const auto digest = in.subspan(header, size->value);
  if (consumed != nullptr) *consumed = header + size->value;
  return Multihash{code->value, Bytes(digest.begin(), digest.end())};
}

Result<Multihash> Multihash::decode(ByteView in) {
  std::size_t used = 0;
  AE_ASSIGN_OR_RETURN(auto mh, decodePrefix(in, &used));
  if (used != in.size()) {
    return fail(Errc::kTrailingData, "multihash: " + std::to_string(in.size() - used) + " bytes after the digest");
  }
  return mh;
}

}  // namespace aether::codec
