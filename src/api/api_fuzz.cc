// libFuzzer target: the request-facing parsers of the identity service — a request body through
// parseStrictJson, DID syntax, DID-document key extraction (authenticationKeys), and did:web
// identifiers (didWebLocation, the resolve route's didWebOfResolveTarget), and config.toml's
// [api] table (parseApiConfig, parseListenAddress).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/api.h"
#include "api/internal.h"
#include "identity/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)aether::api::checkDidSyntax(text);
  if (auto loc = aether::api::didWebLocation(text); loc) {
    // What the parser lets through must stay one origin and one path under it.
    if (loc->path.empty() || loc->path[0] != '/' || loc->path.find("/../") != std::string::npos ||
        loc->path.find_first_of("?#") != std::string::npos || loc->host.empty()) {
      __builtin_trap();
    }
  }
  (void)aether::api::didWebOfResolveTarget("GET", text);
  (void)aether::api::parseApiConfig(text);
  (void)aether::api::parseListenAddress(text);
  auto doc = aether::identity::parseStrictJson(text, 32, aether::Errc::kLimitExceeded, "fuzz");
  if (!doc) return 0;
  auto keys = aether::api::authenticationKeys(*doc);
  if (keys && (keys->empty() || keys->size() > aether::api::kMaxAuthKeys)) __builtin_trap();
  return 0;
}
