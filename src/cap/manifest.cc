// aether.toml manifests and policy files: TOML in (through toml++), validated values out, and the
// canonical TOML back. Formats: docs/formats/manifest.md, docs/capabilities.md#policy-files.
//
// toml++ is used header-only, in its no-exceptions mode, in this file only: Debian's shared
// libtomlplusplus is built with exceptions against libstdc++, which neither our no-exceptions
// rule nor the libc++ fuzz build can use.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cap/cap.h"
#include "cap/internal.h"

namespace aether::cap {
namespace {

using nlohmann::json;

// ---- locations ----

std::string locationPrefix(const toml::source_position& pos) {
  const std::uint32_t line = pos.line ? pos.line : 1;
  const std::uint32_t column = pos.column ? pos.column : 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
}

std::unexpected<Error> failAt(Errc code, const toml::source_region& where, std::string message) {
  return fail(code, locationPrefix(where.begin) + message);
}

std::unexpected<Error> atLocation(Error e, const toml::source_region& where) {
  e.message = locationPrefix(where.begin) + e.message;
  return std::unexpected<Error>(std::move(e));
}

// Keeps the error that comes first in the text, so a file with several problems always reports
// the same (earliest) one whatever order the checks run in.
class FirstError {
 public:
  void add(const Status& s) {
    if (s) return;
    const SourceLocation loc = errorLocation(s.error()).value_or(SourceLocation{~0u, ~0u});
    if (!error_ || loc.line < loc_.line || (loc.line == loc_.line && loc.column < loc_.column)) {
      error_ = s.error();
      loc_ = loc;
    }
  }
  bool ok() const { return !error_.has_value(); }
  Status status() const {
    if (error_) return std::unexpected<Error>(*error_);
    return {};
  }

 private:
  std::optional<Error> error_;
  SourceLocation loc_;
};

std::string_view typeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string quoted(std::string_view key) { return "\"" + printable(key) + "\""; }

// toml++ 3.3.0 reaches __builtin_unreachable (undefined behaviour) when it asks whether certain
// non-ASCII characters are whitespace, which it does for stray non-ASCII outside strings, after a
// backslash, after a line-ending backslash and in several error paths (upstream issues
// marzer/tomlplusplus#190 and #295, fixed after 3.3.0). So toml++ only ever sees ASCII: this
// rewrites every non-ASCII character inside a string as a \u / \U escape (literal strings become
// basic strings holding the same text), replaces it with '?' inside a comment, and refuses it
// anywhere else (where TOML does not allow it either) and right after a backslash (never a valid
// escape). Columns in toml++'s errors are mapped back to the original text.
// TODO(security): parse the text as is once the toml++ we build against has the fix (PR #305).
class AsciiToml {
 public:
  static Result<AsciiToml> from(std::string_view in) {
    AsciiToml r;
    r.columns_.emplace_back();
    std::uint32_t line = 1, col = 1;  // position of in[i] in the original text
    std::size_t i = 0;
    const std::size_t n = in.size();
    const auto emit = [&r](std::string_view s, std::uint32_t origCol) {
      for (char ch : s) {
        r.text_ += ch;
        if (ch == '\n') {
          r.columns_.emplace_back();
        } else {
          r.columns_.back().push_back(origCol);
        }
      }
    };
    const auto copy = [&]() {
      const char ch = in[i];
      emit(std::string_view(&ch, 1), col);
      ++i;
      if (ch == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    };
    const auto skip = [&](std::string_view replacement) {  // one ASCII byte of the input
      emit(replacement, col);
      ++i;
      ++col;
    };
    const auto refuse = [&](std::string_view why) {
      return fail(Errc::kMalformed, "line " + std::to_string(line) + ", column " +
                                        std::to_string(col) + ": TOML: " + std::string(why));
    };
    const auto nonAscii = [&in, &i, n]() {
      return i < n && static_cast<unsigned char>(in[i]) >= 0x80;
    };
    enum class Ctx { kOutside, kComment, kString };
    // One non-ASCII code point at in[i].
    const auto take = [&](Ctx ctx) -> Status {
      std::uint32_t cp = 0;
      const std::size_t len = decodeUtf8(in, i, cp);
      if (len == 0) return refuse("invalid UTF-8");
      if (ctx == Ctx::kOutside) return refuse("non-ASCII character outside a string or comment");
      if (ctx == Ctx::kComment) {
        emit("?", col);
      } else {
        char buf[16];
        std::snprintf(buf, sizeof buf, cp <= 0xffff ? "\\u%04X" : "\\U%08X", static_cast<unsigned>(cp));
        emit(buf, col);
      }
      i += len;
      ++col;
      return {};
    };
    const auto at = [&in](std::size_t k, std::string_view s) { return in.substr(k).starts_with(s); };
    const auto quoteRun = [&in, n](std::size_t k, char q) {
      std::size_t e = k;
      while (e < n && in[e] == q) ++e;
      return e - k;
    };
    // A backslash in a basic string: copy it and the escaped character.
    const auto escape = [&]() -> Status {
      copy();
      if (nonAscii()) return refuse("a backslash must be followed by an ASCII escape");
      if (i < n) copy();
      return {};
    };

    while (i < n) {
      const char c = in[i];
      if (nonAscii()) {
        AE_TRY(take(Ctx::kOutside));
      } else if (c == '#') {
        while (i < n && in[i] != '\n') {
          if (nonAscii()) {
            AE_TRY(take(Ctx::kComment));
          } else {
            copy();
          }
        }
      } else if (at(i, "\"\"\"")) {
        for (int k = 0; k < 3; ++k) copy();
        while (i < n) {
          if (at(i, "\"\"\"")) {
            for (std::size_t k = quoteRun(i, '"'); k > 0; --k) copy();
            break;
          }
          if (in[i] == '\\') {
            AE_TRY(escape());
          } else if (nonAscii()) {
            AE_TRY(take(Ctx::kString));
          } else {
            copy();
          }
        }
      } else if (at(i, "'''")) {
        for (int k = 0; k < 3; ++k) skip("\"");
        while (i < n) {
          if (at(i, "'''")) {
            const std::size_t run = quoteRun(i, '\'');
            if (run > 5) return refuse("more than two quotes at the end of a multi-line literal string");
            for (std::size_t k = 3; k < run; ++k) skip("'");
            for (int k = 0; k < 3; ++k) skip("\"");
            break;
          }
          if (in[i] == '\\') {
            skip("\\\\");
          } else if (in[i] == '"') {
            skip("\\\"");
          } else if (nonAscii()) {
            AE_TRY(take(Ctx::kString));
          } else {
            copy();
          }
        }
      } else if (c == '"') {
        copy();
        while (i < n && in[i] != '"' && in[i] != '\n') {
          if (in[i] == '\\') {
            AE_TRY(escape());
          } else if (nonAscii()) {
            AE_TRY(take(Ctx::kString));
          } else {
            copy();
          }
        }
        if (i < n && in[i] == '"') copy();
      } else if (c == '\'') {
        skip("\"");
        while (i < n && in[i] != '\'' && in[i] != '\n') {
          if (in[i] == '\\') {
            skip("\\\\");
          } else if (in[i] == '"') {
            skip("\\\"");
          } else if (nonAscii()) {
            AE_TRY(take(Ctx::kString));
          } else {
            copy();
          }
        }
        if (i < n && in[i] == '\'') skip("\"");
      } else {
        copy();
      }
    }
    return r;
  }

  const std::string& text() const { return text_; }

  // Maps the "line L, column C: " prefix of an error about text() back to the original text.
  Error remap(Error e) const {
    const std::optional<SourceLocation> loc = errorLocation(e);
    if (!loc || loc->line == 0 || loc->line > columns_.size() || loc->column == 0) return e;
    const std::vector<std::uint32_t>& map = columns_[loc->line - 1];
    std::uint32_t column;
    if (loc->column <= map.size()) {
      column = map[loc->column - 1];
    } else {
      column = (map.empty() ? 0 : map.back()) + (loc->column - static_cast<std::uint32_t>(map.size()));
    }
    const std::size_t prefixEnd = e.message.find(": ");
    e.message = "line " + std::to_string(loc->line) + ", column " + std::to_string(column) +
                e.message.substr(prefixEnd);
    return e;
  }

 private:
  std::string text_;
  std::vector<std::vector<std::uint32_t>> columns_;  // [line - 1][column - 1] -> original column
};

Result<toml::table> parseTomlText(std::string_view asciiText) {
  toml::parse_result parsed = toml::parse(asciiText);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return fail(Errc::kMalformed, locationPrefix(e.source().begin) + "TOML: " +
                                      terminalSafe(e.description()));
  }
  return std::move(parsed).table();
}

Status checkSize(std::string_view text, std::size_t maxBytes, std::string_view what) {
  if (text.size() > maxBytes) {
    return fail(Errc::kLimitExceeded, "line 1, column 1: " + std::string(what) +
                                          " is larger than " + std::to_string(maxBytes) + " bytes");
  }
  return {};
}

Result<std::string_view> stringValue(const toml::node& node, std::string_view key) {
  if (const auto* s = node.as_string()) return std::string_view(s->get());
  return failAt(Errc::kMalformed, node.source(),
                quoted(key) + " must be a string, not " + std::string(typeName(node.type())));
}

Status unknownKey(const toml::key& key, std::string_view where) {
  return failAt(Errc::kMalformed, key.source(),
                "unknown key " + quoted(key.str()) + std::string(where));
}

// ---- field grammars ----

Status checkName(std::string_view name) {
  const auto ok = [&name] {
    if (name.empty() || name.size() > 64) return false;
    if (!(name.front() >= 'a' && name.front() <= 'z') || name.back() == '-') return false;
    if (name.find("--") != std::string_view::npos) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
  };
  if (!ok()) {
    return fail(Errc::kMalformed, "name " + quoted(name) +
                                      " must be 1-64 of [a-z0-9-], start with a letter, not end "
                                      "with '-' nor hold \"--\"");
  }
  return {};
}

Status checkEntry(std::string_view entry) {
  const auto bad = [&entry](std::string why) {
    return fail(Errc::kMalformed, "entry " + quoted(entry) + ": " + why);
  };
  if (entry.empty() || entry.size() > 256) return bad("must be 1-256 characters");
  if (entry.front() == '/') return bad("must be relative to the package root");
  if (!entry.ends_with(".wasm") || entry.size() == 5) return bad("must name a .wasm module");
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = entry.find('/', start);
    const std::string_view seg = entry.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return bad("empty, \".\" or \"..\" path segment");
    for (char c : seg) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-')) {
        return bad("path segments hold only [A-Za-z0-9._-]");
      }
    }
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
}

// SPDX license expression (SPDX 2.3 annex D): ids and LicenseRef-/DocumentRef- references,
// "+" suffixes, AND / OR / WITH (upper case) and parentheses. The ids are checked for syntax, not
// against the SPDX list.
class SpdxParser {
 public:
  explicit SpdxParser(std::string_view text) : text_(text) {
    std::size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (c == ' ') {
        ++i;
      } else if (c == '(' || c == ')') {
        tokens_.push_back(text.substr(i, 1));
        ++i;
      } else {
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != '(' && text[j] != ')') ++j;
        tokens_.push_back(text.substr(i, j - i));
        i = j;
      }
    }
  }

  Status parse() {
    if (text_.empty() || text_.size() > 512) return bad("must be 1-512 characters");
    AE_TRY(expression(0));
    if (pos_ != tokens_.size()) return bad("unexpected \"" + printable(tokens_[pos_]) + "\"");
    return {};
  }

 private:
  Status bad(std::string why) const {
    return fail(Errc::kMalformed, "license " + quoted(text_) + " is not an SPDX expression: " + why);
  }
  bool at(std::string_view t) const { return pos_ < tokens_.size() && tokens_[pos_] == t; }

  static bool isIdString(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.';
    });
  }
  static bool isLicenseRef(std::string_view s) {
    if (s.starts_with("DocumentRef-")) {
      const std::size_t colon = s.find(':');
      if (colon == std::string_view::npos || !isIdString(s.substr(12, colon - 12))) return false;
      s = s.substr(colon + 1);
    }
    return s.starts_with("LicenseRef-") && isIdString(s.substr(11));
  }
  static bool isOperator(std::string_view s) { return s == "AND" || s == "OR" || s == "WITH"; }

  Status expression(int depth) {
    if (depth > 16) return bad("nested too deeply");
    AE_TRY(term(depth));
    while (at("OR")) {
      ++pos_;
      AE_TRY(term(depth));
    }
    return {};
  }
  Status term(int depth) {
    AE_TRY(factor(depth));
    while (at("AND")) {
      ++pos_;
      AE_TRY(factor(depth));
    }
    return {};
  }
  Status factor(int depth) {
    if (pos_ >= tokens_.size()) return bad("ends early");
    if (at("(")) {
      ++pos_;
      AE_TRY(expression(depth + 1));
      if (!at(")")) return bad("missing ')'");
      ++pos_;
      return {};
    }
    std::string_view id = tokens_[pos_];
    if (isOperator(id) || id == ")") return bad("expected a license id, got \"" + std::string(id) + "\"");
    if (!isLicenseRef(id)) {
      if (id.ends_with('+')) id.remove_suffix(1);
      if (!isIdString(id)) return bad("bad license id \"" + printable(tokens_[pos_]) + "\"");
    }
    ++pos_;
    if (at("WITH")) {
      ++pos_;
      if (pos_ >= tokens_.size() || !isIdString(tokens_[pos_]) || isOperator(tokens_[pos_])) {
        return bad("WITH needs an exception id");
      }
      ++pos_;
    }
    return {};
  }

  std::string_view text_;
  std::vector<std::string_view> tokens_;
  std::size_t pos_ = 0;
};

// ---- limits ----

struct LimitLocations {
  std::optional<toml::source_region> memory, fuel, fsQuota, capTtl;
};

Result<std::uint64_t> sizeValue(const toml::node& node, std::string_view key) {
  if (const auto* i = node.as_integer()) {
    if (i->get() < 0) return failAt(Errc::kMalformed, node.source(), quoted(key) + " must not be negative");
    return static_cast<std::uint64_t>(i->get());
  }
  if (const auto* s = node.as_string()) {
    auto v = parseSizeText(s->get());
    if (!v) return atLocation(std::move(v).error(), node.source());
    return *v;
  }
  return failAt(Errc::kMalformed, node.source(),
                quoted(key) + " must be a size (bytes, or a string like \"64MiB\"), not " +
                    std::string(typeName(node.type())));
}

Result<std::uint64_t> durationValue(const toml::node& node, std::string_view key) {
  if (const auto* i = node.as_integer()) {
    if (i->get() < 0) return failAt(Errc::kMalformed, node.source(), quoted(key) + " must not be negative");
    return static_cast<std::uint64_t>(i->get());
  }
  if (const auto* s = node.as_string()) {
    auto v = parseDurationText(s->get());
    if (!v) return atLocation(std::move(v).error(), node.source());
    return *v;
  }
  return failAt(Errc::kMalformed, node.source(),
                quoted(key) + " must be a duration (seconds, or a string like \"24h\"), not " +
                    std::string(typeName(node.type())));
}

Status checkRange(const toml::node& node, std::string_view key, std::uint64_t v, std::uint64_t min,
                  std::uint64_t max, std::string (*format)(std::uint64_t)) {
  if (v < min) {
    return failAt(Errc::kMalformed, node.source(),
                  quoted(key) + " must be at least " + format(min));
  }
  if (v > max) {
    return failAt(Errc::kOverflow, node.source(), quoted(key) + " must be at most " + format(max));
  }
  return {};
}

std::string formatCount(std::uint64_t v) { return std::to_string(v); }

Status parseLimits(const toml::node& node, std::string_view tableKey, Limits& out,
                   LimitLocations* where) {
  const toml::table* table = node.as_table();
  if (!table) {
    return failAt(Errc::kMalformed, node.source(),
                  "[" + std::string(tableKey) + "] must be a table, not " +
                      std::string(typeName(node.type())));
  }
  FirstError errors;
  for (auto&& [key, value] : *table) {
    const std::string_view k = key.str();
    Status s;
    if (k == "memory") {
      auto v = sizeValue(value, k);
      if (!v) {
        s = std::unexpected(v.error());
      } else if (s = checkRange(value, k, *v, 64 * 1024, kMaxLimits.memory, formatSize); s) {
        if (*v % (64 * 1024) != 0) {
          s = failAt(Errc::kMalformed, value.source(),
                     "\"memory\" must be a multiple of 64KiB (the Wasm page size)");
        } else {
          out.memory = *v;
          if (where) where->memory = value.source();
        }
      }
    } else if (k == "fuel") {
      if (const auto* i = value.as_integer()) {
        if (i->get() < 0) {
          s = failAt(Errc::kMalformed, value.source(), "\"fuel\" must not be negative");
        } else if (s = checkRange(value, k, static_cast<std::uint64_t>(i->get()), 1, kMaxLimits.fuel,
                                  formatCount);
                   s) {
          out.fuel = static_cast<std::uint64_t>(i->get());
          if (where) where->fuel = value.source();
        }
      } else {
        s = failAt(Errc::kMalformed, value.source(),
                   "\"fuel\" must be an integer, not " + std::string(typeName(value.type())));
      }
    } else if (k == "fs_quota") {
      auto v = sizeValue(value, k);
      if (!v) {
        s = std::unexpected(v.error());
      } else if (s = checkRange(value, k, *v, 0, kMaxLimits.fsQuota, formatSize); s) {
        out.fsQuota = *v;
        if (where) where->fsQuota = value.source();
      }
    } else if (k == "cap_ttl") {
      auto v = durationValue(value, k);
      if (!v) {
        s = std::unexpected(v.error());
      } else if (s = checkRange(value, k, *v, 1, kMaxLimits.capTtl, formatDuration); s) {
        out.capTtl = *v;
        if (where) where->capTtl = value.source();
      }
    } else {
      s = unknownKey(key, " in [" + std::string(tableKey) + "] (memory, fuel, fs_quota, cap_ttl)");
    }
    errors.add(s);
  }
  return errors.status();
}

// ---- capability tables ----

struct RuleEntry {
  Capability capability;
  std::string reason;
};

Result<std::vector<RuleEntry>> parseRuleArray(const toml::node& node, std::string_view arrayKey,
                                              std::size_t maxEntries, bool rejectDuplicates) {
  const toml::array* array = node.as_array();
  if (!array) {
    return failAt(Errc::kMalformed, node.source(),
                  quoted(arrayKey) + " must be an array of tables ([[" + std::string(arrayKey) +
                      "]]), not " + std::string(typeName(node.type())));
  }
  if (array->size() > maxEntries) {
    return failAt(Errc::kLimitExceeded, node.source(),
                  "more than " + std::to_string(maxEntries) + " " + quoted(arrayKey) + " entries");
  }
  FirstError errors;
  std::vector<RuleEntry> out;
  std::set<Capability> seen;
  for (const toml::node& element : *array) {
    const toml::table* table = element.as_table();
    if (!table) {
      errors.add(failAt(Errc::kMalformed, element.source(),
                        "each " + quoted(arrayKey) + " entry must be a table with right and resource"));
      continue;
    }
    std::optional<std::string_view> right, resource;
    const toml::node* resourceNode = nullptr;
    const toml::node* rightNode = nullptr;
    std::string reason;
    FirstError entryErrors;
    for (auto&& [key, value] : *table) {
      const std::string_view k = key.str();
      if (k == "right" || k == "resource" || k == "reason") {
        auto s = stringValue(value, k);
        if (!s) {
          entryErrors.add(std::unexpected(s.error()));
          continue;
        }
        if (k == "right") {
          right = *s;
          rightNode = &value;
        } else if (k == "resource") {
          resource = *s;
          resourceNode = &value;
        } else if (s->size() > kMaxReasonLength) {
          entryErrors.add(failAt(Errc::kLimitExceeded, value.source(),
                                 "\"reason\" is longer than " + std::to_string(kMaxReasonLength) + " bytes"));
        } else if (!isDisplaySafe(*s)) {
          entryErrors.add(failAt(Errc::kMalformed, value.source(),
                                 "\"reason\" holds control or bidirectional-override characters"));
        } else {
          reason = std::string(*s);
        }
      } else {
        entryErrors.add(unknownKey(key, " in " + std::string(arrayKey) + " entry (right, resource, reason)"));
      }
    }
    if (entryErrors.ok()) {
      if (!right) {
        entryErrors.add(failAt(Errc::kMalformed, table->source(), quoted(arrayKey) + " entry has no \"right\""));
      } else if (!resource) {
        entryErrors.add(failAt(Errc::kMalformed, table->source(), quoted(arrayKey) + " entry has no \"resource\""));
      } else {
        auto cap = Capability::parse(*right, *resource);
        if (!cap) {
          // Blame the right when it is the bad part, else the resource.
          const bool rightBad = !validateRight(*right).has_value();
          entryErrors.add(atLocation(std::move(cap).error(),
                                     (rightBad ? rightNode : resourceNode)->source()));
        } else if (rejectDuplicates && !seen.insert(*cap).second) {
          entryErrors.add(failAt(Errc::kAlreadyExists, table->source(),
                                 "capability \"" + cap->toString() + "\" is listed twice"));
        } else {
          out.push_back(RuleEntry{std::move(*cap), std::move(reason)});
        }
      }
    }
    errors.add(entryErrors.status());
  }
  AE_TRY(errors.status());
  return out;
}

// ---- [pricing] as JSON ----

Result<json> tomlToJson(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return json(node.as_string()->get());
    case toml::node_type::integer: return json(node.as_integer()->get());
    case toml::node_type::boolean: return json(node.as_boolean()->get());
    case toml::node_type::floating_point: {
      const double d = node.as_floating_point()->get();
      if (!std::isfinite(d)) {
        return failAt(Errc::kMalformed, node.source(), "[pricing] values must be finite numbers");
      }
      return json(d);
    }
    case toml::node_type::array: {
      json out = json::array();
      for (const toml::node& e : *node.as_array()) {
        AE_ASSIGN_OR_RETURN(json v, tomlToJson(e));
        out.push_back(std::move(v));
      }
      return out;
    }
    case toml::node_type::table: {
      json out = json::object();
      for (auto&& [key, value] : *node.as_table()) {
        AE_ASSIGN_OR_RETURN(json v, tomlToJson(value));
        out[std::string(key.str())] = std::move(v);
      }
      return out;
    }
    default:
      return failAt(Errc::kUnsupported, node.source(),
                    "[pricing] cannot hold " + std::string(typeName(node.type())) +
                        " (use a string)");
  }
}

// ---- TOML output ----

void appendTomlString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void appendTomlKey(std::string& out, std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
  if (bare) {
    out += key;
  } else {
    appendTomlString(out, key);
  }
}

void appendTomlValue(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::string: appendTomlString(out, v.get_ref<const std::string&>()); break;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); break;
    case json::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); break;
    case json::value_t::number_float: {
      const double d = v.get<double>();
      char buf[64];
      const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
      std::string s(buf, p);
      if (s.find_first_of(".en") == std::string::npos) s += ".0";  // keep it a TOML float
      out += s;
      break;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& e : v) {
        if (!first) out += ", ";
        first = false;
        appendTomlValue(out, e);
      }
      out += ']';
      break;
    }
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out += first ? " " : ", ";
        first = false;
        appendTomlKey(out, it.key());
        out += " = ";
        appendTomlValue(out, it.value());
      }
      out += first ? "}" : " }";
      break;
    }
    default:
      out += "\"\"";  // null / binary cannot come from TOML; see toToml's contract
      break;
  }
}

void appendSize(std::string& out, std::string_view key, std::uint64_t v) {
  const std::string text = formatSize(v);
  out += std::string(key) + " = ";
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    out += text;
  } else {
    appendTomlString(out, text);
  }
  out += '\n';
}

void appendLimits(std::string& out, std::string_view table, const Limits& limits) {
  if (limits == Limits{}) return;
  out += "\n[" + std::string(table) + "]\n";
  if (limits.memory) appendSize(out, "memory", *limits.memory);
  if (limits.fuel) out += "fuel = " + std::to_string(*limits.fuel) + "\n";
  if (limits.fsQuota) appendSize(out, "fs_quota", *limits.fsQuota);
  if (limits.capTtl) {
    out += "cap_ttl = ";
    appendTomlString(out, formatDuration(*limits.capTtl));
    out += '\n';
  }
}

void appendRule(std::string& out, std::string_view arrayKey, const Capability& cap,
                std::string_view reason) {
  out += "\n[[" + std::string(arrayKey) + "]]\nright = ";
  appendTomlString(out, cap.right());
  out += "\nresource = ";
  appendTomlString(out, cap.resource());
  out += '\n';
  if (!reason.empty()) {
    out += "reason = ";
    appendTomlString(out, reason);
    out += '\n';
  }
}

}  // namespace

// ---- public ----

std::optional<SourceLocation> errorLocation(const Error& error) {
  std::string_view m = error.message;
  const auto number = [&m](std::uint32_t& out) {
    const auto [p, ec] = std::from_chars(m.data(), m.data() + m.size(), out);
    if (ec != std::errc() || p == m.data()) return false;
    m.remove_prefix(static_cast<std::size_t>(p - m.data()));
    return true;
  };
  SourceLocation loc;
  if (!m.starts_with("line ")) return std::nullopt;
  m.remove_prefix(5);
  if (!number(loc.line) || !m.starts_with(", column ")) return std::nullopt;
  m.remove_prefix(9);
  if (!number(loc.column) || !m.starts_with(": ")) return std::nullopt;
  return loc;
}

Result<SemVer> SemVer::parse(std::string_view text) {
  const auto bad = [&text](std::string why) {
    return fail(Errc::kMalformed, "version " + quoted(text) + " is not semver (MAJOR.MINOR.PATCH): " + why);
  };
  if (text.empty() || text.size() > 256) return bad("must be 1-256 characters");
  SemVer v;
  std::string_view rest = text;
  if (const std::size_t plus = rest.find('+'); plus != std::string_view::npos) {
    v.build = std::string(rest.substr(plus + 1));
    rest = rest.substr(0, plus);
  }
  if (const std::size_t dash = rest.find('-'); dash != std::string_view::npos) {
    v.prerelease = std::string(rest.substr(dash + 1));
    rest = rest.substr(0, dash);
    if (v.prerelease.empty()) return bad("empty pre-release");
  }
  if (text.find('+') != std::string_view::npos && v.build.empty()) return bad("empty build metadata");
  const auto identifiers = [](std::string_view s, bool numericNoLeadingZero) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t dot = s.find('.', start);
      const std::string_view id = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (id.empty()) return false;
      bool numeric = true;
      for (char c : id) {
        const bool digit = c >= '0' && c <= '9';
        if (!(digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) return false;
        numeric = numeric && digit;
      }
      if (numericNoLeadingZero && numeric && id.size() > 1 && id[0] == '0') return false;
      if (dot == std::string_view::npos) return true;
      start = dot + 1;
    }
  };
  if (!v.prerelease.empty() && !identifiers(v.prerelease, true)) return bad("bad pre-release");
  if (!v.build.empty() && !identifiers(v.build, false)) return bad("bad build metadata");
  std::uint64_t* parts[] = {&v.major, &v.minor, &v.patch};
  for (int i = 0; i < 3; ++i) {
    const std::size_t dot = rest.find('.');
    const std::string_view num = i < 2 ? rest.substr(0, dot) : rest;
    if ((i < 2 && dot == std::string_view::npos) || num.empty() ||
        !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("three dot-separated numbers");
    }
    if (num.size() > 1 && num[0] == '0') return bad("leading zero");
    const auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), *parts[i]);
    if (ec != std::errc()) return bad("number too large");
    rest = i < 2 ? rest.substr(dot + 1) : std::string_view();
  }
  return v;
}

std::string SemVer::toString() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) s += "-" + prerelease;
  if (!build.empty()) s += "+" + build;
  return s;
}

namespace {

Result<Manifest> parseManifestAscii(std::string_view asciiText) {
  AE_ASSIGN_OR_RETURN(toml::table root, parseTomlText(asciiText));
  Manifest m;
  FirstError errors;
  bool haveName = false, haveVersion = false, haveEntry = false;
  for (auto&& [key, value] : root) {
    const std::string_view k = key.str();
    if (k == "name" || k == "version" || k == "entry" || k == "license") {
      auto s = stringValue(value, k);
      if (!s) {
        errors.add(std::unexpected(s.error()));
        continue;
      }
      Status st;
      if (k == "name") {
        st = checkName(*s);
        if (st) m.name = std::string(*s), haveName = true;
      } else if (k == "version") {
        auto v = SemVer::parse(*s);
        if (v) {
          m.version = std::move(*v);
          haveVersion = true;
        } else {
          st = std::unexpected(v.error());
        }
      } else if (k == "entry") {
        st = checkEntry(*s);
        if (st) m.entry = std::string(*s), haveEntry = true;
      } else {
        st = SpdxParser(*s).parse();
        if (st) m.license = std::string(*s);
      }
      if (!st) errors.add(atLocation(std::move(st).error(), value.source()));
    } else if (k == "capabilities") {
      auto rules = parseRuleArray(value, k, kMaxManifestCapabilities, /*rejectDuplicates=*/true);
      if (!rules) {
        errors.add(std::unexpected(rules.error()));
        continue;
      }
      for (RuleEntry& r : *rules) {
        m.capabilities.push_back(ManifestCapability{std::move(r.capability), std::move(r.reason)});
      }
    } else if (k == "limits") {
      errors.add(parseLimits(value, k, m.limits, nullptr));
    } else if (k == "pricing") {
      if (!value.is_table()) {
        errors.add(failAt(Errc::kMalformed, value.source(),
                          "[pricing] must be a table, not " + std::string(typeName(value.type()))));
        continue;
      }
      auto pricing = tomlToJson(value);
      if (!pricing) {
        errors.add(std::unexpected(pricing.error()));
      } else {
        m.pricing = std::move(*pricing);
      }
    } else {
      errors.add(unknownKey(key, " (name, version, entry, license, capabilities, limits, pricing)"));
    }
  }
  AE_TRY(errors.status());
  const toml::source_region top{{1, 1}, {1, 1}, nullptr};
  if (!haveName) return failAt(Errc::kMalformed, top, "missing required key \"name\"");
  if (!haveVersion) return failAt(Errc::kMalformed, top, "missing required key \"version\"");
  if (!haveEntry) return failAt(Errc::kMalformed, top, "missing required key \"entry\"");
  return m;
}

// Size check, then `parse` on the ASCII-only copy of the text (see AsciiToml), with error
// positions mapped back to the caller's text. Shared by manifests and policies.
template <class T>
Result<T> parseTomlDocument(std::string_view tomlText, std::size_t maxBytes, std::string_view what,
                            Result<T> (*parse)(std::string_view)) {
  AE_TRY(checkSize(tomlText, maxBytes, what));
  AE_ASSIGN_OR_RETURN(AsciiToml ascii, AsciiToml::from(tomlText));
  Result<T> parsed = parse(ascii.text());
  if (!parsed) return std::unexpected(ascii.remap(std::move(parsed).error()));
  return parsed;
}

}  // namespace

Result<Manifest> parseManifest(std::string_view tomlText) {
  return parseTomlDocument<Manifest>(tomlText, kMaxManifestBytes, "manifest", parseManifestAscii);
}

std::string toToml(const Manifest& manifest) {
  std::string out = "name = ";
  appendTomlString(out, manifest.name);
  out += "\nversion = ";
  appendTomlString(out, manifest.version.toString());
  out += "\nentry = ";
  appendTomlString(out, manifest.entry);
  out += '\n';
  if (!manifest.license.empty()) {
    out += "license = ";
    appendTomlString(out, manifest.license);
    out += '\n';
  }
  appendLimits(out, "limits", manifest.limits);
  for (const ManifestCapability& c : manifest.capabilities) {
    appendRule(out, "capabilities", c.capability, c.reason);
  }
  if (manifest.pricing.is_object()) {
    out += "\n[pricing]\n";
    for (auto it = manifest.pricing.begin(); it != manifest.pricing.end(); ++it) {
      appendTomlKey(out, it.key());
      out += " = ";
      appendTomlValue(out, it.value());
      out += '\n';
    }
  }
  return out;
}

namespace {

Result<Policy> parsePolicyAscii(std::string_view asciiText) {
  AE_ASSIGN_OR_RETURN(toml::table root, parseTomlText(asciiText));
  Policy p;
  FirstError errors;
  LimitLocations defaultsAt;
  for (auto&& [key, value] : root) {
    const std::string_view k = key.str();
    if (k == "allow" || k == "deny") {
      auto rules = parseRuleArray(value, k, kMaxPolicyRules, /*rejectDuplicates=*/false);
      if (!rules) {
        errors.add(std::unexpected(rules.error()));
        continue;
      }
      auto& dst = k == "allow" ? p.allow : p.deny;
      for (RuleEntry& r : *rules) dst.push_back(PolicyRule{std::move(r.capability), std::move(r.reason)});
    } else if (k == "limits") {
      errors.add(parseLimits(value, k, p.ceilings, nullptr));
    } else if (k == "defaults") {
      errors.add(parseLimits(value, k, p.defaults, &defaultsAt));
    } else {
      errors.add(unknownKey(key, " (allow, deny, limits, defaults)"));
    }
  }
  // A default must fit under its ceiling.
  const auto check = [&errors](const std::optional<std::uint64_t>& def,
                               const std::optional<std::uint64_t>& ceiling,
                               const std::optional<toml::source_region>& at, std::string_view name) {
    if (def && ceiling && *def > *ceiling && at) {
      errors.add(failAt(Errc::kInvalidArgument, *at,
                        "[defaults] " + std::string(name) + " is above the [limits] ceiling"));
    }
  };
  check(p.defaults.memory, p.ceilings.memory, defaultsAt.memory, "memory");
  check(p.defaults.fuel, p.ceilings.fuel, defaultsAt.fuel, "fuel");
  check(p.defaults.fsQuota, p.ceilings.fsQuota, defaultsAt.fsQuota, "fs_quota");
  check(p.defaults.capTtl, p.ceilings.capTtl, defaultsAt.capTtl, "cap_ttl");
  AE_TRY(errors.status());
  return p;
}

}  // namespace

Result<Policy> parsePolicy(std::string_view tomlText) {
  return parseTomlDocument<Policy>(tomlText, kMaxPolicyBytes, "policy", parsePolicyAscii);
}

std::string toToml(const Policy& policy) {
  std::string out = "# Aether space policy\n";
  appendLimits(out, "limits", policy.ceilings);
  appendLimits(out, "defaults", policy.defaults);
  for (const PolicyRule& r : policy.allow) appendRule(out, "allow", r.capability, r.reason);
  for (const PolicyRule& r : policy.deny) appendRule(out, "deny", r.capability, r.reason);
  return out;
}

}  // namespace aether::cap
