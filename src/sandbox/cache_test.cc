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

}  // namespace
}  // namespace aether::sandbox
