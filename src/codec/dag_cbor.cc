// Canonical DAG-CBOR encoder and strict decoder, plus Value accessors.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "codec/codec.h"
#include "codec/internal.h"

namespace aether::codec {
namespace {

enum Major : std::uint8_t {
  kUnsigned = 0,
  kNegative = 1,
  kByteString = 2,
  kTextString = 3,
  kArray = 4,
  kMapMajor = 5,
  kTag = 6,
  kSimple = 7,
};

constexpr std::uint64_t kCidTag = 42;
constexpr std::uint8_t kFalse = 0xf4, kTrue = 0xf5, kNull = 0xf6, kFloat64 = 0xfb;

// ---- encoder -------------------------------------------------------------------------------------

void appendHead(Bytes& out, Major major, std::uint64_t arg) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  if (arg < 24) {
    out.push_back(static_cast<std::uint8_t>(m | arg));
  } else if (arg <= 0xff) {
    out.push_back(m | 24);
    out.push_back(static_cast<std::uint8_t>(arg));
  } else if (arg <= 0xffff) {
    out.push_back(m | 25);
    for (int s = 8; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(arg >> s));
  } else if (arg <= 0xffffffff) {
    out.push_back(m | 26);
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(arg >> s));
  } else {
    out.push_back(m | 27);
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(arg >> s));
  }
}

void appendText(Bytes& out, std::string_view s) {
  appendHead(out, kTextString, s.size());
  append(out, asBytes(s));
}

class Encoder {
 public:
  explicit Encoder(Bytes& out) : out_(out) {}

  Status encode(const Value& v, std::size_t depth) {
    switch (v.kind()) {
      case Value::Kind::kNull:
        out_.push_back(kNull);
        return {};
      case Value::Kind::kBool:
        out_.push_back(*v.asBool() ? kTrue : kFalse);
        return {};
      case Value::Kind::kInteger: {
        const auto* i = v.asInteger();
        appendHead(out_, i->negative ? kNegative : kUnsigned, i->magnitude);
        return {};
      }
      case Value::Kind::kFloat: {
        const double f = *v.asFloat();
        if (std::isnan(f)) return fail(Errc::kInvalidArgument, "dag-cbor: NaN cannot be encoded");
        if (std::isinf(f)) return fail(Errc::kInvalidArgument, "dag-cbor: Infinity cannot be encoded");
        const auto bits = std::bit_cast<std::uint64_t>(f);
        out_.push_back(kFloat64);
        for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<std::uint8_t>(bits >> s));
        return {};
      }
      case Value::Kind::kBytes: {
        const auto* b = v.asBytes();
        appendHead(out_, kByteString, b->size());
        append(out_, *b);
        return {};
      }
      case Value::Kind::kText: {
        const auto* s = v.asText();
        if (!isValidUtf8(*s)) return fail(Errc::kInvalidArgument, "dag-cbor: text is not valid UTF-8");
        appendText(out_, *s);
        return {};
      }
      case Value::Kind::kList: {
        AE_TRY(enter(depth));
        const auto* l = v.asList();
        appendHead(out_, kArray, l->size());
        for (const auto& item : *l) AE_TRY(encode(item, depth + 1));
        return {};
      }
      case Value::Kind::kMap: {
        AE_TRY(enter(depth));
        const auto* m = v.asMap();
        appendHead(out_, kMapMajor, m->size());
        // Value::Map iterates in DAG-CBOR key order already.
        for (const auto& [key, item] : *m) {
          if (!isValidUtf8(key)) {
            return fail(Errc::kInvalidArgument, "dag-cbor: map key is not valid UTF-8");
          }
          appendText(out_, key);
          AE_TRY(encode(item, depth + 1));
        }
        return {};
      }
      case Value::Kind::kLink: {
        const Bytes cid = v.asLink()->toBytes();
        appendHead(out_, kTag, kCidTag);
        appendHead(out_, kByteString, cid.size() + 1);
        out_.push_back(0x00);  // multibase identity prefix
        append(out_, cid);
        return {};
      }
    }
    return fail(Errc::kInternal, "dag-cbor: unknown value kind");
  }

 private:
  static Status enter(std::size_t depth) {
    if (depth > kMaxEncodeDepth) {
      return fail(Errc::kLimitExceeded, "dag-cbor: nesting deeper than " + std::to_string(kMaxEncodeDepth));
    }
    return {};
  }

  Bytes& out_;
};

// ---- decoder -------------------------------------------------------------------------------------

struct Head {
  Major major;
  std::uint8_t info;  // low five bits of the initial byte
  std::uint64_t arg;
};

class Decoder {
 public:
  Decoder(ByteView in, const DecodeLimits& limits) : in_(in), limits_(limits) {}

  Result<Value> decodeTop() {
    if (in_.size() > limits_.max_size) {
      return fail(Errc::kLimitExceeded, "dag-cbor: input of " + std::to_string(in_.size()) + " bytes exceeds " +
                                            std::to_string(limits_.max_size));
    }
    AE_ASSIGN_OR_RETURN(Value v, decode(1));
    if (pos_ != in_.size()) {
      return fail(Errc::kTrailingData, "dag-cbor: " + std::to_string(in_.size() - pos_) + " bytes after the value");
    }
    return v;
  }

 private:
  std::size_t left() const { return in_.size() - pos_; }

  std::string at(std::size_t offset) const { return " at offset " + std::to_string(offset); }

  // Reads an initial byte and its argument, enforcing the shortest form. Major 7 is returned
  // with info only (its argument is not a length), floats are read by the caller.
  Result<Head> readHead() {
    if (left() == 0) return fail(Errc::kTruncated, "dag-cbor: input ended" + at(pos_));
    const std::size_t start = pos_;
    const std::uint8_t ib = in_[pos_++];
    Head h{static_cast<Major>(ib >> 5), static_cast<std::uint8_t>(ib & 31), 0};
    if (h.major == kSimple) return h;
    if (h.info < 24) {
      h.arg = h.info;
      return h;
    }
    if (h.info == 31) {
      return fail(Errc::kMalformed, "dag-cbor: indefinite-length item" + at(start));
    }
    if (h.info > 27) {
      return fail(Errc::kMalformed, "dag-cbor: reserved additional information " + std::to_string(h.info) + at(start));
    }
    const std::size_t n = std::size_t{1} << (h.info - 24);  // 1, 2, 4, 8
    if (left() < n) return fail(Errc::kTruncated, "dag-cbor: integer argument cut short" + at(start));
    for (std::size_t k = 0; k < n; ++k) h.arg = (h.arg << 8) | in_[pos_++];
    const std::uint64_t min = n == 1 ? 24 : (std::uint64_t{1} << (4 * n));  // 24, 2^8, 2^16, 2^32
    if (h.arg < min) {
      return fail(Errc::kNonCanonical, "dag-cbor: integer or length not in its shortest form" + at(start));
    }
    return h;
  }

  Result<ByteView> readPayload(std::uint64_t len, std::size_t start) {
    if (len > left()) {
      return fail(Errc::kTruncated, "dag-cbor: string of " + std::to_string(len) + " bytes but only " +
                                        std::to_string(left()) + " left" + at(start));
    }
    const ByteView p = in_.subspan(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return p;
  }

  Result<std::string> readText(std::uint64_t len, std::size_t start) {
    AE_ASSIGN_OR_RETURN(ByteView p, readPayload(len, start));
    std::string_view s = asChars(p);
    if (!isValidUtf8(s)) return fail(Errc::kMalformed, "dag-cbor: text is not valid UTF-8" + at(start));
    return std::string(s);
  }

  Result<Value> decode(std::size_t depth) {
    const std::size_t start = pos_;
    AE_ASSIGN_OR_RETURN(Head h, readHead());
    switch (h.major) {
      case kUnsigned:
        return Value(Value::Integer{false, h.arg});
      case kNegative:
        return Value(Value::Integer{true, h.arg});
      case kByteString: {
        AE_ASSIGN_OR_RETURN(ByteView p, readPayload(h.arg, start));
        return Value(Bytes(p.begin(), p.end()));
      }
      case kTextString: {
        AE_ASSIGN_OR_RETURN(std::string s, readText(h.arg, start));
        return Value(std::move(s));
      }
      case kArray: {
        AE_TRY(enter(depth, start));
        if (h.arg > left()) {  // every item needs at least one byte
          return fail(Errc::kTruncated, "dag-cbor: list of " + std::to_string(h.arg) + " items cannot fit" + at(start));
        }
        Value::List list;
        list.reserve(static_cast<std::size_t>(h.arg));
        for (std::uint64_t k = 0; k < h.arg; ++k) {
          AE_ASSIGN_OR_RETURN(Value item, decode(depth + 1));
          list.push_back(std::move(item));
        }
        return Value(std::move(list));
      }
      case kMapMajor:
        AE_TRY(enter(depth, start));
        return decodeMap(h.arg, depth, start);
      case kTag:
        return decodeLink(h.arg, start);
      case kSimple:
        return decodeSimple(h.info, start);
    }
    return fail(Errc::kInternal, "dag-cbor: unreachable major type");
  }

  Status enter(std::size_t depth, std::size_t start) const {
    if (depth > limits_.max_depth) {
      return fail(Errc::kLimitExceeded, "dag-cbor: nesting deeper than " + std::to_string(limits_.max_depth) + at(start));
    }
    return {};
  }

  Result<Value> decodeMap(std::uint64_t count, std::size_t depth, std::size_t start) {
    if (count > left() / 2) {  // every entry needs at least two bytes
      return fail(Errc::kTruncated, "dag-cbor: map of " + std::to_string(count) + " entries cannot fit" + at(start));
    }
    Value::Map map;
    const DagCborKeyLess less;
    for (std::uint64_t k = 0; k < count; ++k) {
      const std::size_t key_start = pos_;
      AE_ASSIGN_OR_RETURN(Head kh, readHead());
      if (kh.major != kTextString) {
        return fail(Errc::kMalformed, "dag-cbor: map key is not a text string" + at(key_start));
      }
      AE_ASSIGN_OR_RETURN(std::string key, readText(kh.arg, key_start));
      if (!map.empty()) {
        const std::string& prev = std::prev(map.end())->first;
        if (!less(prev, key)) {
          if (prev == key) return fail(Errc::kMalformed, "dag-cbor: duplicate map key" + at(key_start));
          return fail(Errc::kNonCanonical, "dag-cbor: map keys not in length-first sorted order" + at(key_start));
        }
      }
      AE_ASSIGN_OR_RETURN(Value item, decode(depth + 1));
      map.emplace_hint(map.end(), std::move(key), std::move(item));
    }
    return Value(std::move(map));
  }

  Result<Value> decodeLink(std::uint64_t tag, std::size_t start) {
    if (tag != kCidTag) {
      return fail(Errc::kMalformed, "dag-cbor: tag " + std::to_string(tag) + " is not allowed (only 42)" + at(start));
    }
    const std::size_t bytes_start = pos_;
    AE_ASSIGN_OR_RETURN(Head h, readHead());
    if (h.major != kByteString) {
      return fail(Errc::kMalformed, "dag-cbor: tag 42 must wrap a byte string" + at(bytes_start));
    }
    AE_ASSIGN_OR_RETURN(ByteView p, readPayload(h.arg, bytes_start));
    if (p.empty() || p[0] != 0x00) {
      return fail(Errc::kMalformed, "dag-cbor: CID bytes must start with the 0x00 multibase prefix" + at(bytes_start));
    }
    auto cid = Cid::fromBytes(p.subspan(1));
    if (!cid) return withContext(std::move(cid).error(), "dag-cbor: link" + at(bytes_start));
    return Value(std::move(*cid));
  }

  Result<Value> decodeSimple(std::uint8_t info, std::size_t start) {
    switch (info) {
      case 20:
        return Value(false);
      case 21:
        return Value(true);
      case 22:
        return Value(nullptr);
      case 23:
        return fail(Errc::kMalformed, "dag-cbor: undefined is not in the IPLD data model" + at(start));
      case 25:
      case 26:
        return fail(Errc::kNonCanonical, "dag-cbor: floats must be encoded in 64 bits" + at(start));
      case 27: {
        if (left() < 8) return fail(Errc::kTruncated, "dag-cbor: float64 cut short" + at(start));
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | in_[pos_++];
        const double f = std::bit_cast<double>(bits);
        if (std::isnan(f)) return fail(Errc::kMalformed, "dag-cbor: NaN is not allowed" + at(start));
        if (std::isinf(f)) return fail(Errc::kMalformed, "dag-cbor: Infinity is not allowed" + at(start));
        return Value(f);
      }
      case 31:
        return fail(Errc::kMalformed, "dag-cbor: unexpected break" + at(start));
      default:
        return fail(Errc::kMalformed, "dag-cbor: simple value " + std::to_string(info) + " is not allowed" + at(start));
    }
  }

  ByteView in_;
  const DecodeLimits& limits_;
  std::size_t pos_ = 0;
};

}  // namespace

// ---- Value -----------------------------------------------------------------------------------------

std::optional<bool> Value::asBool() const {
  if (const bool* b = std::get_if<bool>(&v_)) return *b;
  return std::nullopt;
}

std::optional<std::int64_t> Value::asInt64() const {
  const Integer* i = asInteger();
  if (i == nullptr) return std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (i->magnitude > kMax) return std::nullopt;
  const auto m = static_cast<std::int64_t>(i->magnitude);
  return i->negative ? -1 - m : m;
}

std::optional<std::uint64_t> Value::asUint64() const {
  const Integer* i = asInteger();
  if (i == nullptr || i->negative) return std::nullopt;
  return i->magnitude;
}

std::optional<double> Value::asFloat() const {
  if (const Float64* f = std::get_if<Float64>(&v_)) return f->value;
  return std::nullopt;
}

const Value* Value::find(std::string_view key) const {
  const Map* m = asMap();
  if (m == nullptr) return nullptr;
  const auto it = m->find(key);
  return it == m->end() ? nullptr : &it->second;
}

// ---- entry points ------------------------------------------------------------------------------------

Result<Bytes> encodeDagCbor(const Value& value) {
  Bytes out;
  Encoder encoder(out);
  AE_TRY(encoder.encode(value, 1));
  return out;
}

Result<Value> decodeDagCbor(ByteView in, const DecodeLimits& limits) {
  Decoder decoder(in, limits);
  return decoder.decodeTop();
}

}  // namespace aether::codec
