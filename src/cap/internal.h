// Private helpers shared by the cap/ sources. Not part of the public API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/base.h"

namespace aether::cap {

// Capability::parse's checks of the right alone.
Status validateRight(std::string_view right);

// For error messages: at most 96 bytes of `s` (then "..."), with bytes outside printable ASCII
// and '"' / '\' written as \xNN, so hostile input cannot garble a log or a terminal.
std::string printable(std::string_view s);

// Decodes one UTF-8 sequence at s[i] (REQUIRES: i < s.size()): its length, or 0 when it is not
// valid UTF-8 (overlong, surrogate, above U+10FFFF, truncated).
std::size_t decodeUtf8(std::string_view s, std::size_t i, std::uint32_t& cp);

// For text shown on a terminal: valid UTF-8 passes, except control characters (C0, DEL, C1),
// bidirectional controls and other invisible format characters, which are written as \u{XXXX};
// invalid UTF-8 bytes are written as \xNN.
std::string terminalSafe(std::string_view s);

// True when `s` is valid UTF-8 that terminalSafe would leave unchanged.
bool isDisplaySafe(std::string_view s);

// "64MiB" when exact in KiB / MiB / GiB / TiB, else the number of bytes ("1000").
std::string formatSize(std::uint64_t bytes);
// "24h" when exact in d / h / m, else "<n>s".
std::string formatDuration(std::uint64_t seconds);

// The inverse of formatSize / formatDuration (and plain numbers "123", "123B", "123s").
// kMalformed for anything else (with a hint for "MB"-style units), kOverflow when too large.
Result<std::uint64_t> parseSizeText(std::string_view text);
Result<std::uint64_t> parseDurationText(std::string_view text);

}  // namespace aether::cap
