// The bundled guests run in the sandbox and greet through the host API: the core module
// (clang wasm32, `aether.*` imports) and the component (C + wit-bindgen + wasi-libc + the
// preview1 adapter, world aether:host/app).
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

constexpr std::string_view kDid = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

TEST(HelloComponent, LogsGreetingWithNodeDidThroughHostFunction) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  std::vector<std::pair<sandbox::LogLevel, std::string>> logged;
  std::string out;
  sandbox::HostContext host{
      .node_did = std::string(kDid),
      .print = [&out](std::string_view s) { out += s; },
      .log = [&logged](sandbox::LogLevel level, std::string_view s) { logged.emplace_back(level, std::string(s)); }};
  auto r = engine->runComponent(guests::helloComponent(), host, sandbox::Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0) << r->guest_error;
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].first, sandbox::LogLevel::kInfo);
  EXPECT_EQ(logged[0].second,
            "Hello from a sandboxed Wasm component! The node hosting me is " + std::string(kDid) + ".");
  // WASI stdout, captured into `print`.
  EXPECT_EQ(out, "Goodbye from WASI stdout.\n");
  EXPECT_GT(r->fuel_used, 0u);
  EXPECT_TRUE(r->host_errors.empty());
}

TEST(HelloComponent, ReportsErrWhenDidDoesNotFit) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  sandbox::HostContext host{.node_did = std::string(1000, 'x'), .print = nullptr};
  auto r = engine->runComponent(guests::helloComponent(), host, sandbox::Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error, "the node DID does not fit in my greeting");
}

TEST(HelloComponent, SeesHostErrorWhenOutputLimitIsHit) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  sandbox::HostContext host{.node_did = std::string(kDid), .print = nullptr};
  sandbox::Limits limits;
  limits.max_output_bytes = 16;
  auto r = engine->runComponent(guests::helloComponent(), host, limits);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error, "log.write refused my greeting: output limit of 16 bytes reached");
}

TEST(HelloComponent, FuelExhaustionIsLimitExceeded) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  sandbox::HostContext host{.node_did = std::string(kDid), .print = nullptr};
  auto r = engine->runComponent(guests::helloComponent(), host, sandbox::Limits{.fuel = 1000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kLimitExceeded) << r.error().toString();
}

// The two kinds of guest are not interchangeable, and mixing them up is an error, not a crash.
TEST(HelloComponent, KindsAreNotInterchangeable) {
  auto engine = sandbox::Engine::create();
  ASSERT_TRUE(engine);
  sandbox::HostContext host{.node_did = std::string(kDid), .print = nullptr};
  auto as_component = engine->runComponent(guests::helloWasm(), host, sandbox::Limits{});
  ASSERT_FALSE(as_component);
  EXPECT_EQ(as_component.error().code, Errc::kInvalidArgument);
  auto as_module = engine->run(guests::helloComponent(), "run", host, sandbox::Limits{});
  ASSERT_FALSE(as_module);
  EXPECT_EQ(as_module.error().code, Errc::kWasm);
}

}  // namespace
}  // namespace aether
