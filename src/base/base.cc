#include "base/base.h"

namespace aether {

std::string_view errcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid-argument";
    case Errc::kTruncated: return "truncated";
    case Errc::kMalformed: return "malformed";
    case Errc::kNonCanonical: return "non-canonical";
    case Errc::kOverflow: return "overflow";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kWrongLength: return "wrong-length";
    case Errc::kTrailingData: return "trailing-data";
    case Errc::kLimitExceeded: return "limit-exceeded";
    case Errc::kNotFound: return "not-found";
    case Errc::kAlreadyExists: return "already-exists";
    case Errc::kIo: return "io";
    case Errc::kCrypto: return "crypto";
    case Errc::kBadSignature: return "bad-signature";
    case Errc::kAuthFailed: return "auth-failed";
    case Errc::kPermissionDenied: return "permission-denied";
    case Errc::kIntegrity: return "integrity";
    case Errc::kWasm: return "wasm";
    case Errc::kInternal: return "internal";
  }
  return "unknown";
}

std::string Error::toString() const {
  std::string s(errcName(code));
  s += ": ";
  s += message;
  return s;
}

bool constantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  volatile std::uint8_t acc = 0;
  for (std::size_t i = 0; i < a.size(); ++i) acc = acc | (a[i] ^ b[i]);
  return acc == 0;
}

bool isValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;        // no overlong
      if (c == 0xed) hi = 0x9f;        // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;        // no overlong
      if (c == 0xf4) hi = 0x8f;        // <= U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

std::string hexEncode(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(data.size() * 2);
  for (std::size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Result<Bytes> hexDecode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return fail(Errc::kMalformed, "hex: odd number of digits (" + std::to_string(text.size()) + ")");
  }
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hexValue(text[2 * i]);
    int lo = hexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return fail(Errc::kMalformed, "hex: invalid digit at offset " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

void varintAppend(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

Bytes varintEncode(std::uint64_t value) {
  Bytes out;
  varintAppend(out, value);
  return out;
}

std::size_t varintSize(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

Result<VarintDecoded> varintDecode(ByteView in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i >= kMaxVarintBytes) {
      return fail(Errc::kOverflow, "varint: longer than 9 bytes");
    }
    const std::uint8_t b = in[i];
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) {
        return fail(Errc::kNonCanonical, "varint: not minimally encoded");
      }
      if (value > kMaxVarintValue) {
        return fail(Errc::kOverflow, "varint: value exceeds 2^63-1");
      }
      return VarintDecoded{value, i + 1};
    }
  }
  if (in.size() >= kMaxVarintBytes) {
    return fail(Errc::kOverflow, "varint: longer than 9 bytes");
  }
  return fail(Errc::kTruncated, in.empty() ? "varint: empty input" : "varint: truncated (continuation bit on last byte)");
}

}  // namespace aether
