// did:web identifiers (W3C CCG did:web method, "Read (Resolve)"): DID -> HTTPS URL, and the
// resolve route's did:web detection. No network here (didweb_resolver.cc fetches); fuzzed by
// api_fuzz.cc.
#include <cctype>
#include <optional>

#include "api/api.h"
#include "api/internal.h"

namespace aether::api {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one did:web component; refuses bad escapes and control bytes.
Result<std::string> decodeComponent(std::string_view s, std::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return fail(Errc::kMalformed, std::string(what) + ": bad percent-encoding");
      const int hi = hexValue(s[i + 1]);
      const int lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return fail(Errc::kMalformed, std::string(what) + ": bad percent-encoding");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return fail(Errc::kMalformed, std::string(what) + ": control character or space");
    }
    out.push_back(c);
  }
  return out;
}

bool isDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    if (label == 0 && c == '-') return false;
    if (++label > 63) return false;
  }
  return host.back() != '-';
}

}  // namespace

Result<DidWebLocation> didWebLocation(std::string_view did) {
  AE_TRY(checkDidSyntax(did));
  constexpr std::string_view kPrefix = "did:web:";
  if (!did.starts_with(kPrefix)) return fail(Errc::kInvalidArgument, "not a did:web DID");
  std::string_view rest = did.substr(kPrefix.size());
  std::vector<std::string_view> parts;
  for (;;) {
    const auto colon = rest.find(':');
    parts.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  AE_ASSIGN_OR_RETURN(std::string authority, decodeComponent(parts[0], "did:web domain"));
  DidWebLocation loc;
  const auto colon = authority.find(':');
  loc.host = authority.substr(0, colon);
  for (char& c : loc.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (colon != std::string::npos) {
    const std::string p = authority.substr(colon + 1);
    unsigned value = 0;
    if (p.empty() || p.size() > 5) return fail(Errc::kMalformed, "did:web port: \"" + p + "\" is not a port number");
    for (char c : p) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return fail(Errc::kMalformed, "did:web port: \"" + p + "\" is not a port number");
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return fail(Errc::kMalformed, "did:web port: " + p + " is out of range");
    loc.port = static_cast<std::uint16_t>(value);
  }
  if (!isDnsName(loc.host)) {
    return fail(Errc::kMalformed, "did:web domain: \"" + loc.host + "\" is not a host name or IPv4 address");
  }
  if (parts.size() == 1) {
    loc.path = "/.well-known/did.json";
  } else {
    for (std::size_t i = 1; i < parts.size(); ++i) {
      AE_ASSIGN_OR_RETURN(std::string segment, decodeComponent(parts[i], "did:web path"));
      if (segment.empty() || segment == "." || segment == ".." ||
          segment.find_first_of("/?#%\\") != std::string::npos) {
        return fail(Errc::kMalformed, "did:web path: bad segment \"" + segment + "\"");
      }
      loc.path += "/" + segment;
    }
    loc.path += "/did.json";
  }
  return loc;
}

std::string DidWebLocation::url() const {
  return "https://" + host + (port == 443 ? "" : ":" + std::to_string(port)) + path;
}

std::optional<std::string> didWebOfResolveTarget(std::string_view method, std::string_view target) {
  if (method != "GET" && method != "HEAD") return std::nullopt;
  constexpr std::string_view kPrefix = "/v1/identity/";
  const std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with(kPrefix)) return std::nullopt;
  auto did = decodeComponent(path.substr(kPrefix.size()), "did");
  // The DID is percent-decoded once (the route's rule); what remains is did:web's own encoding.
  if (!did || !did->starts_with("did:web:")) return std::nullopt;
  return std::move(*did);
}

HttpResponse didWebAnswer(const Result<nlohmann::json>& document) {
  if (document) {
    HttpResponse r;
    r.contentType = "application/did+json";
    r.body = document->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  const Error& e = document.error();
  switch (e.code) {
    case Errc::kMalformed:  // the DID itself (a bad document is the host's fault: kIntegrity)
    case Errc::kInvalidArgument: return problem(400, e.message, "malformed");
    case Errc::kNotFound: return problem(404, e.message, "not-found");
    case Errc::kPermissionDenied: return problem(403, e.message, "forbidden");  // this node's policy
    case Errc::kLimitExceeded:
      if (e.message.starts_with("too many")) return problem(503, e.message, "limit-exceeded");
      return problem(502, e.message, "did-web-unavailable");
    default: return problem(502, e.message, "did-web-unavailable");
  }
}

}  // namespace aether::api
