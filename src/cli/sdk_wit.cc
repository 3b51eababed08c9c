// sdk/wit/host.wit as text (embedded by src/cli/CMakeLists.txt through guests/embed.cmake).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/cli.h"

namespace aether::guests {
extern const std::uint8_t sdk_host_wit_data[];
extern const std::size_t sdk_host_wit_size;
}  // namespace aether::guests

namespace aether::cli {

std::string_view sdkHostWit() {
  return {reinterpret_cast<const char*>(guests::sdk_host_wit_data), guests::sdk_host_wit_size};
}

}  // namespace aether::cli
