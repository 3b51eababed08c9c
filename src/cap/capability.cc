// Capability grammar (rights, resource patterns and their normal forms), covers / overlaps, and
// the UCAN {with, can} mapping. The grammar is specified in docs/capabilities.md.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>
#include <string_view>

#include "cap/cap.h"
#include "cap/internal.h"

namespace aether::cap {
namespace {

constexpr std::string_view kKvAbilities[] = {"read", "write", "delete", "list"};
constexpr std::string_view kFsAbilities[] = {"read", "write", "delete", "list"};
constexpr std::string_view kHttpAbilities[] = {"get", "head", "post", "put", "patch", "delete"};
constexpr std::string_view kNetAbilities[] = {"dial", "listen"};
constexpr std::string_view kPubsubAbilities[] = {"publish", "subscribe"};
constexpr std::string_view kIdentityAbilities[] = {"sign", "register"};
constexpr std::string_view kCredAbilities[] = {"issue", "verify"};
constexpr std::string_view kBlocksAbilities[] = {"put", "get"};
constexpr std::string_view kStreamsAbilities[] = {"append", "read"};
constexpr std::string_view kEventsAbilities[] = {"emit"};

constexpr std::array<RightNamespace, 10> kNamespaces = {{
    {"kv", ResourceKind::kKey, kKvAbilities},
    {"fs", ResourceKind::kPath, kFsAbilities},
    {"http", ResourceKind::kUrl, kHttpAbilities},
    {"net", ResourceKind::kProtocol, kNetAbilities},
    {"pubsub", ResourceKind::kTopic, kPubsubAbilities},
    {"identity", ResourceKind::kKey, kIdentityAbilities},  // resource: "*" (the app's own key)
    {"blocks", ResourceKind::kKey, kBlocksAbilities},      // resource: "*" (content-addressed)
    {"streams", ResourceKind::kKey, kStreamsAbilities},    // resource: a stream name
    {"events", ResourceKind::kKey, kEventsAbilities},      // resource: an event name
    // API scopes of the daemon's Bearer tokens (docs/identity.md): identity.register on "*",
    // cred.issue / cred.verify on a credential type ("AetherRoleCredential", "*").
    {"cred", ResourceKind::kKey, kCredAbilities},
}};

bool isLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) {
  return isLowerAlpha(c) || (c >= 'A' && c <= 'Z') || isDigit(c);
}
// RFC 3986 unreserved.
bool isUnreserved(char c) { return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool isSubDelim(char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=':
      return true;
    default:
      return false;
  }
}
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string join(const std::vector<std::string_view>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// ---- rights ----

struct ParsedRight {
  const RightNamespace* ns;
  std::string_view ability;
};

Result<ParsedRight> parseRight(std::string_view right) {
  if (right.empty()) return fail(Errc::kMalformed, "right is empty");
  if (right.size() > kMaxRightLength) {
    return fail(Errc::kLimitExceeded, "right is longer than " + std::to_string(kMaxRightLength));
  }
  const std::size_t dot = right.find('.');
  if (dot == std::string_view::npos) {
    return fail(Errc::kMalformed, "right \"" + printable(right) +
                                      "\" is not namespace.ability (e.g. kv.write)");
  }
  const std::string_view ns = right.substr(0, dot);
  const std::string_view ability = right.substr(dot + 1);
  const auto lowerWord = [](std::string_view w) {
    return !w.empty() && std::all_of(w.begin(), w.end(), isLowerAlpha);
  };
  if (!lowerWord(ns) || !(ability == "*" || lowerWord(ability))) {
    return fail(Errc::kMalformed, "right \"" + printable(right) +
                                      "\" must be lower-case letters: namespace.ability or "
                                      "namespace.*");
  }
  for (const RightNamespace& n : kNamespaces) {
    if (n.name != ns) continue;
    if (ability == "*") return ParsedRight{&n, ability};
    for (std::string_view a : n.abilities) {
      if (a == ability) return ParsedRight{&n, ability};
    }
    std::string known;
    for (std::string_view a : n.abilities) known += (known.empty() ? "" : ", ") + std::string(a);
    return fail(Errc::kUnsupported, "unknown right \"" + std::string(right) + "\" (" +
                                        std::string(ns) + " has " + known + ", or *)");
  }
  return fail(Errc::kUnsupported, "unknown right namespace \"" + std::string(ns) +
                                      "\" (known: kv, fs, http, net, pubsub)");
}

// ---- resources ----
//
// Each normalize* returns the normal form of a resource or an error; a resource is accepted by
// Capability::parse only when it already is its normal form.

std::unexpected<Error> badChar(std::string_view what, std::string_view resource, char c) {
  std::string shown = (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                          ? "byte 0x" + hexEncode(ByteView(reinterpret_cast<const std::uint8_t*>(&c), 1))
                          : "'" + std::string(1, c) + "'";
  return fail(Errc::kMalformed, std::string(what) + " \"" + printable(resource) + "\": " + shown +
                                    " is not allowed");
}

// Segments of an opaque name (kv keys, pubsub topics, libp2p protocol ids): non-empty runs of
// [A-Za-z0-9._~-], never "." or "..". No normalization: these names are identifiers, so a
// different spelling is a different name.
Status checkNameSegments(std::string_view what, std::string_view resource,
                         const std::vector<std::string_view>& segments) {
  for (std::string_view seg : segments) {
    if (seg.empty()) {
      return fail(Errc::kMalformed, std::string(what) + " \"" + printable(resource) +
                                        "\" has an empty segment (a leading, trailing or "
                                        "doubled '/')");
    }
    if (seg == "." || seg == "..") {
      return fail(Errc::kMalformed, std::string(what) + " \"" + printable(resource) +
                                        "\" has a \"" + std::string(seg) + "\" segment");
    }
    for (char c : seg) {
      if (c == '*') {
        return fail(Errc::kMalformed, std::string(what) + " \"" + printable(resource) +
                                          "\": '*' may only be the whole last segment");
      }
      if (!isUnreserved(c)) return badChar(what, resource, c);
    }
  }
  return {};
}

Status checkSegmentCount(std::size_t n) {
  if (n > kMaxResourceSegments) {
    return fail(Errc::kLimitExceeded,
                "resource has more than " + std::to_string(kMaxResourceSegments) + " segments");
  }
  return {};
}

// kv keys and pubsub topics: seg *("/" seg), optionally followed by "/*"; or "*".
Result<std::string> normalizeName(std::string_view what, std::string_view resource) {
  if (resource == "*") return std::string(resource);
  std::string_view body = resource;
  if (body.ends_with("/*")) body.remove_suffix(2);
  const auto segments = split(body, '/');
  AE_TRY(checkSegmentCount(segments.size()));
  AE_TRY(checkNameSegments(what, resource, segments));
  return std::string(resource);
}

// libp2p protocol ids: "/" seg *("/" seg), optionally followed by "/*"; or "/*".
Result<std::string> normalizeProtocol(std::string_view resource) {
  if (resource == "/*") return std::string(resource);
  if (!resource.starts_with('/')) {
    return fail(Errc::kMalformed, "protocol id \"" + printable(resource) + "\" must start with '/'");
  }
  std::string_view body = resource.substr(1);
  if (body.ends_with("/*")) body.remove_suffix(2);
  const auto segments = split(body, '/');
  AE_TRY(checkSegmentCount(segments.size()));
  AE_TRY(checkNameSegments("protocol id", resource, segments));
  return std::string(resource);
}

// fs paths: absolute; "." segments, repeated and trailing '/' are normalized away; ".." is
// refused (no way out of the prefix a grant names). "/" is the root; "/*" is everything.
Result<std::string> normalizePath(std::string_view resource) {
  if (!resource.starts_with('/')) {
    return fail(Errc::kMalformed, "path \"" + printable(resource) + "\" must be absolute (start with '/')");
  }
  std::vector<std::string_view> kept;
  const auto segments = split(resource.substr(1), '/');
  AE_TRY(checkSegmentCount(segments.size()));
  bool glob = false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view seg = segments[i];
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      return fail(Errc::kMalformed, "path \"" + printable(resource) + "\" has a \"..\" segment");
    }
    if (seg == "*") {
      // Only the last non-empty segment may be the glob.
      bool last = true;
      for (std::size_t j = i + 1; j < segments.size(); ++j) {
        if (!segments[j].empty() && segments[j] != ".") last = false;
      }
      if (!last) {
        return fail(Errc::kMalformed, "path \"" + printable(resource) +
                                          "\": '*' may only be the whole last segment");
      }
      glob = true;
      continue;
    }
    for (char c : seg) {
      if (c == '*') {
        return fail(Errc::kMalformed, "path \"" + printable(resource) +
                                          "\": '*' may only be the whole last segment");
      }
      if (!isUnreserved(c)) return badChar("path", resource, c);
    }
    kept.push_back(seg);
  }
  std::string out = "/" + join(kept, "/");
  if (glob) out += kept.empty() ? "*" : "/*";
  return out;
}

// ---- URLs ----

bool isAllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

// Host of an http(s) URL, lower-cased: a DNS name of LDH labels, a dotted-quad IPv4 address or
// a bracketed IPv6 address (written as inet_ntop writes it).
Result<std::string> normalizeHost(std::string_view url, std::string_view host) {
  if (host.empty()) return fail(Errc::kMalformed, "URL \"" + printable(url) + "\" has no host");
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) {
      return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": unterminated IPv6 address");
    }
    const std::string inner(host.substr(1, host.size() - 2));
    in6_addr addr{};
    if (inner.find('%') != std::string::npos || inet_pton(AF_INET6, inner.c_str(), &addr) != 1) {
      return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": bad IPv6 address");
    }
    char buf[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET6, &addr, buf, sizeof buf) == nullptr) {
      return fail(Errc::kInternal, "inet_ntop failed");
    }
    return "[" + std::string(buf) + "]";
  }
  if (host.size() > 253) {
    return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": host name longer than 253");
  }
  std::string lower;
  lower.reserve(host.size());
  for (char c : host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!(isLowerAlpha(c) || isDigit(c) || c == '-' || c == '.')) {
      return fail(Errc::kMalformed, "URL \"" + printable(url) +
                                        "\": host may hold only letters, digits, '-' and '.' "
                                        "(internationalized names in their xn-- form)");
    }
    lower += c;
  }
  const auto labels = split(lower, '.');
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": bad host label \"" +
                                        std::string(label) + "\"");
    }
  }
  // WHATWG URL parsers read a host whose last label is numeric as an IPv4 address (in decimal,
  // octal or hex parts), so accept such hosts only as the canonical dotted quad.
  const std::string_view last = labels.back();
  const bool numericLast = isAllDigits(last) || (last.size() >= 2 && last[0] == '0' && last[1] == 'x');
  if (numericLast) {
    bool quad = labels.size() == 4;
    for (std::string_view l : labels) {
      unsigned v = 0;
      const auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), v);
      if (!isAllDigits(l) || ec != std::errc() || p != l.data() + l.size() || v > 255 ||
          (l.size() > 1 && l[0] == '0')) {
        quad = false;
      }
    }
    if (!quad) {
      return fail(Errc::kMalformed, "URL \"" + printable(url) +
                                        "\": a numeric host must be a dotted-quad IPv4 address "
                                        "without leading zeros");
    }
  }
  return lower;
}

// http(s)://host[:port]/path[/*]: scheme and host lower case, no default port, "/" for an
// empty path, percent-encodings in upper case and decoded where they encode an unreserved
// character, "." segments removed. Refused: other schemes, userinfo, a query or fragment, "..",
// empty segments other than a trailing one, and '*' except as the whole last segment.
Result<std::string> normalizeUrl(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return fail(Errc::kMalformed, "URL \"" + printable(url) + "\" needs scheme://host");
  }
  std::string scheme;
  for (char c : url.substr(0, sep)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!(isLowerAlpha(c) || (!scheme.empty() && (isDigit(c) || c == '+' || c == '-' || c == '.')))) {
      return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": bad scheme");
    }
    scheme += c;
  }
  if (scheme != "http" && scheme != "https") {
    return fail(Errc::kUnsupported, "URL scheme \"" + scheme + "\" is not supported (http, https)");
  }
  const std::string_view rest = url.substr(sep + 3);
  const std::size_t authEnd = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authEnd);
  const std::string_view pathAndMore =
      authEnd == std::string_view::npos ? std::string_view() : rest.substr(authEnd);
  if (authority.find('@') != std::string_view::npos) {
    return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": userinfo (user@) is not allowed");
  }
  if (pathAndMore.find('?') != std::string_view::npos) {
    return fail(Errc::kMalformed, "URL \"" + printable(url) +
                                      "\": a query is not part of a resource (the host checks "
                                      "the URL without it)");
  }
  if (pathAndMore.find('#') != std::string_view::npos) {
    return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": a fragment is not allowed");
  }
  // host[:port]
  std::string_view hostPart = authority;
  std::string_view portPart;
  bool hasPort = false;
  const std::size_t close = authority.rfind(']');
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    hostPart = authority.substr(0, colon);
    portPart = authority.substr(colon + 1);
    hasPort = true;
  }
  AE_ASSIGN_OR_RETURN(std::string host, normalizeHost(url, hostPart));
  std::string out = scheme + "://" + host;
  if (hasPort && !portPart.empty()) {
    unsigned port = 0;
    const auto [p, ec] = std::from_chars(portPart.data(), portPart.data() + portPart.size(), port);
    if (!isAllDigits(portPart) || portPart.size() > 5 || ec != std::errc() ||
        p != portPart.data() + portPart.size() || port == 0 || port > 65535) {
      return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": bad port");
    }
    const unsigned defaultPort = scheme == "https" ? 443 : 80;
    if (port != defaultPort) out += ":" + std::to_string(port);
  }
  if (pathAndMore.empty()) return out + "/";

  // Path: split into segments after the leading '/'.
  const auto segments = split(pathAndMore.substr(1), '/');
  AE_TRY(checkSegmentCount(segments.size()));
  std::vector<std::string> kept;
  bool glob = false;
  bool trailingSlash = false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view raw = segments[i];
    const bool last = i + 1 == segments.size();
    if (raw == "*") {
      if (!last) {
        return fail(Errc::kMalformed, "URL \"" + printable(url) +
                                          "\": '*' may only be the whole last segment");
      }
      glob = true;
      break;
    }
    std::string seg;
    for (std::size_t j = 0; j < raw.size(); ++j) {
      const char c = raw[j];
      if (c == '%') {
        if (j + 2 >= raw.size()) {
          return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": truncated %-escape");
        }
        const int h = hexValue(raw[j + 1]);
        const int l = hexValue(raw[j + 2]);
        if (h < 0 || l < 0) {
          return fail(Errc::kMalformed, "URL \"" + printable(url) + "\": bad %-escape");
        }
        const char decoded = static_cast<char>(h * 16 + l);
        if (isUnreserved(decoded)) {
          seg += decoded;
        } else {
          static constexpr char kHex[] = "0123456789ABCDEF";
          seg += '%';
          seg += kHex[h];
          seg += kHex[l];
        }
        j += 2;
        continue;
      }
      if (c == '*') {
        return fail(Errc::kMalformed, "URL \"" + printable(url) +
                                          "\": '*' may only be the whole last segment (write a "
                                          "literal star as %2A)");
      }
      if (!(isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@')) {
        return badChar("URL", url, c);
      }
      seg += c;
    }
    if (seg == "..") {
      return fail(Errc::kMalformed, "URL \"" + printable(url) + "\" has a \"..\" segment");
    }
    if (seg == ".") {
      if (last) trailingSlash = true;  // "/a/." is "/a/"
      continue;
    }
    if (seg.empty()) {
      if (last) {
        trailingSlash = true;
        continue;
      }
      return fail(Errc::kMalformed, "URL \"" + printable(url) +
                                        "\" has an empty path segment (\"//\")");
    }
    kept.push_back(std::move(seg));
  }
  for (const std::string& seg : kept) out += "/" + seg;
  if (glob) {
    out += "/*";
  } else if (kept.empty() || trailingSlash) {
    out += "/";
  }
  return out;
}

Result<std::string> normalizeFor(ResourceKind kind, std::string_view resource) {
  if (resource.empty()) return fail(Errc::kMalformed, "resource is empty");
  if (resource.size() > kMaxResourceLength) {
    return fail(Errc::kLimitExceeded,
                "resource is longer than " + std::to_string(kMaxResourceLength));
  }
  switch (kind) {
    case ResourceKind::kKey: return normalizeName("key", resource);
    case ResourceKind::kTopic: return normalizeName("topic", resource);
    case ResourceKind::kPath: return normalizePath(resource);
    case ResourceKind::kUrl: return normalizeUrl(resource);
    case ResourceKind::kProtocol: return normalizeProtocol(resource);
  }
  return fail(Errc::kInternal, "unknown resource kind");
}

}  // namespace

std::span<const RightNamespace> rightNamespaces() { return kNamespaces; }

Status validateRight(std::string_view right) {
  AE_TRY(parseRight(right));
  return {};
}

Result<std::string> normalizeResource(std::string_view right, std::string_view resource) {
  AE_ASSIGN_OR_RETURN(ParsedRight r, parseRight(right));
  return normalizeFor(r.ns->kind, resource);
}

Result<Capability> Capability::parse(std::string_view right, std::string_view resource) {
  AE_ASSIGN_OR_RETURN(ParsedRight r, parseRight(right));
  AE_ASSIGN_OR_RETURN(std::string normal, normalizeFor(r.ns->kind, resource));
  if (normal != resource) {
    return fail(Errc::kNonCanonical, "resource \"" + printable(resource) +
                                         "\" is not in normal form; write \"" + normal + "\"");
  }
  return Capability(std::string(right), std::move(normal), r.ns->kind);
}

Result<Capability> Capability::parse(std::string_view text) {
  const std::size_t sp = text.find(' ');
  if (sp == std::string_view::npos) {
    return fail(Errc::kMalformed, "capability \"" + printable(text) + "\" is not \"RIGHT RESOURCE\"");
  }
  return parse(text.substr(0, sp), text.substr(sp + 1));
}

std::string_view Capability::rightNamespace() const {
  return std::string_view(right_).substr(0, right_.find('.'));
}

std::string_view Capability::ability() const {
  return std::string_view(right_).substr(right_.find('.') + 1);
}

std::string_view Capability::resourcePrefix() const {
  std::string_view r = resource_;
  if (isResourceGlob()) r.remove_suffix(1);
  return r;
}

namespace {

bool rightCovers(const Capability& granted, const Capability& requested) {
  if (granted.right() == requested.right()) return true;
  return granted.isRightWildcard() && granted.rightNamespace() == requested.rightNamespace();
}

bool resourceCovers(const Capability& granted, const Capability& requested) {
  if (!granted.isResourceGlob()) {
    return !requested.isResourceGlob() && granted.resource() == requested.resource();
  }
  return requested.resource().starts_with(granted.resourcePrefix());
}

}  // namespace

bool covers(const Capability& granted, const Capability& requested) {
  return rightCovers(granted, requested) && resourceCovers(granted, requested);
}

bool overlaps(const Capability& a, const Capability& b) {
  return (rightCovers(a, b) || rightCovers(b, a)) &&
         (resourceCovers(a, b) || resourceCovers(b, a));
}

bool coveredByAny(std::span<const Capability> granted, const Capability& requested) {
  return std::any_of(granted.begin(), granted.end(),
                     [&requested](const Capability& g) { return covers(g, requested); });
}

// ---- UCAN mapping ----

UcanCapability toUcan(const Capability& capability) {
  const std::string ns(capability.rightNamespace());
  UcanCapability out;
  out.with = capability.resourceKind() == ResourceKind::kUrl ? capability.resource()
                                                             : ns + ":" + capability.resource();
  out.can = ns + "/" + std::string(capability.ability());
  return out;
}

Result<Capability> fromUcan(std::string_view with, std::string_view can) {
  if (can == "*") {
    return fail(Errc::kUnsupported, "the superuser ability \"*\" is not supported");
  }
  const std::size_t slash = can.find('/');
  if (slash == std::string_view::npos) {
    return fail(Errc::kMalformed, "ability \"" + printable(can) + "\" is not namespace/ability");
  }
  const std::string_view ns = can.substr(0, slash);
  if (std::none_of(kNamespaces.begin(), kNamespaces.end(),
                   [ns](const RightNamespace& n) { return n.name == ns; })) {
    return fail(Errc::kUnsupported, "ability namespace \"" + printable(ns) + "\" is not one of ours");
  }
  const std::string right = std::string(ns) + "." + std::string(can.substr(slash + 1));
  AE_ASSIGN_OR_RETURN(ParsedRight r, parseRight(right));
  std::string_view resource;
  if (r.ns->kind == ResourceKind::kUrl) {
    resource = with;
  } else {
    const std::string prefix = std::string(ns) + ":";
    if (!with.starts_with(prefix)) {
      return fail(Errc::kUnsupported, "resource \"" + printable(with) + "\" for ability \"" +
                                          printable(can) + "\" must start with \"" + prefix + "\"");
    }
    resource = with.substr(prefix.size());
  }
  return Capability::parse(right, resource);
}

}  // namespace aether::cap
