// codec: the wire formats Aether shares with IPFS / libp2p — multibase, multicodec, multihash,
// CIDs, canonical DAG-CBOR and multiaddrs. Every decoder is strict: it accepts exactly the one
// canonical encoding and rejects anything else with a typed error, never by crashing.
// Thread-safety: only pure functions and value types; thread-compatible (no shared state).
#pragma once

#include <bit>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/base.h"

namespace aether::codec {

// ---- bases ------------------------------------------------------------------------------------
//
// All decoders accept only the canonical text of their alphabet: no whitespace, no padding, no
// alternative alphabets, and (for base32 / base64url) zero trailing bits, so that
// encode(decode(s)) == s for every accepted s.

std::string base58btcEncode(ByteView data);
// Bitcoin alphabet. Inputs longer than kMaxBase58Chars are refused (decoding is quadratic).
[[nodiscard]] Result<Bytes> base58btcDecode(std::string_view text);
inline constexpr std::size_t kMaxBase58Chars = 16 * 1024;

// RFC 4648 base32, lower-case alphabet, no padding.
std::string base32LowerEncode(ByteView data);
// Rejects '=', upper case, impossible lengths and non-zero trailing bits.
[[nodiscard]] Result<Bytes> base32LowerDecode(std::string_view text);

// RFC 4648 §5 base64url, no padding (as JWS / JWT use it).
std::string base64urlEncode(ByteView data);
// Rejects '=', '+', '/', whitespace, impossible lengths and non-zero trailing bits.
[[nodiscard]] Result<Bytes> base64urlDecode(std::string_view text);

// Base16 is base/base.h's hexEncode; multibase 'f' additionally requires lower case.

// ---- multibase --------------------------------------------------------------------------------

// The multibase prefixes we implement. Others (including 'F', 'B', 'm', ...) are kUnsupported.
enum class Multibase : char {
  kBase58btc = 'z',
  kBase32 = 'b',    // RFC 4648 lower case, no padding
  kBase64url = 'u', // RFC 4648 §5, no padding
  kBase16 = 'f',    // lower-case hex
};

std::string multibaseEncode(Multibase base, ByteView data);

struct MultibaseDecoded {
  Multibase base;
  Bytes data;
};
// Decodes "<prefix><text>". Empty input -> kMalformed, unknown prefix -> kUnsupported.
[[nodiscard]] Result<MultibaseDecoded> multibaseDecodeWithBase(std::string_view text);
[[nodiscard]] Result<Bytes> multibaseDecode(std::string_view text);

// ---- multicodec -------------------------------------------------------------------------------

namespace mc {
// Hash functions (multihash codes).
inline constexpr std::uint64_t kIdentity = 0x00;
inline constexpr std::uint64_t kSha2_256 = 0x12;
inline constexpr std::uint64_t kBlake2b256 = 0xb220;
// Content codecs (CID codecs).
inline constexpr std::uint64_t kRaw = 0x55;
inline constexpr std::uint64_t kDagPb = 0x70;
inline constexpr std::uint64_t kDagCbor = 0x71;
inline constexpr std::uint64_t kLibp2pKey = 0x72;
inline constexpr std::uint64_t kDagJson = 0x0129;
// Public keys (did:key, multikey).
inline constexpr std::uint64_t kEd25519Pub = 0xed;
inline constexpr std::uint64_t kX25519Pub = 0xec;
// Multiaddr protocols.
inline constexpr std::uint64_t kIp4 = 4;
inline constexpr std::uint64_t kTcp = 6;
inline constexpr std::uint64_t kIp6 = 41;
inline constexpr std::uint64_t kDns = 53;
inline constexpr std::uint64_t kDns4 = 54;
inline constexpr std::uint64_t kDns6 = 55;
inline constexpr std::uint64_t kUdp = 273;
inline constexpr std::uint64_t kP2p = 421;
inline constexpr std::uint64_t kQuic = 0x01cc;    // QUIC draft-29, superseded by quic-v1
inline constexpr std::uint64_t kQuicV1 = 0x01cd;  // RFC 9000 QUIC
}  // namespace mc

// Names as in the multiformats/multicodec table ("sha2-256", "dag-cbor", "ip4", ...), for the
// codes above only. nullopt for anything else.
std::optional<std::string_view> multicodecName(std::uint64_t code);
std::optional<std::uint64_t> multicodecCode(std::string_view name);

// True for the codecs a CID may name here: raw, dag-pb, dag-cbor, libp2p-key, dag-json.
bool isCidCodec(std::uint64_t code);

// ---- multihash --------------------------------------------------------------------------------

// <varint code><varint length><digest>. codec never hashes anything: callers compute digests
// (crypto/) and wrap them here.
struct Multihash {
  std::uint64_t code = mc::kSha2_256;
  Bytes digest;

  // Identity "digests" (inline data) longer than this are refused.
  static constexpr std::size_t kMaxIdentityDigest = 128;

  // Validating constructors. sha2-256 / blake2b-256 need exactly 32 bytes (kWrongLength);
  // identity at most kMaxIdentityDigest (kLimitExceeded); other codes are kUnsupported.
  [[nodiscard]] static Result<Multihash> make(std::uint64_t code, ByteView digest);
  [[nodiscard]] static Result<Multihash> sha256(ByteView digest32);
  [[nodiscard]] static Result<Multihash> blake2b256(ByteView digest32);
  [[nodiscard]] static Result<Multihash> identity(ByteView data);

  // Checks the same rules as make() on this value.
  [[nodiscard]] Status validate() const;

  void appendTo(Bytes& out) const;
  Bytes encode() const;
  std::size_t encodedSize() const;

  // Decodes exactly one multihash filling `in` (left-over bytes -> kTrailingData).
  [[nodiscard]] static Result<Multihash> decode(ByteView in);
  // Decodes one multihash from the front of `in`; *consumed gets its length.
  [[nodiscard]] static Result<Multihash> decodePrefix(ByteView in, std::size_t* consumed);

  friend bool operator==(const Multihash&, const Multihash&) = default;
  // By code, then digest bytes (shorter prefix first).
  friend std::strong_ordering operator<=>(const Multihash& a, const Multihash& b) {
    if (a.code != b.code) return a.code <=> b.code;
    const std::size_t n = a.digest.size() < b.digest.size() ? a.digest.size() : b.digest.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (a.digest[i] != b.digest[i]) return a.digest[i] <=> b.digest[i];
    }
    return a.digest.size() <=> b.digest.size();
  }
};

// ---- CID --------------------------------------------------------------------------------------

// A content identifier. v0 is a bare sha2-256 multihash of a dag-pb block; v1 is
// <varint 1><varint codec><multihash>. Always holds a valid CID.
class Cid {
 public:
  // An invalid-looking default is not offered; build with v1(), v0(), parse() or fromBytes().
  // REQUIRES: isCidCodec(codec) and hash.validate() ok (else the CID will not parse back).
  static Cid v1(std::uint64_t codec, Multihash hash);
  // v0 needs a sha2-256 multihash (else kUnsupported / kWrongLength).
  [[nodiscard]] static Result<Cid> v0(Multihash hash);
  // Like v1() but checks the codec is one we know and the multihash is valid.
  [[nodiscard]] static Result<Cid> makeV1(std::uint64_t codec, Multihash hash);

  // Text: a 46-char "Qm..." base58btc CIDv0, or a multibase CIDv1 in any base we implement.
  // A multibase-prefixed v0 is rejected, as the CID spec requires.
  [[nodiscard]] static Result<Cid> parse(std::string_view text);
  // Binary: exactly one CID filling `in`.
  [[nodiscard]] static Result<Cid> fromBytes(ByteView in);
  // Binary: one CID from the front of `in` (CAR files, streams); *consumed gets its length.
  [[nodiscard]] static Result<Cid> readPrefix(ByteView in, std::size_t* consumed);

  Bytes toBytes() const;
  void appendTo(Bytes& out) const;
  // v0 -> base58btc without prefix, v1 -> base32 ("b...").
  std::string toString() const;
  // v1 in the given base. For v0 the base is ignored: v0 has one text form.
  std::string toString(Multibase base) const;

  std::uint64_t version() const { return version_; }
  std::uint64_t codec() const { return codec_; }
  const Multihash& hash() const { return hash_; }

  friend bool operator==(const Cid&, const Cid&) = default;
  // A total order (version, codec, hash code, digest) — stable, but not the byte order.
  friend std::strong_ordering operator<=>(const Cid& a, const Cid& b) {
    if (a.version_ != b.version_) return a.version_ <=> b.version_;
    if (a.codec_ != b.codec_) return a.codec_ <=> b.codec_;
    return a.hash_ <=> b.hash_;
  }

 private:
  Cid(std::uint64_t version, std::uint64_t codec, Multihash hash)
      : version_(version), codec_(codec), hash_(std::move(hash)) {}

  std::uint64_t version_;
  std::uint64_t codec_;
  Multihash hash_;
};

// ---- DAG-CBOR ---------------------------------------------------------------------------------

// Map keys order: shorter first, then bytewise — the order DAG-CBOR requires on the wire, so
// iterating a Value::Map yields keys in encoding order.
struct DagCborKeyLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  }
};

// An IPLD data-model value as DAG-CBOR can carry it.
class Value {
 public:
  enum class Kind : std::uint8_t { kNull, kBool, kInteger, kFloat, kBytes, kText, kList, kMap, kLink };

  // A CBOR integer over the full range [-2^64, 2^64-1]: `magnitude` when !negative,
  // -1 - magnitude when negative (exactly CBOR majors 0 and 1).
  struct Integer {
    bool negative = false;
    std::uint64_t magnitude = 0;
    friend bool operator==(const Integer&, const Integer&) = default;
  };
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value, DagCborKeyLess>;

  Value() : v_(nullptr) {}
  Value(std::nullptr_t) : v_(nullptr) {}
  // Only a real bool becomes a Bool (no pointer / int -> bool surprises).
  template <class T>
    requires std::same_as<T, bool>
  Value(T b) : v_(b) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Value(T i) : v_(fromInt(i)) {}
  Value(double f) : v_(Float64{f}) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(List l) : v_(std::move(l)) {}
  Value(Map m) : v_(std::move(m)) {}
  Value(Cid c) : v_(std::move(c)) {}
  Value(Integer i) : v_(i) {}

  // -1 - n: the most negative value is negativeMinusOne(UINT64_MAX) == -2^64.
  static Value negativeMinusOne(std::uint64_t n) { return Value(Integer{true, n}); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool isNull() const { return kind() == Kind::kNull; }

  // Typed access: nullptr / nullopt when the value has another kind (or does not fit).
  std::optional<bool> asBool() const;
  const Integer* asInteger() const { return std::get_if<Integer>(&v_); }
  std::optional<std::int64_t> asInt64() const;
  std::optional<std::uint64_t> asUint64() const;
  std::optional<double> asFloat() const;
  const Bytes* asBytes() const { return std::get_if<Bytes>(&v_); }
  const std::string* asText() const { return std::get_if<std::string>(&v_); }
  const List* asList() const { return std::get_if<List>(&v_); }
  List* asList() { return std::get_if<List>(&v_); }
  const Map* asMap() const { return std::get_if<Map>(&v_); }
  Map* asMap() { return std::get_if<Map>(&v_); }
  const Cid* asLink() const { return std::get_if<Cid>(&v_); }

  // Map lookup; nullptr if this is not a map or the key is absent.
  const Value* find(std::string_view key) const;

  // Structural equality; floats compare by bit pattern (so -0.0 != 0.0, as their encodings differ).
  friend bool operator==(const Value&, const Value&) = default;

 private:
  template <std::integral T>
  static Integer fromInt(T i) {
    if constexpr (std::is_signed_v<T>) {
      if (i < 0) return Integer{true, static_cast<std::uint64_t>(-(static_cast<std::int64_t>(i) + 1))};
    }
    return Integer{false, static_cast<std::uint64_t>(i)};
  }

  struct Float64 {
    double value;
    friend bool operator==(Float64 a, Float64 b) {
      return std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value);
    }
  };

  // Index order matches Kind.
  std::variant<std::nullptr_t, bool, Integer, Float64, Bytes, std::string, List, Map, Cid> v_;
};

// The decoder recurses once per nesting level, so max_depth also bounds its stack use. A decoded
// Value can take up to ~60 bytes of memory per input byte (a list of one-byte items), so
// max_size bounds memory too.
struct DecodeLimits {
  std::size_t max_depth = 64;              // nesting of lists / maps; the top-level value is depth 1
  std::size_t max_size = 2 * 1024 * 1024;  // input bytes; covers the block sizes IPFS moves
};

// Canonical DAG-CBOR: minimal integers and lengths, map keys sorted length-first then bytewise,
// floats always 64-bit, links as tag 42. Fails on NaN / ±Infinity, invalid UTF-8 text or keys,
// and nesting deeper than kMaxEncodeDepth.
inline constexpr std::size_t kMaxEncodeDepth = 1024;
[[nodiscard]] Result<Bytes> encodeDagCbor(const Value& value);

// Accepts exactly the bytes encodeDagCbor produces (see docs/formats/dag-cbor.md).
[[nodiscard]] Result<Value> decodeDagCbor(ByteView in, const DecodeLimits& limits = {});

// ---- multiaddr --------------------------------------------------------------------------------

// A libp2p multiaddr over the protocols ip4 ip6 dns dns4 dns6 tcp udp quic quic-v1 p2p.
// Always holds a valid, non-empty address; text <-> bytes round-trips exactly.
class Multiaddr {
 public:
  struct Component {
    std::uint64_t code;  // mc::kIp4, mc::kTcp, ...
    Bytes value;         // binary value without its length prefix (empty for quic / quic-v1)

    std::string_view protocolName() const;
    // Text form of the value ("1.2.3.4", "4001", "12D3Koo..."); empty for quic / quic-v1.
    std::string valueString() const;
    friend bool operator==(const Component&, const Component&) = default;
  };

  [[nodiscard]] static Result<Multiaddr> parse(std::string_view text);
  [[nodiscard]] static Result<Multiaddr> fromBytes(ByteView in);
  // Validates each component as fromBytes() would.
  [[nodiscard]] static Result<Multiaddr> fromComponents(std::vector<Component> components);

  std::string toString() const;
  const Bytes& bytes() const { return bytes_; }
  const std::vector<Component>& components() const { return components_; }

  // The /p2p/ peer id (a multihash), if the address has one (the last one wins).
  std::optional<Multihash> peerId() const;

  friend bool operator==(const Multiaddr& a, const Multiaddr& b) { return a.bytes_ == b.bytes_; }

 private:
  Multiaddr(std::vector<Component> components, Bytes bytes)
      : components_(std::move(components)), bytes_(std::move(bytes)) {}

  std::vector<Component> components_;
  Bytes bytes_;
};

}  // namespace aether::codec
