// libFuzzer target: the request-facing parsers of the identity service — a request body through
// parseStrictJson, DID syntax, and DID-document key extraction (authenticationKeys).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/internal.h"
#include "identity/identity.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)aether::api::checkDidSyntax(text);
  auto doc = aether::identity::parseStrictJson(text, 32, aether::Errc::kLimitExceeded, "fuzz");
  if (!doc) return 0;
  auto keys = aether::api::authenticationKeys(*doc);
  if (keys && (keys->empty() || keys->size() > aether::api::kMaxAuthKeys)) __builtin_trap();
  return 0;
}
