// guests: Wasm programs bundled inside the aether binary (built from guests/*/ at build time).
// Immutable data; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace aether::guests {

extern const std::uint8_t hello_data[];
extern const std::size_t hello_size;

// guests/hello/hello.c: prints a greeting with the node's DID through the host API.
inline std::span<const std::uint8_t> helloWasm() { return {hello_data, hello_size}; }

}  // namespace aether::guests
