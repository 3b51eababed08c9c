// The bundled hello guest, compiled by clang for wasm32, runs in the sandbox and greets
// through the host API.
#include "guests/guests.h"

#include <gtest/gtest.h>

#include "sandbox/sandbox.h"

namespace aether {
namespace {

TEST(HelloGuest, PrintsGreetingWithNodeDid) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  std::string out;
  sandbox::HostContext host{.node_did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                            .print = [&out](std::string_view s) { out += s; }};
  auto r = engine->run(guests::helloWasm(), "run", host, sandbox::Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
  EXPECT_EQ(out,
            "Hello from a sandboxed Wasm guest! The node hosting me is "
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK.\n");
}

TEST(HelloGuest, FailsCleanlyWhenDidDoesNotFit) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  sandbox::HostContext host{.node_did = std::string(1000, 'x'), .print = nullptr};
  auto r = engine->run(guests::helloWasm(), "run", host, sandbox::Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, static_cast<int32_t>(sandbox::HostStatus::kBufferTooSmall));
}

}  // namespace
}  // namespace aether
