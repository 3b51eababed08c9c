// The WASI filesystem of components: only mounts the gate allows, only inside the app's data
// directory, and nothing above a mount is reachable ("..", absolute paths, symlinks). The guest
// is guests/escape-component (C, wasi-libc), which prints one line per attempt.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "guests/guests.h"
#include "sandbox/sandbox.h"

namespace aether::sandbox {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aether-fs-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

class Gatekeeper final : public Gate {
 public:
  explicit Gatekeeper(bool allow) : allow_(allow) {}
  Status check(std::string_view right, std::string_view resource) override {
    asked.push_back(std::string(right) + " " + std::string(resource));
    if (allow_) return {};
    return fail(Errc::kPermissionDenied, "not granted");
  }
  std::vector<std::string> asked;

 private:
  bool allow_;
};

// Only audit() is expected here; every effect fails loudly.
class AuditOnly final : public Services {
 public:
  std::vector<AuditEvent> events;
  Result<Bytes> sign(ByteView) override { return fail(Errc::kInternal, "unexpected"); }
  Result<std::optional<Bytes>> kvGet(std::string_view) override { return fail(Errc::kInternal, "unexpected"); }
  Status kvSet(std::string_view, ByteView) override { return fail(Errc::kInternal, "unexpected"); }
  Status kvDelete(std::string_view) override { return fail(Errc::kInternal, "unexpected"); }
  Result<std::vector<std::string>> kvList(std::string_view) override { return fail(Errc::kInternal, "unexpected"); }
  Result<std::string> blockPut(ByteView) override { return fail(Errc::kInternal, "unexpected"); }
  Result<Bytes> blockGet(std::string_view) override { return fail(Errc::kInternal, "unexpected"); }
  Result<std::uint64_t> logAppend(std::string_view, ByteView) override { return fail(Errc::kInternal, "unexpected"); }
  Result<Bytes> logRead(std::string_view, std::string_view, std::uint64_t) override {
    return fail(Errc::kInternal, "unexpected");
  }
  Result<HttpResponse> httpFetch(const HttpRequest&) override { return fail(Errc::kInternal, "unexpected"); }
  void audit(const AuditEvent& e) override { events.push_back(e); }
};

struct EscapeRun {
  Result<RunResult> result;
  std::string out;
  int opened = 0, refused = 0;
  bool wrote_note = false;
};

EscapeRun runEscape(HostContext host) {
  static auto engine = Engine::create();
  EXPECT_TRUE(engine);
  EscapeRun r{fail(Errc::kInternal, "not run"), {}};
  host.node_did = "did:key:z6MkNode";
  host.print = [&r](std::string_view s) { r.out += s; };
  r.result = engine->runComponent(guests::escapeComponent(), host, Limits{});
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.ends_with(" OPENED")) ++r.opened;
    if (line.ends_with(" refused")) ++r.refused;
    if (line == "write /data/note.txt ok") r.wrote_note = true;
  }
  return r;
}

constexpr int kAttempts = 10;  // nine reads and one write outside any mount (escape.c)

TEST(WasiFs, NoMountsNothingReachable) {
  auto r = runEscape(HostContext{});
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_EQ(r.result->value, 0) << r.result->guest_error;
  EXPECT_EQ(r.opened, 0) << r.out;
  EXPECT_EQ(r.refused, kAttempts) << r.out;
  EXPECT_FALSE(r.wrote_note);
}

TEST(WasiFs, GrantedMountIsWritableAndConfined) {
  TempDir tmp;
  const fs::path app_dir = tmp.path / "app";
  Gatekeeper gate(true);
  AuditOnly services;
  HostContext host;
  host.gate = &gate;
  host.services = &services;
  host.app_data_dir = app_dir;
  host.fs_mounts = {{"/data", true}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_EQ(r.result->value, 0) << r.result->guest_error;
  EXPECT_EQ(r.opened, 0) << r.out;
  EXPECT_EQ(r.refused, kAttempts) << r.out;
  EXPECT_TRUE(r.wrote_note) << r.out;
  std::ifstream note(app_dir / "data" / "note.txt");
  std::string text((std::istreambuf_iterator<char>(note)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "written by the escape guest\n");
  EXPECT_FALSE(fs::exists(app_dir / "outside.txt"));
  EXPECT_FALSE(fs::exists(tmp.path / "outside.txt"));
  EXPECT_EQ(gate.asked, std::vector<std::string>{"fs.write /data/*"});
  ASSERT_EQ(services.events.size(), 1u);
  EXPECT_EQ(services.events[0].function, "wasi:filesystem/preopens");
  EXPECT_TRUE(services.events[0].allowed);
}

TEST(WasiFs, DeniedMountIsNotMountedAndAudited) {
  TempDir tmp;
  Gatekeeper gate(false);
  AuditOnly services;
  HostContext host;
  host.gate = &gate;
  host.services = &services;
  host.app_data_dir = tmp.path / "app";
  host.fs_mounts = {{"/data", true}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_FALSE(r.wrote_note) << r.out;
  EXPECT_EQ(r.opened, 0);
  EXPECT_FALSE(fs::exists(tmp.path / "app" / "data"));
  ASSERT_EQ(services.events.size(), 1u);
  EXPECT_FALSE(services.events[0].allowed);
  EXPECT_EQ(services.events[0].right, "fs.write");
  EXPECT_EQ(services.events[0].resource, "/data/*");
  ASSERT_EQ(r.result->host_errors.size(), 1u);
  EXPECT_NE(r.result->host_errors[0].find("denied fs.write /data/*"), std::string::npos);
}

TEST(WasiFs, NullGateMountsNothing) {
  TempDir tmp;
  HostContext host;
  host.app_data_dir = tmp.path / "app";
  host.fs_mounts = {{"/data", true}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_FALSE(r.wrote_note);
  EXPECT_EQ(r.opened, 0);
}

TEST(WasiFs, ReadOnlyMountRefusesWrites) {
  TempDir tmp;
  Gatekeeper gate(true);
  HostContext host;
  host.gate = &gate;
  host.app_data_dir = tmp.path / "app";
  host.fs_mounts = {{"/data", false}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_FALSE(r.wrote_note) << r.out;
  EXPECT_EQ(gate.asked, std::vector<std::string>{"fs.read /data/*"});
  EXPECT_FALSE(fs::exists(tmp.path / "app" / "data" / "note.txt"));
}

TEST(WasiFs, MountWithoutAppDataDirIsRefused) {
  Gatekeeper gate(true);
  HostContext host;
  host.gate = &gate;
  host.fs_mounts = {{"/data", true}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_FALSE(r.wrote_note);
  ASSERT_EQ(r.result->host_errors.size(), 1u);
  EXPECT_NE(r.result->host_errors[0].find("no app data directory"), std::string::npos);
}

TEST(WasiFs, MalformedMountPathsAreNotMounted) {
  TempDir tmp;
  Gatekeeper gate(true);
  HostContext host;
  host.gate = &gate;
  host.app_data_dir = tmp.path / "app";
  host.fs_mounts = {{"/data/../..", true}, {"data", true}, {"/data/", true}, {"/a//b", true}, {"", true}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_TRUE(gate.asked.empty());
  EXPECT_EQ(r.result->host_errors.size(), 5u);
  EXPECT_FALSE(r.wrote_note);
  EXPECT_FALSE(fs::exists(tmp.path / "app" / "data"));
}

TEST(WasiFs, SymlinkInTheDataDirCannotCarryAMountOutside) {
  TempDir tmp;
  const fs::path outside = tmp.path / "outside";
  fs::create_directories(outside);
  fs::create_directories(tmp.path / "app");
  fs::create_directory_symlink(outside, tmp.path / "app" / "data");
  Gatekeeper gate(true);
  HostContext host;
  host.gate = &gate;
  host.app_data_dir = tmp.path / "app";
  host.fs_mounts = {{"/data", true}};
  auto r = runEscape(host);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, Errc::kIo);
  EXPECT_TRUE(fs::is_empty(outside));
}

TEST(WasiFs, MountsFromGrants) {
  const std::vector<std::pair<std::string, std::string>> grants = {
      {"fs.read", "/data/*"},      {"fs.write", "/data/*"},   // same path: one writable mount
      {"fs.read", "/docs/*"},      {"fs.read", "/notes.txt"},  // a single file: no mount
      {"kv.read", "app/*"},        {"fs.*", "/*"},
      {"fs.read", "/a/../b/*"},  // not in normal form
  };
  const auto mounts = fsMountsFor(grants);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].path, "/data");
  EXPECT_TRUE(mounts[0].writable);
  EXPECT_EQ(mounts[1].path, "/docs");
  EXPECT_FALSE(mounts[1].writable);
  EXPECT_EQ(mounts[2].path, "/");
  EXPECT_TRUE(mounts[2].writable);
}

}  // namespace
}  // namespace aether::sandbox
