// Multiaddr: binary and text forms for ip4 ip6 dns dns4 dns6 tcp udp quic quic-v1 p2p.
#include <array>
#include <charconv>
#include <utility>

#include "codec/codec.h"
#include "codec/internal.h"

namespace aether::codec {
namespace {

enum class ValueKind : std::uint8_t { kNone, kFixed, kLengthPrefixed };

struct Protocol {
  std::uint64_t code;
  std::string_view name;
  ValueKind kind;
  std::size_t size;  // for kFixed
};

constexpr std::array<Protocol, 10> kProtocols{{
    {mc::kIp4, "ip4", ValueKind::kFixed, 4},
    {mc::kTcp, "tcp", ValueKind::kFixed, 2},
    {mc::kIp6, "ip6", ValueKind::kFixed, 16},
    {mc::kDns, "dns", ValueKind::kLengthPrefixed, 0},
    {mc::kDns4, "dns4", ValueKind::kLengthPrefixed, 0},
    {mc::kDns6, "dns6", ValueKind::kLengthPrefixed, 0},
    {mc::kUdp, "udp", ValueKind::kFixed, 2},
    {mc::kP2p, "p2p", ValueKind::kLengthPrefixed, 0},
    {mc::kQuic, "quic", ValueKind::kNone, 0},
    {mc::kQuicV1, "quic-v1", ValueKind::kNone, 0},
}};

// DNS names are at most 253 characters; allow a little slack for a trailing dot and UTF-8.
constexpr std::size_t kMaxDnsName = 255;

const Protocol* findProtocol(std::uint64_t code) {
  for (const auto& p : kProtocols) {
    if (p.code == code) return &p;
  }
  return nullptr;
}

const Protocol* findProtocol(std::string_view name) {
  for (const auto& p : kProtocols) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

bool isDns(std::uint64_t code) { return code == mc::kDns || code == mc::kDns4 || code == mc::kDns6; }

// ---- value validation (shared by binary and text parsing) --------------------------------------------

Status checkDnsName(std::string_view name) {
  if (name.empty()) return fail(Errc::kMalformed, "multiaddr: empty dns name");
  if (name.size() > kMaxDnsName) return fail(Errc::kLimitExceeded, "multiaddr: dns name longer than 255 bytes");
  if (name.find('/') != std::string_view::npos) return fail(Errc::kMalformed, "multiaddr: dns name contains '/'");
  if (!isValidUtf8(name)) return fail(Errc::kMalformed, "multiaddr: dns name is not valid UTF-8");
  return {};
}

// Peer ids are identity (inlined public key) or sha2-256 multihashes (libp2p peer-id spec). Keeping to
// those two makes the base58 text form unambiguous: it starts with '1' or "Qm".
Result<Multihash> checkPeerId(ByteView value) {
  auto mh = Multihash::decode(value);
  if (!mh) return withContext(std::move(mh).error(), "multiaddr: p2p");
  if (mh->code != mc::kIdentity && mh->code != mc::kSha2_256) {
    return fail(Errc::kUnsupported, "multiaddr: p2p peer id must be an identity or sha2-256 multihash");
  }
  return mh;
}

Status checkValue(const Protocol& p, ByteView value) {
  switch (p.kind) {
    case ValueKind::kNone:
      if (!value.empty()) return fail(Errc::kMalformed, "multiaddr: " + std::string(p.name) + " takes no value");
      return {};
    case ValueKind::kFixed:
      if (value.size() != p.size) {
        return fail(Errc::kWrongLength, "multiaddr: " + std::string(p.name) + " value must be " + std::to_string(p.size) + " bytes");
      }
      return {};
    case ValueKind::kLengthPrefixed:
      if (isDns(p.code)) return checkDnsName(asChars(value));
      if (p.code == mc::kP2p) {
        AE_TRY(checkPeerId(value));
        return {};
      }
      return {};
  }
  return fail(Errc::kInternal, "multiaddr: unknown value kind");
}

// ---- text helpers ------------------------------------------------------------------------------------

// Decimal without sign or leading zeros, at most `max`.
std::optional<std::uint32_t> parseDecimal(std::string_view s, std::uint32_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::optional<std::array<std::uint8_t, 4>> parseIp4(std::string_view s) {
  std::array<std::uint8_t, 4> out{};
  for (int i = 0; i < 4; ++i) {
    const std::size_t dot = s.find('.');
    const std::string_view part = i < 3 ? s.substr(0, dot) : s;
    if (i < 3 && dot == std::string_view::npos) return std::nullopt;
    if (part.size() > 3) return std::nullopt;
    const auto v = parseDecimal(part, 255);
    if (!v) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(*v);
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return out;
}

std::string formatIp4(ByteView b) {
  std::string s;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i > 0) s += '.';
    s += std::to_string(b[i]);
  }
  return s;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses groups "a:b:c" (possibly empty string) into 16-bit words. The last group may be a dotted
// IPv4 address when `allow_ip4_tail`. Returns nullopt on any malformed group.
std::optional<std::vector<std::uint16_t>> parseIp6Groups(std::string_view s, bool allow_ip4_tail) {
  std::vector<std::uint16_t> words;
  if (s.empty()) return words;
  while (true) {
    const std::size_t colon = s.find(':');
    const std::string_view group = s.substr(0, colon);
    if (colon == std::string_view::npos && allow_ip4_tail && group.find('.') != std::string_view::npos) {
      const auto v4 = parseIp4(group);
      if (!v4) return std::nullopt;
      words.push_back(static_cast<std::uint16_t>((*v4)[0] << 8 | (*v4)[1]));
      words.push_back(static_cast<std::uint16_t>((*v4)[2] << 8 | (*v4)[3]));
      return words;
    }
    if (group.empty() || group.size() > 4) return std::nullopt;
    std::uint16_t w = 0;
    for (const char c : group) {
      const int d = hexDigit(c);
      if (d < 0) return std::nullopt;
      w = static_cast<std::uint16_t>(w << 4 | d);
    }
    words.push_back(w);
    if (colon == std::string_view::npos) return words;
    s.remove_prefix(colon + 1);
  }
}

std::optional<std::array<std::uint8_t, 16>> parseIp6(std::string_view s) {
  std::vector<std::uint16_t> words;
  const std::size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    auto all = parseIp6Groups(s, true);
    if (!all || all->size() != 8) return std::nullopt;
    words = std::move(*all);
  } else {
    const std::string_view head_text = s.substr(0, gap);
    const std::string_view tail_text = s.substr(gap + 2);
    if (tail_text.find("::") != std::string_view::npos) return std::nullopt;
    auto head = parseIp6Groups(head_text, false);
    auto tail = parseIp6Groups(tail_text, true);
    if (!head || !tail || head->size() + tail->size() > 7) return std::nullopt;
    words = std::move(*head);
    words.resize(8 - tail->size(), 0);
    words.insert(words.end(), tail->begin(), tail->end());
  }
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(words[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(words[i]);
  }
  return out;
}

// RFC 5952: lower-case hex without leading zeros, the longest run (>= 2) of zero groups replaced
// by "::" (the first such run on a tie), and IPv4-mapped addresses as ::ffff:a.b.c.d.
std::string formatIp6(ByteView b) {
  std::array<std::uint16_t, 8> w{};
  for (std::size_t i = 0; i < 8; ++i) w[i] = static_cast<std::uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);

  const bool v4_mapped = w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0xffff;
  if (v4_mapped) return "::ffff:" + formatIp4(b.subspan(12, 4));

  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = -1;

  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int d = (w[i] >> shift) & 15;
      if (d != 0 || started || shift == 0) {
        s += kHex[d];
        started = true;
      }
    }
  }
  return s;
}

Result<Bytes> parsePeerIdText(std::string_view text) {
  if (text.starts_with("Qm") || text.starts_with('1')) {
    auto bytes = base58btcDecode(text);
    if (!bytes) return withContext(std::move(bytes).error(), "multiaddr: p2p");
    AE_TRY(checkPeerId(*bytes));
    return std::move(*bytes);
  }
  auto cid = Cid::parse(text);
  if (!cid) return withContext(std::move(cid).error(), "multiaddr: p2p is neither a base58 multihash nor a CID");
  if (cid->codec() != mc::kLibp2pKey) {
    return fail(Errc::kMalformed, "multiaddr: p2p CID must have the libp2p-key codec");
  }
  Bytes mh = cid->hash().encode();
  AE_TRY(checkPeerId(mh));
  return mh;
}

Result<Bytes> parseValueText(const Protocol& p, std::string_view text) {
  const std::string name(p.name);
  switch (p.code) {
    case mc::kIp4: {
      const auto ip = parseIp4(text);
      if (!ip) return fail(Errc::kMalformed, "multiaddr: invalid ip4 address '" + std::string(text) + "'");
      return Bytes(ip->begin(), ip->end());
    }
    case mc::kIp6: {
      const auto ip = parseIp6(text);
      if (!ip) return fail(Errc::kMalformed, "multiaddr: invalid ip6 address '" + std::string(text) + "'");
      return Bytes(ip->begin(), ip->end());
    }
    case mc::kTcp:
    case mc::kUdp: {
      const auto port = parseDecimal(text, 65535);
      if (!port) return fail(Errc::kMalformed, "multiaddr: invalid " + name + " port '" + std::string(text) + "'");
      return Bytes{static_cast<std::uint8_t>(*port >> 8), static_cast<std::uint8_t>(*port)};
    }
    case mc::kDns:
    case mc::kDns4:
    case mc::kDns6:
      AE_TRY(checkDnsName(text));
      return toBytes(text);
    case mc::kP2p:
      return parsePeerIdText(text);
    default:
      return fail(Errc::kInternal, "multiaddr: no text parser for " + name);
  }
}

void appendComponent(Bytes& out, const Protocol& p, ByteView value) {
  varintAppend(out, p.code);
  if (p.kind == ValueKind::kLengthPrefixed) varintAppend(out, value.size());
  append(out, value);
}

}  // namespace

std::string_view Multiaddr::Component::protocolName() const {
  const Protocol* p = findProtocol(code);
  return p == nullptr ? std::string_view("unknown") : p->name;
}

std::string Multiaddr::Component::valueString() const {
  switch (code) {
    case mc::kIp4:
      return value.size() == 4 ? formatIp4(value) : std::string();
    case mc::kIp6:
      return value.size() == 16 ? formatIp6(value) : std::string();
    case mc::kTcp:
    case mc::kUdp:
      return value.size() == 2 ? std::to_string(value[0] << 8 | value[1]) : std::string();
    case mc::kDns:
    case mc::kDns4:
    case mc::kDns6:
      return std::string(asChars(value));
    case mc::kP2p:
      return base58btcEncode(value);
    default:
      return std::string();
  }
}

Result<Multiaddr> Multiaddr::fromBytes(ByteView in) {
  if (in.empty()) return fail(Errc::kMalformed, "multiaddr: empty");
  std::vector<Component> components;
  std::size_t pos = 0;
  while (pos < in.size()) {
    auto code = varintDecode(in.subspan(pos));
    if (!code) return withContext(std::move(code).error(), "multiaddr: protocol code at offset " + std::to_string(pos));
    const Protocol* p = findProtocol(code->value);
    if (p == nullptr) {
      return fail(Errc::kUnsupported, "multiaddr: unknown protocol " + internal::codeHex(code->value) + " at offset " +
                                          std::to_string(pos));
    }
    pos += code->length;
    std::size_t size = 0;
    if (p->kind == ValueKind::kFixed) {
      size = p->size;
    } else if (p->kind == ValueKind::kLengthPrefixed) {
      auto len = varintDecode(in.subspan(pos));
      if (!len) return withContext(std::move(len).error(), "multiaddr: " + std::string(p->name) + " length");
      pos += len->length;
      if (len->value > in.size() - pos) {
        return fail(Errc::kTruncated, "multiaddr: " + std::string(p->name) + " value needs " +
                                          std::to_string(len->value) + " bytes, " + std::to_string(in.size() - pos) + " left");
      }
      size = static_cast<std::size_t>(len->value);
    }
    if (size > in.size() - pos) {
      return fail(Errc::kTruncated, "multiaddr: " + std::string(p->name) + " value cut short");
    }
    const ByteView value = in.subspan(pos, size);
    AE_TRY(checkValue(*p, value));
    components.push_back(Component{p->code, Bytes(value.begin(), value.end())});
    pos += size;
  }
  return Multiaddr(std::move(components), Bytes(in.begin(), in.end()));
}

Result<Multiaddr> Multiaddr::fromComponents(std::vector<Component> components) {
  if (components.empty()) return fail(Errc::kMalformed, "multiaddr: empty");
  Bytes bytes;
  for (const auto& c : components) {
    const Protocol* p = findProtocol(c.code);
    if (p == nullptr) return fail(Errc::kUnsupported, "multiaddr: unknown protocol " + internal::codeHex(c.code));
    AE_TRY(checkValue(*p, c.value));
    appendComponent(bytes, *p, c.value);
  }
  return Multiaddr(std::move(components), std::move(bytes));
}

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
  if (text.empty()) return fail(Errc::kMalformed, "multiaddr: empty");
  if (text[0] != '/') return fail(Errc::kMalformed, "multiaddr: must start with '/'");
  std::vector<Component> components;
  Bytes bytes;
  std::string_view rest = text.substr(1);
  auto next = [&rest]() -> std::optional<std::string_view> {
    if (rest.data() == nullptr) return std::nullopt;
    const std::size_t slash = rest.find('/');
    const std::string_view token = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    return token;
  };
  // rest.data() == nullptr marks "no more tokens"; an empty token in between is an error.
  if (rest.empty()) return fail(Errc::kMalformed, "multiaddr: empty");
  while (auto name = next()) {
    if (name->empty()) return fail(Errc::kMalformed, "multiaddr: empty protocol name (stray '/')");
    const Protocol* p = findProtocol(*name);
    if (p == nullptr) return fail(Errc::kUnsupported, "multiaddr: unknown protocol '" + std::string(*name) + "'");
    Bytes value;
    if (p->kind != ValueKind::kNone) {
      auto text_value = next();
      if (!text_value || text_value->empty()) {
        return fail(Errc::kMalformed, "multiaddr: " + std::string(p->name) + " needs a value");
      }
      AE_ASSIGN_OR_RETURN(value, parseValueText(*p, *text_value));
    }
    appendComponent(bytes, *p, value);
    components.push_back(Component{p->code, std::move(value)});
  }
  return Multiaddr(std::move(components), std::move(bytes));
}

std::string Multiaddr::toString() const {
  std::string s;
  for (const auto& c : components_) {
    s += '/';
    s += c.protocolName();
    const Protocol* p = findProtocol(c.code);
    if (p != nullptr && p->kind != ValueKind::kNone) {
      s += '/';
      s += c.valueString();
    }
  }
  return s;
}

std::optional<Multihash> Multiaddr::peerId() const {
  for (auto it = components_.rbegin(); it != components_.rend(); ++it) {
    if (it->code == mc::kP2p) {
      auto mh = Multihash::decode(it->value);
      if (mh) return std::move(*mh);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace aether::codec
