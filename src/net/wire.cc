// Peer ids, the libp2p PublicKey protobuf, multistream-select messages and the Noise handshake
// payload protobuf.
#include <algorithm>

#include "net/internal.h"

namespace aether::net {

// ---- protobuf helpers -------------------------------------------------------------------------


void appendBytesField(Bytes& out, std::uint32_t field, ByteView value) {
  varintAppend(out, (std::uint64_t{field} << 3) | kWireBytes);
  varintAppend(out, value.size());
  append(out, value);
}

void appendVarintField(Bytes& out, std::uint32_t field, std::uint64_t value) {
  varintAppend(out, (std::uint64_t{field} << 3) | kWireVarint);
  varintAppend(out, value);
}

Result<Field> readField(ByteView& in, std::string_view what) {
  auto tag = varintDecode(in);
  if (!tag) return withContext(tag.error(), std::string(what) + ": field tag");
  in = in.subspan(tag->length);
  if (tag->value >> 3 == 0 || tag->value >> 3 > 0x1fffffff) {
    return fail(Errc::kMalformed, std::string(what) + ": invalid field number");
  }
  Field f{static_cast<std::uint32_t>(tag->value >> 3), static_cast<std::uint32_t>(tag->value & 7), 0, {}};
  switch (f.wire) {
    case kWireVarint: {
      auto v = varintDecode(in);
      if (!v) return withContext(v.error(), std::string(what) + ": varint field");
      in = in.subspan(v->length);
      f.varint = v->value;
      return f;
    }
    case kWireFixed64:
    case kWireFixed32: {
      std::size_t n = f.wire == kWireFixed64 ? 8 : 4;
      if (in.size() < n) return fail(Errc::kTruncated, std::string(what) + ": fixed field truncated");
      in = in.subspan(n);
      return f;
    }
    case kWireBytes: {
      auto len = varintDecode(in);
      if (!len) return withContext(len.error(), std::string(what) + ": length");
      in = in.subspan(len->length);
      if (len->value > in.size()) {
        return fail(Errc::kTruncated, std::string(what) + ": length-delimited field runs past the end");
      }
      f.bytes = in.first(static_cast<std::size_t>(len->value));
      in = in.subspan(static_cast<std::size_t>(len->value));
      return f;
    }
    default:
      return fail(Errc::kMalformed, std::string(what) + ": unsupported wire type " +
                                        std::to_string(f.wire));
  }
}


// ---- PublicKey / PeerId -----------------------------------------------------------------------

Bytes encodeEd25519PublicKeyProto(const crypto::Ed25519PublicKey& key) {
  Bytes out{0x08, 0x01};
  appendBytesField(out, 2, key);
  return out;
}

Result<crypto::Ed25519PublicKey> decodeEd25519PublicKeyProto(ByteView in) {
  constexpr std::string_view kWhat = "public key protobuf";
  if (in.empty()) return fail(Errc::kTruncated, "public key protobuf: empty");
  AE_ASSIGN_OR_RETURN(Field type, readField(in, kWhat));
  if (type.number != 1 || type.wire != kWireVarint) {
    return fail(Errc::kMalformed, "public key protobuf: first field must be Type (1, varint)");
  }
  if (type.varint != 1) {
    if (type.varint <= 3) {
      return fail(Errc::kUnsupported, "public key protobuf: key type " +
                                          std::to_string(type.varint) + " (only Ed25519 = 1)");
    }
    return fail(Errc::kMalformed, "public key protobuf: unknown key type " + std::to_string(type.varint));
  }
  if (in.empty()) return fail(Errc::kTruncated, "public key protobuf: missing Data");
  AE_ASSIGN_OR_RETURN(Field data, readField(in, kWhat));
  if (data.number != 2 || data.wire != kWireBytes) {
    return fail(Errc::kMalformed, "public key protobuf: second field must be Data (2, bytes)");
  }
  if (!in.empty()) return fail(Errc::kTrailingData, "public key protobuf: bytes after Data");
  if (data.bytes.size() != crypto::kEd25519PublicKeySize) {
    return fail(Errc::kWrongLength, "public key protobuf: Ed25519 key of " +
                                        std::to_string(data.bytes.size()) + " bytes");
  }
  crypto::Ed25519PublicKey key;
  std::copy(data.bytes.begin(), data.bytes.end(), key.begin());
  return key;
}

PeerId PeerId::fromEd25519(const crypto::Ed25519PublicKey& key) {
  Bytes proto = encodeEd25519PublicKeyProto(key);
  return PeerId(codec::Multihash{codec::mc::kIdentity, std::move(proto)});
}

Result<PeerId> PeerId::fromMultihash(codec::Multihash hash) {
  AE_TRY(hash.validate());
  if (hash.code == codec::mc::kIdentity) {
    if (hash.digest.size() > 42) {
      return fail(Errc::kNonCanonical, "peer id: identity multihash over 42 bytes");
    }
  } else if (hash.code != codec::mc::kSha2_256) {
    return fail(Errc::kUnsupported, "peer id: multihash must be identity or sha2-256");
  }
  return PeerId(std::move(hash));
}

Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.empty()) return fail(Errc::kMalformed, "peer id: empty");
  auto bytes = codec::base58btcDecode(text);
  if (!bytes) return withContext(bytes.error(), "peer id");
  auto hash = codec::Multihash::decode(*bytes);
  if (!hash) return withContext(hash.error(), "peer id");
  return fromMultihash(std::move(*hash));
}

std::string PeerId::toString() const { return codec::base58btcEncode(hash_.encode()); }

std::optional<crypto::Ed25519PublicKey> PeerId::ed25519Key() const {
  if (hash_.code != codec::mc::kIdentity) return std::nullopt;
  auto key = decodeEd25519PublicKeyProto(hash_.digest);
  if (!key) return std::nullopt;
  return *key;
}

// ---- multistream-select -----------------------------------------------------------------------

void appendMultistreamMessage(Bytes& out, std::string_view text) {
  varintAppend(out, text.size() + 1);
  append(out, asBytes(text));
  out.push_back('\n');
}

Result<Bytes> encodeMultistreamMessage(std::string_view text) {
  if (text.empty()) return fail(Errc::kInvalidArgument, "multistream: empty message");
  if (text.find('\n') != std::string_view::npos) {
    return fail(Errc::kInvalidArgument, "multistream: newline inside message");
  }
  if (text.size() + 1 > kMaxMultistreamMessage) {
    return fail(Errc::kInvalidArgument, "multistream: message too long");
  }
  Bytes out;
  appendMultistreamMessage(out, text);
  return out;
}

bool validProtocolText(ByteView b) {
  std::size_t i = 0;
  while (i < b.size()) {
    std::uint8_t c = b[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + n >= b.size()) return false;
    for (std::size_t j = 1; j <= n; ++j) {
      if ((b[i + j] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b[i + j] & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Result<std::string> decodeMultistreamBody(ByteView body) {
  if (body.empty()) return fail(Errc::kMalformed, "multistream: empty message");
  if (body.size() > kMaxMultistreamMessage) {
    return fail(Errc::kLimitExceeded, "multistream: message of " + std::to_string(body.size()) +
                                          " bytes (limit " + std::to_string(kMaxMultistreamMessage) + ")");
  }
  if (body.back() != '\n') return fail(Errc::kMalformed, "multistream: message does not end in newline");
  ByteView text = body.first(body.size() - 1);
  if (text.empty()) return fail(Errc::kMalformed, "multistream: message is only a newline");
  if (!validProtocolText(text)) {
    return fail(Errc::kMalformed, "multistream: message has control characters or invalid UTF-8");
  }
  return std::string(asChars(text));
}

Result<std::optional<MultistreamDecoded>> decodeMultistreamMessage(ByteView in) {
  if (in.empty()) return std::optional<MultistreamDecoded>{};
  auto len = varintDecode(in);
  if (!len) {
    // A truncated varint may still complete; anything else is fatal.
    if (len.error().code == Errc::kTruncated && in.size() < kMaxVarintBytes) {
      return std::optional<MultistreamDecoded>{};
    }
    return withContext(len.error(), "multistream: length");
  }
  if (len->value == 0) return fail(Errc::kMalformed, "multistream: zero-length message");
  if (len->value > kMaxMultistreamMessage) {
    return fail(Errc::kLimitExceeded, "multistream: message of " + std::to_string(len->value) +
                                          " bytes (limit " + std::to_string(kMaxMultistreamMessage) + ")");
  }
  if (in.size() - len->length < len->value) return std::optional<MultistreamDecoded>{};
  AE_ASSIGN_OR_RETURN(std::string text,
                      decodeMultistreamBody(in.subspan(len->length, static_cast<std::size_t>(len->value))));
  return std::optional<MultistreamDecoded>{
      MultistreamDecoded{std::move(text), len->length + static_cast<std::size_t>(len->value)}};
}

// ---- Noise handshake payload ------------------------------------------------------------------

Bytes encodeNoiseHandshakePayload(const NoiseHandshakePayload& payload) {
  Bytes out;
  if (!payload.identity_key.empty()) appendBytesField(out, 1, payload.identity_key);
  if (!payload.identity_sig.empty()) appendBytesField(out, 2, payload.identity_sig);
  if (payload.has_extensions || !payload.stream_muxers.empty() ||
      !payload.webtransport_certhashes.empty()) {
    Bytes ext;
    for (const Bytes& h : payload.webtransport_certhashes) appendBytesField(ext, 1, h);
    for (const std::string& m : payload.stream_muxers) appendBytesField(ext, 2, asBytes(m));
    appendBytesField(out, 4, ext);
  }
  return out;
}

namespace {
Status decodeExtensions(ByteView in, NoiseHandshakePayload& out) {
  constexpr std::string_view kWhat = "noise extensions";
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, kWhat));
    if (f.number == 1 || f.number == 2) {
      if (f.wire != kWireBytes) {
        return fail(Errc::kMalformed, "noise extensions: field " + std::to_string(f.number) +
                                          " must be length-delimited");
      }
      if (out.webtransport_certhashes.size() + out.stream_muxers.size() >= kMaxNoiseExtensionEntries) {
        return fail(Errc::kLimitExceeded, "noise extensions: too many entries");
      }
      if (f.number == 1) {
        out.webtransport_certhashes.emplace_back(f.bytes.begin(), f.bytes.end());
      } else {
        if (!validProtocolText(f.bytes)) {
          return fail(Errc::kMalformed, "noise extensions: stream muxer is not a protocol id");
        }
        out.stream_muxers.emplace_back(asChars(f.bytes));
      }
    }
  }
  return {};
}
}  // namespace

Result<NoiseHandshakePayload> decodeNoiseHandshakePayload(ByteView in) {
  constexpr std::string_view kWhat = "noise payload";
  NoiseHandshakePayload out;
  bool seen_key = false, seen_sig = false;
  while (!in.empty()) {
    AE_ASSIGN_OR_RETURN(Field f, readField(in, kWhat));
    if (f.number == 1 || f.number == 2 || f.number == 4) {
      if (f.wire != kWireBytes) {
        return fail(Errc::kMalformed, "noise payload: field " + std::to_string(f.number) +
                                          " must be length-delimited");
      }
    }
    switch (f.number) {
      case 1:
        if (seen_key) return fail(Errc::kMalformed, "noise payload: identity_key repeated");
        seen_key = true;
        out.identity_key.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 2:
        if (seen_sig) return fail(Errc::kMalformed, "noise payload: identity_sig repeated");
        seen_sig = true;
        out.identity_sig.assign(f.bytes.begin(), f.bytes.end());
        break;
      case 4:
        if (out.has_extensions) return fail(Errc::kMalformed, "noise payload: extensions repeated");
        out.has_extensions = true;
        AE_TRY(decodeExtensions(f.bytes, out));
        break;
      default:
        break;  // unknown fields are skipped, as protobuf requires
    }
  }
  return out;
}

}  // namespace aether::net
