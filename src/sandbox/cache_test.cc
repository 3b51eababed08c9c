// The compiled-component cache: a second run loads instead of compiling; a tampered entry, an
// entry written under another key, or a truncated one is recompiled (never deserialized).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "guests/guests.h"
#include "sandbox/sandbox.h"

namespace aether::sandbox {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aether-cache-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Result<RunResult> runHello(const Engine& e, std::string* out) {
  HostContext host{.node_did = "did:key:z6MkCache", .print = [out](std::string_view s) { *out += s; }};
  return e.runComponent(guests::helloComponent(), host, Limits{});
}

fs::path onlyEntry(const fs::path& dir) {
  fs::path found;
  for (const auto& f : fs::directory_iterator(dir)) found = f.path();
  return found;
}

TEST(ComponentCache, SecondRunLoadsInsteadOfCompiling) {
  TempDir dir;
  auto e = Engine::create(EngineOptions{dir.path / "cache", Bytes(32, 7)});
  ASSERT_TRUE(e) << e.error().toString();
  std::string out1, out2;
  ASSERT_TRUE(runHello(*e, &out1));
  EXPECT_EQ(e->stats().compiles, 1u);
  EXPECT_EQ(e->stats().cache_hits, 0u);
  const fs::path entry = onlyEntry(dir.path / "cache");
  ASSERT_FALSE(entry.empty());
  EXPECT_EQ(entry.extension(), ".cwasm");
  EXPECT_EQ(fs::status(entry).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  // A new engine (a new process, in effect) finds it.
  auto e2 = Engine::create(EngineOptions{dir.path / "cache", Bytes(32, 7)});
  ASSERT_TRUE(runHello(*e2, &out2));
  EXPECT_EQ(e2->stats().compiles, 0u);
  EXPECT_EQ(e2->stats().cache_hits, 1u);
  EXPECT_EQ(out1, out2);
}

TEST(ComponentCache, TamperedForeignAndTruncatedEntriesAreRecompiled) {
  TempDir dir;
  const fs::path cache = dir.path / "cache";
  {
    auto e = Engine::create(EngineOptions{cache, Bytes(32, 7)});
    std::string out;
    ASSERT_TRUE(runHello(*e, &out));
  }
  const fs::path entry = onlyEntry(cache);
  std::string original;
  {
    std::ifstream in(entry, std::ios::binary);
    original.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  auto rewrite = [&](const std::string& bytes) { std::ofstream(entry, std::ios::binary | std::ios::trunc) << bytes; };
  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x10;
  for (const std::string& bad : {flipped, original.substr(0, original.size() / 3), std::string("junk")}) {
    rewrite(bad);
    auto e = Engine::create(EngineOptions{cache, Bytes(32, 7)});
    std::string out;
    auto r = runHello(*e, &out);
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(e->stats().cache_rejects, 1u);
    EXPECT_EQ(e->stats().compiles, 1u);
  }
  // Written under another key: rejected too.
  auto other = Engine::create(EngineOptions{cache, Bytes(32, 8)});
  std::string out;
  ASSERT_TRUE(runHello(*other, &out));
  EXPECT_EQ(other->stats().cache_rejects, 1u);
  EXPECT_EQ(Engine::create(EngineOptions{cache, Bytes(16, 1)}).error().code, Errc::kInvalidArgument);
}

constexpr std::string_view kModule = R"((module (func (export "run") (result i32) (i32.const 42))))";

TEST(ModuleCache, CoreModulesAreCachedAndAuthenticatedToo) {
  TempDir dir;
  const fs::path cache = dir.path / "cache";
  HostContext host{.node_did = "did:key:z6MkCache", .print = nullptr};
  {
    auto e = Engine::create(EngineOptions{cache, Bytes(32, 7)});
    ASSERT_TRUE(e) << e.error().toString();
    auto r = e->run(asBytes(kModule), "run", host, Limits{});
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(r->value, 42);
    EXPECT_EQ(e->stats().module_compiles, 1u);
    EXPECT_EQ(e->stats().module_cache_hits, 0u);
  }
  const fs::path entry = onlyEntry(cache);
  EXPECT_EQ(entry.extension(), ".cwasm-module");
  EXPECT_EQ(fs::status(entry).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  {
    auto e = Engine::create(EngineOptions{cache, Bytes(32, 7)});
    auto r = e->run(asBytes(kModule), "run", host, Limits{});
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(r->value, 42);
    EXPECT_EQ(e->stats().module_compiles, 0u);
    EXPECT_EQ(e->stats().module_cache_hits, 1u);
  }
  // A flipped byte: recompiled, not deserialized.
  std::string bytes;
  {
    std::ifstream in(entry, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  bytes[bytes.size() - 10] ^= 0x01;
  std::ofstream(entry, std::ios::binary | std::ios::trunc) << bytes;
  auto e = Engine::create(EngineOptions{cache, Bytes(32, 7)});
  auto r = e->run(asBytes(kModule), "run", host, Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(e->stats().cache_rejects, 1u);
  EXPECT_EQ(e->stats().module_compiles, 1u);
}

TEST(CompiledComponent, CompiledOnceRunManyTimes) {
  auto e = Engine::create();
  ASSERT_TRUE(e) << e.error().toString();
  EXPECT_TRUE(e->stats().pooling);
  auto c = e->compileComponent(guests::helloComponent());
  ASSERT_TRUE(c) << c.error().toString();
  for (int i = 0; i < 3; ++i) {
    std::string out;
    HostContext host{.node_did = "did:key:z6MkCache", .print = [&out](std::string_view s) { out += s; }};
    auto r = e->runComponent(*c, host, Limits{});
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_NE(out.find("Hello from a sandboxed Wasm component"), std::string::npos) << out;
  }
  EXPECT_EQ(e->stats().compiles, 1u);
  // Another engine's artifact is refused, not instantiated.
  auto other = Engine::create();
  HostContext host{.node_did = "did:key:z6MkCache", .print = nullptr};
  auto r = other->runComponent(*c, host, Limits{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

TEST(Pooling, OnDemandAllocationStillWorks) {
  EngineOptions options;
  options.pooling = false;
  auto e = Engine::create(options);
  ASSERT_TRUE(e) << e.error().toString();
  EXPECT_FALSE(e->stats().pooling);
  std::string out;
  ASSERT_TRUE(runHello(*e, &out));
  EXPECT_NE(out.find("Hello from a sandboxed Wasm component"), std::string::npos);
}

TEST(Pooling, MoreConcurrentGuestsThanSlotsIsALimitNotACrash) {
  EngineOptions options;
  options.pool_slots = 1;
  auto e = Engine::create(options);
  ASSERT_TRUE(e) << e.error().toString();
  ASSERT_TRUE(e->stats().pooling);
  // One slot: sequential runs reuse it.
  for (int i = 0; i < 3; ++i) {
    std::string out;
    auto r = runHello(*e, &out);
    ASSERT_TRUE(r) << r.error().toString();
  }
  // A second guest while the first still runs: the first guest's print callback starts it.
  std::optional<Result<RunResult>> nested;
  HostContext host{.node_did = "did:key:z6MkCache", .print = [&](std::string_view) {
    if (!nested) {
      std::string ignored;
      nested = runHello(*e, &ignored);
    }
  }};
  auto outer = e->runComponent(guests::helloComponent(), host, Limits{});
  ASSERT_TRUE(outer) << outer.error().toString();
  ASSERT_TRUE(nested.has_value());
  ASSERT_FALSE(*nested);
  EXPECT_EQ(nested->error().code, Errc::kLimitExceeded) << nested->error().toString();
  EXPECT_NE(nested->error().message.find("too many guests"), std::string::npos) << nested->error().message;
}

}  // namespace
}  // namespace aether::sandbox
