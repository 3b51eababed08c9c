// config.toml's [api] table and listen addresses.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "api/api.h"

namespace aether::api {
namespace {

namespace fs = std::filesystem;

TEST(ApiConfig, ListenAddresses) {
  auto a = parseListenAddress("127.0.0.1:8643");
  ASSERT_TRUE(a) << a.error().toString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8643);
  auto b = parseListenAddress("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  for (const char* bad : {"", "8643", ":8643", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x", "[]:1"}) {
    auto r = parseListenAddress(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
  }
}

TEST(ApiConfig, ReadsTheApiTable) {
  // What `aether init` writes, plus an [api] table.
  const std::string init = "# Aether node configuration.\nformat = 1\ncreated = \"2026-11-25T06:00:00Z\"\n\n[node]\ndid = \"did:key:z6Mk\"\n";
  auto none = parseApiConfig(init);
  ASSERT_TRUE(none) << none.error().toString();
  EXPECT_FALSE(none->listen);
  auto some = parseApiConfig(init + "\n[api]\nlisten = \"127.0.0.1:9000\"\n");
  ASSERT_TRUE(some) << some.error().toString();
  ASSERT_TRUE(some->listen);
  EXPECT_EQ(some->listen->port, 9000);
  EXPECT_TRUE(parseApiConfig("[api]\n")->listen == std::nullopt);

  struct Case {
    std::string text;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{{"[api]\nlisten = 9000\n", "must be a string"},
                                         {"[api]\nlisten = \"nowhere\"\n", "api.listen"},
                                         {"api = 1\n", "[api] must be a table"},
                                         {"[api\n", "line 1"},
                                         {"[api]\nlisten = \"a:1\"\nlisten = \"b:2\"\n", "line 3"}}) {
    auto r = parseApiConfig(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, Errc::kMalformed) << c.text;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(parseApiConfig(std::string(70 * 1024, '#')).error().code, Errc::kLimitExceeded);
}

TEST(ApiConfig, ReadsTheHomeFile) {
  std::string tmpl = (fs::temp_directory_path() / "aether-config-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path home(tmpl);
  auto absent = readApiConfig(home);  // no config.toml: defaults
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->listen);
  std::ofstream(home / "config.toml") << "[api]\nlisten = \"[::1]:8650\"\n";
  auto present = readApiConfig(home);
  ASSERT_TRUE(present) << present.error().toString();
  EXPECT_EQ(present->listen->host, "::1");
  std::ofstream(home / "config.toml") << "[api]\nlisten = 1\n";
  auto bad = readApiConfig(home);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find((home / "config.toml").string()), std::string::npos) << bad.error().message;
  fs::remove_all(home);
}

}  // namespace
}  // namespace aether::api
