// Smoke tests for the Wasmtime embedding: a WAT guest calls host functions from C++, and
// every way a guest can misbehave ends in a typed error, not a crash.
#include "sandbox/sandbox.h"

#include <gtest/gtest.h>

#include <cstring>

namespace aether::sandbox {
namespace {

ByteView wat(std::string_view text) { return asBytes(text); }

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = Engine::create();
    ASSERT_TRUE(e) << e.error().toString();
    engine_ = std::make_unique<Engine>(std::move(*e));
    host_.node_did = "did:key:z6MkTest";
    host_.print = [this](std::string_view s) { printed_ += s; };
  }
  std::unique_ptr<Engine> engine_;
  HostContext host_;
  std::string printed_;
};

TEST_F(SandboxTest, GuestCallsHostPrint) {
  auto r = engine_->run(wat(R"((module
      (import "aether" "print" (func $print (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hello from wasm")
      (func (export "run") (result i32)
        (call $print (i32.const 16) (i32.const 15)))))"),
                        "run", host_, Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
  EXPECT_EQ(printed_, "hello from wasm");
  EXPECT_GT(r->fuel_used, 0u);
  EXPECT_TRUE(r->host_errors.empty());
}

TEST_F(SandboxTest, GuestReadsNodeDidThroughHost) {
  auto r = engine_->run(wat(R"((module
      (import "aether" "node_did" (func $did (param i32 i32) (result i32)))
      (import "aether" "print" (func $print (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "run") (result i32) (local $n i32)
        (local.set $n (call $did (i32.const 100) (i32.const 200)))
        (drop (call $print (i32.const 100) (local.get $n)))
        (local.get $n))))"),
                        "run", host_, Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(printed_, "did:key:z6MkTest");
  EXPECT_EQ(r->value, 16);
}

struct BadCall {
  const char* name;
  const char* call;  // body calling print/node_did, result returned from "run"
  HostStatus expected;
};

TEST_F(SandboxTest, HostRejectsBadPointersWithoutTrapping) {
  const BadCall kCases[] = {
      {"ptr past end", "(call $print (i32.const 65536) (i32.const 1))", HostStatus::kOutOfBounds},
      {"len past end", "(call $print (i32.const 65000) (i32.const 1000))", HostStatus::kOutOfBounds},
      {"u32 wrap-around", "(call $print (i32.const -1) (i32.const 2))", HostStatus::kOutOfBounds},
      {"huge len", "(call $print (i32.const 0) (i32.const -1))", HostStatus::kOutOfBounds},
      {"invalid utf-8", "(call $print (i32.const 0) (i32.const 2))", HostStatus::kInvalidUtf8},
      {"did buffer too small", "(call $did (i32.const 0) (i32.const 3))", HostStatus::kBufferTooSmall},
      {"did ptr out of range", "(call $did (i32.const 65530) (i32.const 100))", HostStatus::kOutOfBounds},
  };
  for (const auto& c : kCases) {
    std::string module = std::string(R"((module
        (import "aether" "print" (func $print (param i32 i32) (result i32)))
        (import "aether" "node_did" (func $did (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\c3\28")
        (func (export "run") (result i32) )") + c.call + "))";
    auto r = engine_->run(asBytes(module), "run", host_, Limits{});
    ASSERT_TRUE(r) << c.name << ": " << r.error().toString();
    EXPECT_EQ(r->value, static_cast<int32_t>(c.expected)) << c.name;
    EXPECT_EQ(r->host_errors.size(), 1u) << c.name;
  }
  EXPECT_EQ(printed_, "");
}

TEST_F(SandboxTest, GuestWithoutMemoryGetsError) {
  auto r = engine_->run(wat(R"((module
      (import "aether" "print" (func $print (param i32 i32) (result i32)))
      (func (export "run") (result i32) (call $print (i32.const 0) (i32.const 0)))))"),
                        "run", host_, Limits{});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, static_cast<int32_t>(HostStatus::kNoMemory));
}

TEST_F(SandboxTest, InfiniteLoopRunsOutOfFuel) {
  auto r = engine_->run(wat(R"((module (func (export "run") (loop (br 0)))))"), "run", host_,
                        Limits{.fuel = 100'000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kLimitExceeded) << r.error().toString();
}

TEST_F(SandboxTest, MemoryGrowBeyondLimitFails) {
  auto r = engine_->run(wat(R"((module (memory 1)
      (func (export "run") (result i32) (memory.grow (i32.const 100)))))"),
                        "run", host_, Limits{.max_memory_bytes = 1 << 20});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, -1);  // 1 page + 100 pages > 1 MiB: grow refused, not trapped
}

TEST_F(SandboxTest, TrapsAndBadModulesAreErrors) {
  const std::pair<const char*, const char*> kCases[] = {
      {"unreachable", R"((module (func (export "run") unreachable)))"},
      {"div by zero", R"((module (func (export "run") (result i32) (i32.div_u (i32.const 1) (i32.const 0)))))"},
      {"bad wat", "(module (func"},
      {"bad binary", "\0asm\x01\0\0\0\xff"},
      {"unknown import", R"((module (import "env" "system" (func)) (func (export "run"))))"},
      {"wrong import type", R"((module (import "aether" "print" (func (param i64))) (func (export "run"))))"},
      {"missing entry", R"((module (func (export "main"))))"},
      {"entry with params", R"((module (func (export "run") (param i32))))"},
  };
  for (auto [name, text] : kCases) {
    std::string_view sv(text, name == std::string_view("bad binary") ? 9 : std::strlen(text));
    auto r = engine_->run(asBytes(sv), "run", host_, Limits{});
    EXPECT_FALSE(r) << name;
  }
}

}  // namespace
}  // namespace aether::sandbox
