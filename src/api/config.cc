// The API's settings in the node home's config.toml ([api] listen = "ADDR:PORT"), read by the
// daemon (where to listen) and by the CLI's API clients (where to connect).
//
// toml++ is used header-only, in its no-exceptions mode, as in cap/manifest.cc (Debian's shared
// libtomlplusplus is built with exceptions); this file is its only user in api/.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "api/api.h"

namespace aether::api {

namespace {
constexpr std::size_t kMaxConfigBytes = 64 * 1024;
}  // namespace

Result<ListenAddress> parseListenAddress(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return fail(Errc::kInvalidArgument, "listen address wants ADDRESS:PORT, e.g. 127.0.0.1:8643, got \"" +
                                            std::string(text) + "\"");
  }
  ListenAddress out;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return fail(Errc::kInvalidArgument, "listen address: empty host in \"" + std::string(text) + "\"");
  out.host = std::string(host);
  const std::string_view p = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return fail(Errc::kInvalidArgument, "listen address: \"" + std::string(p) + "\" is not a port number (0-65535)");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

Result<ApiConfig> parseApiConfig(std::string_view tomlText) {
  if (tomlText.size() > kMaxConfigBytes) return fail(Errc::kLimitExceeded, "config.toml is larger than 64 KiB");
  // toml++ 3.3.0 reaches __builtin_unreachable on some non-ASCII input (see cap/manifest.cc's
  // AsciiToml; found here by api_fuzz): the node's config needs no non-ASCII, so refuse it.
  std::size_t line = 1;
  for (char c : tomlText) {
    if (c == '\n') ++line;
    if (static_cast<unsigned char>(c) >= 0x80) {
      return fail(Errc::kUnsupported, "line " + std::to_string(line) + ": config.toml must be ASCII");
    }
  }
  toml::parse_result parsed = toml::parse(tomlText);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return fail(Errc::kMalformed, "line " + std::to_string(e.source().begin.line) + ": " +
                                      std::string(e.description()));
  }
  const toml::table& table = parsed.table();
  ApiConfig config;
  const toml::node* api = table.get("api");
  if (api == nullptr) return config;
  if (!api->is_table()) return fail(Errc::kMalformed, "[api] must be a table");
  const toml::node* listen = api->as_table()->get("listen");
  if (listen == nullptr) return config;
  const auto* s = listen->as_string();
  if (s == nullptr) return fail(Errc::kMalformed, "api.listen must be a string \"ADDRESS:PORT\"");
  auto addr = parseListenAddress(s->get());
  if (!addr) return fail(Errc::kMalformed, "api.listen: " + addr.error().message);
  config.listen = std::move(*addr);
  return config;
}

Result<ApiConfig> readApiConfig(const std::filesystem::path& home) {
  const std::filesystem::path path = home / "config.toml";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return ApiConfig{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::kIo, "cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  auto config = parseApiConfig(ss.str());
  if (!config) return fail(config.error().code, path.string() + ": " + config.error().message);
  return config;
}

}  // namespace aether::api
