// Text helpers: escaping for messages and terminals, sizes and durations.
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "cap/internal.h"

namespace aether::cap {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void appendHexByte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHexDigits[c >> 4];
  out += kHexDigits[c & 15];
}

}  // namespace

std::size_t decodeUtf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b = [&s](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t len;
  std::uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

namespace {

// Characters that change how the rest of a line is shown, or are not shown at all.
bool isUnsafeCodePoint(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x61c ||
         (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

Result<std::uint64_t> parseNumberWithUnit(std::string_view text, std::string_view what,
                                          std::uint64_t (*unitFactor)(std::string_view),
                                          std::string_view hint) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    return fail(Errc::kMalformed, std::string(what) + " \"" + printable(text) +
                                      "\" must be a number with an optional unit " +
                                      std::string(hint));
  }
  std::uint64_t value = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + digits, value);
  if (ec == std::errc::result_out_of_range) {
    return fail(Errc::kOverflow, std::string(what) + " \"" + printable(text) + "\" is too large");
  }
  if (ec != std::errc() || p != text.data() + digits) {
    return fail(Errc::kMalformed, std::string(what) + " \"" + printable(text) + "\" is not a number");
  }
  const std::string_view unit = text.substr(digits);
  const std::uint64_t factor = unitFactor(unit);
  if (factor == 0) {
    return fail(Errc::kMalformed, std::string(what) + " \"" + printable(text) + "\": unknown unit \"" +
                                      printable(unit) + "\" " + std::string(hint));
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / factor) {
    return fail(Errc::kOverflow, std::string(what) + " \"" + printable(text) + "\" is too large");
  }
  return value * factor;
}

std::uint64_t sizeFactor(std::string_view unit) {
  if (unit.empty() || unit == "B") return 1;
  if (unit == "KiB") return std::uint64_t{1} << 10;
  if (unit == "MiB") return std::uint64_t{1} << 20;
  if (unit == "GiB") return std::uint64_t{1} << 30;
  if (unit == "TiB") return std::uint64_t{1} << 40;
  return 0;
}

std::uint64_t durationFactor(std::string_view unit) {
  if (unit.empty() || unit == "s") return 1;
  if (unit == "m") return 60;
  if (unit == "h") return 3600;
  if (unit == "d") return 86400;
  return 0;
}

}  // namespace

std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 96;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      appendHexByte(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

std::string terminalSafe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = decodeUtf8(s, i, cp);
    if (len == 0) {
      appendHexByte(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (isUnsafeCodePoint(cp)) {
      char buf[16];
      const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, cp, 16);
      out += "\\u{";
      out.append(buf, p);
      out += "}";
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

bool isDisplaySafe(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = decodeUtf8(s, i, cp);
    if (len == 0 || isUnsafeCodePoint(cp)) return false;
    i += len;
  }
  return true;
}

std::string formatSize(std::uint64_t bytes) {
  static constexpr std::pair<std::string_view, int> kUnits[] = {
      {"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
  if (bytes != 0) {
    for (const auto& [name, shift] : kUnits) {
      const std::uint64_t unit = std::uint64_t{1} << shift;
      if (bytes % unit == 0) return std::to_string(bytes / unit) + std::string(name);
    }
  }
  return std::to_string(bytes);
}

std::string formatDuration(std::uint64_t seconds) {
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"d", 86400}, {"h", 3600}, {"m", 60}};
  if (seconds != 0) {
    for (const auto& [name, unit] : kUnits) {
      if (seconds % unit == 0) return std::to_string(seconds / unit) + std::string(name);
    }
  }
  return std::to_string(seconds) + "s";
}

Result<std::uint64_t> parseSizeText(std::string_view text) {
  std::string_view unit = text;
  while (!unit.empty() && unit.front() >= '0' && unit.front() <= '9') unit.remove_prefix(1);
  if (unit == "K" || unit == "M" || unit == "G" || unit == "T" || unit == "KB" || unit == "kB" ||
      unit == "MB" || unit == "GB" || unit == "TB" || unit == "k") {
    return fail(Errc::kMalformed, "size \"" + printable(text) +
                                      "\": write binary units KiB, MiB, GiB or TiB (powers of 1024)");
  }
  return parseNumberWithUnit(text, "size", sizeFactor, "(B, KiB, MiB, GiB, TiB)");
}

Result<std::uint64_t> parseDurationText(std::string_view text) {
  return parseNumberWithUnit(text, "duration", durationFactor, "(s, m, h, d)");
}

}  // namespace aether::cap
