// Base58btc, base32 (lower, unpadded), base64url (unpadded), and multibase on top of them.
#include <array>
#include <string>

#include "codec/codec.h"
#include "codec/internal.h"

namespace aether::codec {
namespace {

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase64urlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Reverse table: character -> digit value, or -1.
constexpr std::array<std::int8_t, 256> reverseTable(std::string_view alphabet) {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<std::uint8_t>(alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr auto kBase58Rev = reverseTable(kBase58Alphabet);
constexpr auto kBase32Rev = reverseTable(kBase32Alphabet);
constexpr auto kBase64urlRev = reverseTable(kBase64urlAlphabet);

// Base58 big-number work uses limbs of 58^5 (encode) or 2^32 (decode) to keep the quadratic
// conversion cheap.
constexpr std::uint64_t k58Pow5 = 58ull * 58 * 58 * 58 * 58;  // 656356768 < 2^32

std::string describeChar(char c, std::size_t offset) {
  const auto u = static_cast<std::uint8_t>(c);
  std::string s = "invalid character ";
  if (u >= 0x21 && u < 0x7f) {
    s += '\'';
    s += c;
    s += '\'';
  } else {
    s += "0x" + hexEncode(ByteView(&u, 1));
  }
  s += " at offset " + std::to_string(offset);
  return s;
}

}  // namespace

// ---- base58btc ----------------------------------------------------------------------------------

std::string base58btcEncode(ByteView data) {
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;

  std::vector<std::uint32_t> limbs;  // little-endian, base 58^5
  limbs.reserve((data.size() - zeros) * 138 / 500 + 2);
  std::size_t i = zeros;
  while (i < data.size()) {
    std::uint64_t chunk = 0;
    std::uint64_t mult = 1;
    for (int k = 0; k < 4 && i < data.size(); ++k, ++i) {
      chunk = chunk << 8 | data[i];
      mult <<= 8;
    }
    std::uint64_t carry = chunk;
    for (auto& limb : limbs) {
      const std::uint64_t t = static_cast<std::uint64_t>(limb) * mult + carry;
      limb = static_cast<std::uint32_t>(t % k58Pow5);
      carry = t / k58Pow5;
    }
    while (carry != 0) {
      limbs.push_back(static_cast<std::uint32_t>(carry % k58Pow5));
      carry /= k58Pow5;
    }
  }

  std::string out(zeros, '1');
  out.reserve(zeros + limbs.size() * 5);
  for (std::size_t l = limbs.size(); l-- > 0;) {
    char digits[5];
    std::uint32_t v = limbs[l];
    for (int d = 4; d >= 0; --d) {
      digits[d] = kBase58Alphabet[v % 58];
      v /= 58;
    }
    int start = 0;
    if (l == limbs.size() - 1) {
      while (start < 4 && digits[start] == '1') ++start;  // most significant limb: no leading zeros
    }
    out.append(digits + start, digits + 5);
  }
  return out;
}

Result<Bytes> base58btcDecode(std::string_view text) {
  if (text.size() > kMaxBase58Chars) {
    return fail(Errc::kLimitExceeded, "base58btc: input longer than " + std::to_string(kMaxBase58Chars) + " characters");
  }
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;

  std::vector<std::uint32_t> limbs;  // little-endian, base 2^32
  limbs.reserve((text.size() - zeros) * 733 / 3200 + 2);
  std::size_t i = zeros;
  while (i < text.size()) {
    std::uint64_t chunk = 0;
    std::uint64_t mult = 1;
    for (int k = 0; k < 5 && i < text.size(); ++k, ++i) {
      const int d = kBase58Rev[static_cast<std::uint8_t>(text[i])];
      if (d < 0) return fail(Errc::kMalformed, "base58btc: " + describeChar(text[i], i));
      chunk = chunk * 58 + static_cast<std::uint64_t>(d);
      mult *= 58;
    }
    std::uint64_t carry = chunk;
    for (auto& limb : limbs) {
      const std::uint64_t t = static_cast<std::uint64_t>(limb) * mult + carry;
      limb = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    if (carry != 0) limbs.push_back(static_cast<std::uint32_t>(carry));
  }

  Bytes out(zeros, 0);
  out.reserve(zeros + limbs.size() * 4);
  for (std::size_t l = limbs.size(); l-- > 0;) {
    const std::uint32_t v = limbs[l];
    int shift = 24;
    if (l == limbs.size() - 1) {
      while (shift > 0 && ((v >> shift) & 0xff) == 0) shift -= 8;
    }
    for (; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  return out;
}

// ---- base32 ---------------------------------------------------------------------------------------

std::string base32LowerEncode(ByteView data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const std::uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 31]);
    }
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<Bytes> base32LowerDecode(std::string_view text) {
  const std::size_t rem = text.size() % 8;
  if (rem == 1 || rem == 3 || rem == 6) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '=') return fail(Errc::kMalformed, "base32: padding '=' is not allowed");
    }
    return fail(Errc::kMalformed, "base32: impossible length " + std::to_string(text.size()));
  }
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int d = kBase32Rev[static_cast<std::uint8_t>(text[i])];
    if (d < 0) {
      if (text[i] == '=') return fail(Errc::kMalformed, "base32: padding '=' is not allowed");
      return fail(Errc::kMalformed, "base32: " + describeChar(text[i], i));
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(d);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> bits));
      buffer &= (1u << bits) - 1;
    }
  }
  if (buffer != 0) return fail(Errc::kNonCanonical, "base32: non-zero trailing bits");
  return out;
}

// ---- base64url -------------------------------------------------------------------------------------

std::string base64urlEncode(ByteView data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
    out.push_back(kBase64urlAlphabet[v >> 18]);
    out.push_back(kBase64urlAlphabet[(v >> 12) & 63]);
    out.push_back(kBase64urlAlphabet[(v >> 6) & 63]);
    out.push_back(kBase64urlAlphabet[v & 63]);
  }
  if (data.size() - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kBase64urlAlphabet[v >> 18]);
    out.push_back(kBase64urlAlphabet[(v >> 12) & 63]);
  } else if (data.size() - i == 2) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8;
    out.push_back(kBase64urlAlphabet[v >> 18]);
    out.push_back(kBase64urlAlphabet[(v >> 12) & 63]);
    out.push_back(kBase64urlAlphabet[(v >> 6) & 63]);
  }
  return out;
}

Result<Bytes> base64urlDecode(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int d = kBase64urlRev[static_cast<std::uint8_t>(text[i])];
    if (d < 0) {
      const char c = text[i];
      if (c == '=') return fail(Errc::kMalformed, "base64url: padding '=' is not allowed");
      if (c == '+' || c == '/') {
        return fail(Errc::kMalformed, std::string("base64url: '") + c + "' belongs to standard base64, not base64url");
      }
      return fail(Errc::kMalformed, "base64url: " + describeChar(c, i));
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> bits));
      buffer &= (1u << bits) - 1;
    }
  }
  if (text.size() % 4 == 1) return fail(Errc::kMalformed, "base64url: impossible length " + std::to_string(text.size()));
  if (buffer != 0) return fail(Errc::kNonCanonical, "base64url: non-zero trailing bits");
  return out;
}

// ---- multibase -------------------------------------------------------------------------------------

std::string multibaseEncode(Multibase base, ByteView data) {
  std::string out(1, static_cast<char>(base));
  switch (base) {
    case Multibase::kBase58btc: out += base58btcEncode(data); break;
    case Multibase::kBase32: out += base32LowerEncode(data); break;
    case Multibase::kBase64url: out += base64urlEncode(data); break;
    case Multibase::kBase16: out += hexEncode(data); break;
  }
  return out;
}

Result<MultibaseDecoded> multibaseDecodeWithBase(std::string_view text) {
  if (text.empty()) return fail(Errc::kMalformed, "multibase: empty string");
  const std::string_view body = text.substr(1);
  Result<Bytes> data;
  Multibase base;
  switch (text[0]) {
    case 'z':
      base = Multibase::kBase58btc;
      data = base58btcDecode(body);
      break;
    case 'b':
      base = Multibase::kBase32;
      data = base32LowerDecode(body);
      break;
    case 'u':
      base = Multibase::kBase64url;
      data = base64urlDecode(body);
      break;
    case 'f':
      base = Multibase::kBase16;
      for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] >= 'A' && body[i] <= 'F') {
          return fail(Errc::kMalformed, "multibase: base16 'f' must be lower case (offset " + std::to_string(i + 1) + ")");
        }
      }
      data = hexDecode(body);
      break;
    default: {
      const auto u = static_cast<std::uint8_t>(text[0]);
      return fail(Errc::kUnsupported, "multibase: unsupported prefix 0x" + hexEncode(ByteView(&u, 1)));
    }
  }
  if (!data) return withContext(std::move(data).error(), "multibase");
  return MultibaseDecoded{base, std::move(*data)};
}

Result<Bytes> multibaseDecode(std::string_view text) {
  AE_ASSIGN_OR_RETURN(auto decoded, multibaseDecodeWithBase(text));
  return std::move(decoded.data);
}

}  // namespace aether::codec
