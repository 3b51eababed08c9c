// guests: Wasm programs bundled inside the aether binary (built from guests/*/ at build time).
// Immutable data; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace aether::guests {

extern const std::uint8_t hello_data[];
extern const std::size_t hello_size;

extern const std::uint8_t hello_component_data[];
extern const std::size_t hello_component_size;

extern const std::uint8_t probe_component_data[];
extern const std::size_t probe_component_size;

extern const std::uint8_t escape_component_data[];
extern const std::size_t escape_component_size;

extern const std::uint8_t streams_component_data[];
extern const std::size_t streams_component_size;

extern const std::uint8_t fsbomb_component_data[];
extern const std::size_t fsbomb_component_size;

// guests/hello/hello.c: prints a greeting with the node's DID through the host API.
inline std::span<const std::uint8_t> helloWasm() { return {hello_data, hello_size}; }

// guests/hello-component/hello.c, a WASI Preview 2 component of the world aether:host/app
// (sdk/wit/host.wit) for sandbox::Engine::runComponent: logs a greeting with the node's DID
// through aether:host/log, then writes "Goodbye from WASI stdout.\n" to stdout.
inline std::span<const std::uint8_t> helloComponent() { return {hello_component_data, hello_component_size}; }

// guests/probe-component/probe.c: calls every capability-gated aether:host function once and
// prints "<function> ok" or "<function> <host-error case> <text>" per call on stdout.
inline std::span<const std::uint8_t> probeComponent() { return {probe_component_data, probe_component_size}; }

// guests/escape-component/escape.c: tries to open host files through WASI; prints each attempt.
inline std::span<const std::uint8_t> escapeComponent() { return {escape_component_data, escape_component_size}; }

// guests/streams-component/streams.c: appends to its own signed stream "notes" and reads
// entries back (its own, and the node's stream "shared"); one line per call.
inline std::span<const std::uint8_t> streamsComponent() { return {streams_component_data, streams_component_size}; }

// guests/fsbomb-component/fsbomb.c: writes past the fs quota of its /data mount by every WASI
// path (streams, append, pwrite, ftruncate, new files); one line per attempt.
inline std::span<const std::uint8_t> fsbombComponent() { return {fsbomb_component_data, fsbomb_component_size}; }

}  // namespace aether::guests
