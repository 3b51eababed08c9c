#include "node/node.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace aether::node {
namespace {

namespace fs = std::filesystem;

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("aether-node-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
  }
  void TearDown() override { fs::remove_all(home_); }

  static PassphraseSource fixed(std::string pass, int* calls = nullptr) {
    return [pass, calls](std::string_view, bool) -> Result<std::string> {
      if (calls) ++*calls;
      return pass;
    };
  }
  static Bytes readFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  fs::path home_;
};

TEST_F(NodeTest, ResolveHomePrecedence) {
  Environment env{.aether_home = "/tmp/a", .home = "/home/u", .passphrase = std::nullopt};
  EXPECT_EQ(*resolveHome(std::string("/tmp/flag"), env), fs::path("/tmp/flag"));
  EXPECT_EQ(*resolveHome(std::nullopt, env), fs::path("/tmp/a"));
  env.aether_home.reset();
  EXPECT_EQ(*resolveHome(std::nullopt, env), fs::path("/home/u/.aether"));
  env.home.reset();
  EXPECT_EQ(resolveHome(std::nullopt, env).error().code, Errc::kInvalidArgument);
}

TEST_F(NodeTest, InitThenOpenGivesSameDidAndRunsHello) {
  auto created = Node::init(home_, KeyProtection::kPassphrase, fixed("correct horse"));
  ASSERT_TRUE(created) << created.error().toString();
  EXPECT_TRUE(isInitialized(home_));
  EXPECT_FALSE(created->insecureDev());
  EXPECT_TRUE(created->did().starts_with("did:key:z6Mk"));
  EXPECT_TRUE(fs::exists(home_ / "config.toml"));
  EXPECT_EQ(fs::status(home_).permissions() & fs::perms::all, fs::perms::owner_all);

  auto opened = Node::open(home_, fixed("correct horse"));
  ASSERT_TRUE(opened) << opened.error().toString();
  EXPECT_EQ(opened->did(), created->did());
  EXPECT_EQ(opened->key().publicKey(), created->key().publicKey());

  std::string out;
  auto r = opened->runHello([&out](std::string_view s) { out += s; });
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
  EXPECT_NE(out.find(created->did()), std::string::npos) << out;
}

TEST_F(NodeTest, SecondInitRefusesAndKeepsKey) {
  ASSERT_TRUE(Node::init(home_, KeyProtection::kInsecureDev, fixed("unused")));
  const Bytes before = readFile(home_ / "keystore" / "node.key");
  auto again = Node::init(home_, KeyProtection::kInsecureDev, fixed("unused"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kAlreadyExists);
  EXPECT_EQ(readFile(home_ / "keystore" / "node.key"), before);
}

TEST_F(NodeTest, WrongPassphraseFailsCleanlyAndLeavesKeystoreIntact) {
  ASSERT_TRUE(Node::init(home_, KeyProtection::kPassphrase, fixed("right")));
  const Bytes before = readFile(home_ / "keystore" / "node.key");
  auto opened = Node::open(home_, fixed("wrong"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kAuthFailed) << opened.error().toString();
  EXPECT_EQ(readFile(home_ / "keystore" / "node.key"), before);
  EXPECT_TRUE(Node::open(home_, fixed("right")));
}

TEST_F(NodeTest, InsecureDevNeverAsksForPassphrase) {
  int calls = 0;
  auto created = Node::init(home_, KeyProtection::kInsecureDev, fixed("x", &calls));
  ASSERT_TRUE(created);
  EXPECT_TRUE(created->insecureDev());
  auto opened = Node::open(home_, fixed("x", &calls));
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->insecureDev());
  EXPECT_EQ(calls, 0);
}

TEST_F(NodeTest, OpenWithoutInitIsNotFound) {
  auto opened = Node::open(home_, fixed("x"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::kNotFound) << opened.error().toString();
}

TEST_F(NodeTest, PassphraseSourceErrorPropagates) {
  auto created = Node::init(home_, KeyProtection::kPassphrase, [](std::string_view, bool) -> Result<std::string> {
    return fail(Errc::kInvalidArgument, "no terminal");
  });
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, Errc::kInvalidArgument);
  EXPECT_FALSE(isInitialized(home_));
}

}  // namespace
}  // namespace aether::node
