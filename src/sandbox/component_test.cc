// Component runs (Engine::runComponent): hand-written WAT components exercise the host side of
// aether:host@0.1.0 and WASI Preview 2, and every way a component can misbehave ends in a typed
// error, not a crash. The C guest built with wit-bindgen is tested in guests/guests_test.cc.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/sandbox.h"

namespace aether::sandbox {
namespace {

ByteView wat(std::string_view text) { return asBytes(text); }

// A bump allocator module every test component instantiates first, so canonical-ABI lowerings
// (which need `memory` and `realloc`) can be created before the main module.
constexpr std::string_view kLibc = R"(
  (core module $libc
    (memory (export "memory") 3)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $libc (instantiate $libc))
)";

// Lifts core export "run" of instance $i as `run: func() -> result<_, string>`; the core
// function returns a pointer to the result in $libc's memory.
constexpr std::string_view kLiftRun = R"(
  (func (export "run") (result (result (error string)))
    (canon lift (core func $i "run") (memory (core memory $libc "memory"))))
)";

std::string component(std::string_view body) {
  return "(component " + std::string(kLibc) + std::string(body) + std::string(kLiftRun) + ")";
}

// A main module whose run() executes `code` and returns ok (a zeroed return area at 512).
std::string runReturningOk(std::string_view code) {
  return component(R"(
    (core module $m
      (import "libc" "memory" (memory 3))
      (func (export "run") (result i32) )" + std::string(code) + R"( (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc)))))");
}

class ComponentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = Engine::create();
    ASSERT_TRUE(e) << e.error().toString();
    engine_ = std::make_unique<Engine>(std::move(*e));
    host_.node_did = "did:key:z6MkTest";
    host_.print = [this](std::string_view s) { printed_ += s; };
  }
  Result<RunResult> run(std::string_view text, const Limits& limits = Limits{}) {
    return engine_->runComponent(wat(text), host_, limits);
  }
  std::unique_ptr<Engine> engine_;
  HostContext host_;
  std::string printed_;
};

TEST_F(ComponentTest, RunReturnsOk) {
  auto r = run(runReturningOk(""));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
  EXPECT_TRUE(r->guest_error.empty());
  EXPECT_GT(r->fuel_used, 0u);
}

TEST_F(ComponentTest, RunReturnsErrWithMessage) {
  // result<_, string> in memory: discriminant 1 at 512, string (ptr 600, len 4) at 516.
  auto r = run(component(R"(
    (core module $m
      (import "libc" "memory" (memory 3))
      (data (i32.const 512) "\01\00\00\00\58\02\00\00\04\00\00\00")
      (data (i32.const 600) "boom")
      (func (export "run") (result i32) (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc)))))"));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error, "boom");
}

// The guest gets the node DID from aether:host/identity.did and returns it as its err string.
TEST_F(ComponentTest, IdentityDidReachesGuest) {
  auto r = run(component(R"(
    (import "aether:host/identity@0.1.0" (instance $id (export "did" (func (result string)))))
    (core func $did (canon lower (func $id "did")
                 (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
    (core module $m
      (import "libc" "memory" (memory 3))
      (import "host" "did" (func $did (param i32)))
      (func (export "run") (result i32)
        (call $did (i32.const 516))
        (i32.store8 (i32.const 512) (i32.const 1))
        (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc))
                                      (with "host" (instance (export "did" (func $did)))))))"));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->guest_error, "did:key:z6MkTest");
}

// log.write(info, <len bytes at 65536>) — the text "hello world!" padded with NULs. run()
// returns ok if write did, else err(<the host-error's string>).
std::string logWriteComponent(int len) {
  return component(R"(
    (import "aether:host/log@0.1.0" (instance $log
      (type $level (enum "trace" "debug" "info" "warn" "error"))
      (export "level" (type $l (eq $level)))
      (type $herr (variant (case "denied" string) (case "invalid" string) (case "not-found" string)
                           (case "limit-exceeded" string) (case "unavailable" string) (case "internal" string)))
      (export "host-error" (type $e (eq $herr)))
      (export "write" (func (param "level" $l) (param "message" string) (result (result (error $e)))))))
    (core func $write (canon lower (func $log "write")
                 (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
    (core module $m
      (import "libc" "memory" (memory 3))
      (import "host" "write" (func $write (param i32 i32 i32 i32)))
      (data (i32.const 65536) "hello world!")
      (func (export "run") (result i32)
        (call $write (i32.const 2) (i32.const 65536) (i32.const )" +
                   std::to_string(len) + R"() (i32.const 0))
        (if (i32.load8_u (i32.const 0))
          (then
            (i32.store8 (i32.const 512) (i32.const 1))
            (i32.store (i32.const 516) (i32.load (i32.const 8)))
            (i32.store (i32.const 520) (i32.load (i32.const 12)))))
        (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc))
                                      (with "host" (instance (export "write" (func $write)))))))");
}

TEST_F(ComponentTest, LogWriteGoesToLogCallback) {
  std::vector<std::pair<LogLevel, std::string>> lines;
  host_.log = [&lines](LogLevel level, std::string_view s) { lines.emplace_back(level, std::string(s)); };
  auto r = run(logWriteComponent(12));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0) << r->guest_error;
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].first, LogLevel::kInfo);
  EXPECT_EQ(lines[0].second, "hello world!");
  EXPECT_TRUE(printed_.empty());
}

TEST_F(ComponentTest, LogWriteFallsBackToPrint) {
  auto r = run(logWriteComponent(12));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(printed_, "hello world!\n");
}

TEST_F(ComponentTest, LogWriteRejectsOversizeMessageWithHostError) {
  auto r = run(logWriteComponent(70000));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error, "message longer than 65536 bytes");
  EXPECT_EQ(r->host_errors.size(), 1u);
  EXPECT_TRUE(printed_.empty());
}

TEST_F(ComponentTest, OutputLimitTurnsIntoLimitExceeded) {
  Limits limits;
  limits.max_output_bytes = 10;
  auto r = run(logWriteComponent(12), limits);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error, "output limit of 10 bytes reached");
  EXPECT_TRUE(printed_.empty());
}

// Wasmtime lets a component import a host function under any signature; ours check it.
TEST_F(ComponentTest, HostFunctionImportedWithWrongSignatureTraps) {
  auto r = run(component(R"(
    (import "aether:host/identity@0.1.0" (instance $id (export "did" (func (result u32)))))
    (core func $did (canon lower (func $id "did")))
    (core module $m
      (import "host" "did" (func $did (result i32)))
      (func (export "run") (result i32) (drop (call $did)) (i32.const 512)))
    (core instance $i (instantiate $m (with "host" (instance (export "did" (func $did)))))))"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm);
  EXPECT_NE(r.error().message.find("signature other than func() -> string"), std::string::npos)
      << r.error().message;
}

TEST_F(ComponentTest, UnknownInterfaceIsUnsupported) {
  auto r = run(component(R"(
    (import "aether:host/teleport@0.1.0" (instance $t (export "go" (func))))
    (core module $m (func (export "run") (result i32) (i32.const 512)))
    (core instance $i (instantiate $m)))"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported) << r.error().toString();
  EXPECT_NE(r.error().message.find("aether:host/teleport@0.1.0"), std::string::npos) << r.error().message;
}

TEST_F(ComponentTest, UnknownFunctionInKnownInterfaceIsUnsupported) {
  auto r = run(component(R"(
    (import "aether:host/identity@0.1.0" (instance $id (export "secret-key" (func (result string)))))
    (core module $m (func (export "run") (result i32) (i32.const 512)))
    (core instance $i (instantiate $m)))"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported) << r.error().toString();
}

// wasi:http is not linked (only the WASI Preview 2 worlds of wasmtime_component_linker_add_wasip2).
TEST_F(ComponentTest, WasiHttpIsUnsupported) {
  auto r = run(component(R"(
    (import "wasi:http/outgoing-handler@0.2.0" (instance $h (export "ping" (func))))
    (core module $m (func (export "run") (result i32) (i32.const 512)))
    (core instance $i (instantiate $m)))"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUnsupported) << r.error().toString();
}

TEST_F(ComponentTest, FuelExhaustionIsLimitExceeded) {
  auto r = run(runReturningOk("(loop $l (br $l))"), Limits{.fuel = 100'000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kLimitExceeded) << r.error().toString();
}

TEST_F(ComponentTest, FuelExhaustionDuringInstantiationIsLimitExceeded) {
  auto r = run(component(R"(
    (core module $m
      (func $spin (loop $l (br $l)))
      (start $spin)
      (func (export "run") (result i32) (i32.const 512)))
    (core instance $i (instantiate $m)))"),
               Limits{.fuel = 100'000});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kLimitExceeded) << r.error().toString();
}

TEST_F(ComponentTest, TrapIsWasmError) {
  auto r = run(runReturningOk("unreachable"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm);
  EXPECT_NE(r.error().message.find("unreachable"), std::string::npos) << r.error().message;
}

TEST_F(ComponentTest, MemoryLimitHolds) {
  // memory.grow past Limits::max_memory_bytes returns -1; the guest traps on purpose then.
  auto r = run(runReturningOk("(if (i32.eq (memory.grow (i32.const 1000)) (i32.const -1)) (then unreachable))"),
               Limits{.max_memory_bytes = 1 << 20});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm);
  EXPECT_NE(r.error().message.find("unreachable"), std::string::npos) << r.error().message;
}

TEST_F(ComponentTest, CoreModuleIsRejected) {
  auto r = run("(module (func (export \"run\") (result i32) (i32.const 0)))");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << r.error().toString();
}

TEST_F(ComponentTest, GarbageIsWasmError) {
  const std::uint8_t bytes[] = {0, 'a', 's', 'm', 0x0d, 0, 1, 0, 0xff, 0xff};
  auto r = engine_->runComponent(bytes, host_, Limits{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm);
  auto t = run("(component");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kWasm);
}

TEST_F(ComponentTest, MissingRunExportIsNotFound) {
  auto r = run("(component)");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kNotFound) << r.error().toString();
}

TEST_F(ComponentTest, RunOfAnotherTypeIsRejected) {
  auto r = run(R"((component
    (core module $m (func (export "run") (result i32) (i32.const 7)))
    (core instance $i (instantiate $m))
    (func (export "run") (result u32) (canon lift (core func $i "run")))))");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm) << r.error().toString();
}

// The WASI context is always installed before instantiation: without it, the first WASI call
// would abort the process (Wasmtime's C API unwraps a missing context). This component calls
// wasi:cli/environment and checks what it sees: no environment variables, argv == ["app"] (it
// returns argv[0] as its err string; any env var makes it trap).
TEST_F(ComponentTest, WasiContextIsAlwaysSetAndEmpty) {
  auto r = run(component(R"(
    (import "wasi:cli/environment@0.2.0" (instance $env
      (export "get-environment" (func (result (list (tuple string string)))))
      (export "get-arguments" (func (result (list string))))))
    (core func $get_env (canon lower (func $env "get-environment")
                 (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
    (core func $get_args (canon lower (func $env "get-arguments")
                 (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
    (core module $m
      (import "libc" "memory" (memory 3))
      (import "host" "get-env" (func $get_env (param i32)))
      (import "host" "get-args" (func $get_args (param i32)))
      (func (export "run") (result i32)
        (call $get_env (i32.const 0))
        (if (i32.load (i32.const 4)) (then unreachable))
        (call $get_args (i32.const 8))
        (if (i32.ne (i32.load (i32.const 12)) (i32.const 1)) (then unreachable))
        (i32.store8 (i32.const 512) (i32.const 1))
        (i32.store (i32.const 516) (i32.load (i32.load (i32.const 8))))
        (i32.store (i32.const 520) (i32.load offset=4 (i32.load (i32.const 8))))
        (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc))
                                      (with "host" (instance (export "get-env" (func $get_env))
                                                             (export "get-args" (func $get_args)))))))"));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->guest_error, "app");
}

// The filesystem is empty: wasi:filesystem/preopens.get-directories returns no directories.
TEST_F(ComponentTest, NoPreopenedDirectories) {
  auto r = run(component(R"(
    (import "wasi:filesystem/types@0.2.0" (instance $types
      (export "descriptor" (type (sub resource)))))
    (alias export $types "descriptor" (type $descriptor))
    (import "wasi:filesystem/preopens@0.2.0" (instance $preopens
      (export "descriptor" (type $d (eq $descriptor)))
      (export "get-directories" (func (result (list (tuple (own $d) string)))))))
    (core func $get_dirs (canon lower (func $preopens "get-directories")
                 (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
    (core module $m
      (import "libc" "memory" (memory 3))
      (import "host" "get-dirs" (func $get_dirs (param i32)))
      (func (export "run") (result i32)
        (call $get_dirs (i32.const 0))
        (if (i32.load (i32.const 4)) (then unreachable))
        (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc))
                                      (with "host" (instance (export "get-dirs" (func $get_dirs)))))))"));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
}

// A component that calls wasi:clocks/monotonic-clock.now, then (if `sleep`) subscribe-duration
// for 10^12 ns — which would block the host thread without burning fuel if it were allowed.
std::string clockComponent(bool sleep) {
  return component(R"(
    (import "wasi:io/poll@0.2.0" (instance $poll (export "pollable" (type (sub resource)))))
    (alias export $poll "pollable" (type $pollable))
    (import "wasi:clocks/monotonic-clock@0.2.0" (instance $clock
      (export "pollable" (type $p (eq $pollable)))
      (export "now" (func (result u64)))
      (export "subscribe-duration" (func (param "when" u64) (result (own $p))))))
    (core func $now (canon lower (func $clock "now")))
    (core func $sub (canon lower (func $clock "subscribe-duration")))
    (core module $m
      (import "host" "now" (func $now (result i64)))
      (import "host" "sub" (func $sub (param i64) (result i32)))
      (func (export "run") (result i32)
        (if (i64.eqz (call $now)) (then unreachable))
        )" + std::string(sleep ? "(drop (call $sub (i64.const 1000000000000)))" : "") + R"(
        (i32.const 512)))
    (core instance $i (instantiate $m (with "host" (instance (export "now" (func $now))
                                                             (export "sub" (func $sub)))))))");
}

TEST_F(ComponentTest, MonotonicClockWorks) {
  auto r = run(clockComponent(false));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
}

TEST_F(ComponentTest, SleepingIsDenied) {
  auto r = run(clockComponent(true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm);
  EXPECT_NE(r.error().message.find("sleeping and timers are not available"), std::string::npos) << r.error().message;
}

TEST_F(ComponentTest, ThrowingHostCallbackTrapsGuestInsteadOfCrashing) {
  host_.log = [](LogLevel, std::string_view) { throw std::runtime_error("log sink broke"); };
  auto r = run(logWriteComponent(12));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kWasm);
  EXPECT_NE(r.error().message.find("C++ exception"), std::string::npos) << r.error().message;
}

TEST_F(ComponentTest, LongGuestErrorIsTruncated) {
  // err(<100000 bytes of "é">): truncated to at most 64 KiB, on a character boundary.
  auto r = run(component(R"(
    (core module $m
      (import "libc" "memory" (memory 3))
      (func (export "run") (result i32) (local $k i32)
        (loop $fill
          (i32.store16 (i32.add (i32.const 1024) (local.get $k)) (i32.const 0xa9c3))
          (local.set $k (i32.add (local.get $k) (i32.const 2)))
          (br_if $fill (i32.lt_u (local.get $k) (i32.const 100000))))
        (i32.store8 (i32.const 512) (i32.const 1))
        (i32.store (i32.const 516) (i32.const 1024))
        (i32.store (i32.const 520) (i32.const 100000))
        (i32.const 512)))
    (core instance $i (instantiate $m (with "libc" (instance $libc)))))"));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error.size(), 65536u + std::string_view(" [truncated]").size());
  EXPECT_EQ(r->guest_error.substr(0, 4), "éé");
}

std::string exitComponent(bool ok) {
  return component(R"(
    (import "wasi:cli/exit@0.2.0" (instance $exit (export "exit" (func (param "status" (result))))))
    (core func $exit (canon lower (func $exit "exit")))
    (core module $m
      (import "host" "exit" (func $exit (param i32)))
      (func (export "run") (result i32)
        (call $exit (i32.const )" + std::string(ok ? "0" : "1") + R"())
        unreachable))
    (core instance $i (instantiate $m (with "host" (instance (export "exit" (func $exit)))))))");
}

TEST_F(ComponentTest, ExitZeroIsOk) {
  auto r = run(exitComponent(true));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 0);
  EXPECT_TRUE(r->guest_error.empty());
}

TEST_F(ComponentTest, ExitErrIsGuestError) {
  auto r = run(exitComponent(false));
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 1);
  EXPECT_EQ(r->guest_error, "exited with status 1");
}

// The core-module path is unchanged by component support: the same engine runs both.
TEST_F(ComponentTest, SameEngineRunsModulesToo) {
  auto r = engine_->run(wat("(module (func (export \"run\") (result i32) (i32.const 7)))"), "run", host_, Limits{});
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->value, 7);
}

}  // namespace
}  // namespace aether::sandbox
