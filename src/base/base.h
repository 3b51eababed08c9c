// base: the vocabulary every Aether subsystem shares — Result<T> with typed error codes,
// byte buffers and views, hex, and multiformats unsigned varints.
// Everything here is a value type or a pure function; all of it is thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aether {

// Typed error codes. Each names a class of failure a caller may want to branch on;
// the message says what exactly went wrong, for a human.
enum class Errc : std::uint16_t {
  kInvalidArgument = 1,  // caller passed something unusable (bad flag, wrong size key)
  kTruncated,            // input ended early
  kMalformed,            // input is not well-formed for its format
  kNonCanonical,         // well-formed but not in the one canonical encoding we accept
  kOverflow,             // a number does not fit, or a varint is too long
  kUnsupported,          // a valid code / feature we do not implement
  kWrongLength,          // a length field disagrees with the data, or a fixed-size value has another size
  kTrailingData,         // bytes left over after a complete value
  kLimitExceeded,        // depth, size or count limit hit
  kNotFound,
  kAlreadyExists,
  kIo,
  kCrypto,               // a crypto library call failed
  kBadSignature,         // a signature did not verify
  kAuthFailed,           // wrong passphrase, MAC failure on a sealed secret
  kPermissionDenied,
  kIntegrity,            // stored data does not match its address
  kWasm,                 // Wasmtime compile / link / trap error
  kInternal,             // a bug of ours; should not happen
};

// Stable lower-case name for an error code ("malformed", "truncated", ...).
std::string_view errcName(Errc code);

struct Error {
  Errc code;
  std::string message;

  // "malformed: varint: continuation bit set on last byte"
  std::string toString() const;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// Build an error return value: `return fail(Errc::kMalformed, "cid: bad version");`
inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// Prepend context to an error while keeping its code: "keystore: " + "auth-failed: ...".
inline std::unexpected<Error> withContext(Error e, std::string_view context) {
  e.message = std::string(context) + ": " + e.message;
  return std::unexpected<Error>(std::move(e));
}

#define AE_CONCAT_INNER(a, b) a##b
#define AE_CONCAT(a, b) AE_CONCAT_INNER(a, b)

// AE_TRY(expr): evaluate a Result-returning expression; on error return the error.
#define AE_TRY(expr)                                            \
  do {                                                          \
    auto&& ae_try_result_ = (expr);                             \
    if (!ae_try_result_) {                                      \
      return std::unexpected(std::move(ae_try_result_).error()); \
    }                                                           \
  } while (0)

// AE_ASSIGN_OR_RETURN(auto x, expr): bind the value or return the error.
#define AE_ASSIGN_OR_RETURN(lhs, expr) \
  AE_ASSIGN_OR_RETURN_IMPL(AE_CONCAT(ae_aor_, __LINE__), lhs, expr)
#define AE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)     \
  auto tmp = (expr);                                 \
  if (!tmp) {                                        \
    return std::unexpected(std::move(tmp).error());  \
  }                                                  \
  lhs = std::move(*tmp)

// ---- bytes ----------------------------------------------------------------

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view asChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes toBytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
inline void append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

// Constant-time equality for secrets and MACs (length is not secret).
bool constantTimeEqual(ByteView a, ByteView b);

// True iff `s` is well-formed UTF-8 (RFC 3629: shortest forms only, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view s);

// ---- hex ------------------------------------------------------------------

// Lower-case hex.
std::string hexEncode(ByteView data);
// Accepts upper and lower case; rejects odd length and non-hex characters.
Result<Bytes> hexDecode(std::string_view text);

// ---- unsigned varint (multiformats/unsigned-varint) -----------------------

// The spec caps varints at 9 bytes (63 bits of value).
inline constexpr std::size_t kMaxVarintBytes = 9;
inline constexpr std::uint64_t kMaxVarintValue = (std::uint64_t{1} << 63) - 1;

struct VarintDecoded {
  std::uint64_t value;
  std::size_t length;  // bytes consumed
};

// Appends the minimal encoding of `value`. REQUIRES: value <= kMaxVarintValue.
void varintAppend(Bytes& out, std::uint64_t value);
Bytes varintEncode(std::uint64_t value);
std::size_t varintSize(std::uint64_t value);

// Decodes one varint from the front of `in`. Rejects: empty / truncated input,
// non-minimal encodings (a trailing 0x00 group), more than 9 bytes, values >= 2^63.
Result<VarintDecoded> varintDecode(ByteView in);

}  // namespace aether
