// The WASI filesystem of components: only mounts the gate allows, only inside the app's data
// directory, and nothing above a mount is reachable ("..", absolute paths, symlinks). The guest
// is guests/escape-component (C, wasi-libc), which prints one line per attempt.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
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


// ---- the fs quota (Limits::fs_quota_bytes; deps/wasmtime/fs_quota.rs) ----------------------------

// What the fs-quota bomb (guests/fsbomb-component) reports, one line per attempt.
struct BombRun {
  Result<RunResult> result;
  std::string out;
  std::map<std::string, std::string> lines;  // "sequential" -> "123 bytes, then ..."
};

BombRun runBomb(const fs::path& app_dir, std::uint64_t quota, AuditOnly* services) {
  static auto engine = Engine::create();
  EXPECT_TRUE(engine);
  static Gatekeeper gate(true);
  BombRun r{fail(Errc::kInternal, "not run"), {}, {}};
  HostContext host;
  host.node_did = "did:key:z6MkNode";
  host.print = [&r](std::string_view s) { r.out += s; };
  host.gate = &gate;
  host.services = services;
  host.app_data_dir = app_dir;
  host.fs_mounts = {{"/data", true}};
  Limits limits;
  limits.fs_quota_bytes = quota;
  limits.fuel = 0;  // the bomb's loops are cheap; the quota is what must stop them
  limits.time_limit_ms = 60'000;
  r.result = engine->runComponent(guests::fsbombComponent(), host, limits);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(": ");
    if (colon != std::string::npos) r.lines[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return r;
}

// Bytes the files below `dir` really occupy on disk (st_blocks), and their sizes.
std::pair<std::uint64_t, std::uint64_t> diskUse(const fs::path& dir) {
  std::uint64_t blocks = 0, sizes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    blocks += static_cast<std::uint64_t>(st.st_blocks) * 512;
    if (S_ISREG(st.st_mode)) sizes += static_cast<std::uint64_t>(st.st_size);
  }
  return {blocks, sizes};
}

std::uint64_t leadingNumber(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

// wasi-libc's (musl's) strerror(EDQUOT).
constexpr std::string_view kQuotaError = "then Quota exceeded";

TEST(FsQuota, EveryWritePathStopsAtTheQuota) {
  TempDir tmp;
  const fs::path app_dir = tmp.path / "app";
  constexpr std::uint64_t kQuota = 1 << 20;
  AuditOnly services;
  auto r = runBomb(app_dir, kQuota, &services);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_EQ(r.result->value, 0) << r.result->guest_error;
  // Streams (write() in 64 KiB calls): stopped below the quota, with EDQUOT.
  EXPECT_LE(leadingNumber(r.lines["sequential"]), kQuota) << r.out;
  EXPECT_GT(leadingNumber(r.lines["sequential"]), kQuota / 2) << r.out;
  EXPECT_NE(r.lines["sequential"].find(kQuotaError), std::string::npos) << r.out;
  EXPECT_NE(r.lines["append"].find(kQuotaError), std::string::npos) << r.out;
  EXPECT_EQ(r.lines["pwrite at 1 TiB"], "Quota exceeded") << r.out;
  EXPECT_EQ(r.lines["ftruncate to 1 TiB"], "Quota exceeded") << r.out;
  EXPECT_NE(r.lines["files"].find(kQuotaError), std::string::npos) << r.out;
  EXPECT_EQ(r.lines["overwrite in place"], "ok") << r.out;  // inside the file's size: free
  // On disk: never more than the quota, by the quota's rules and in real blocks.
  auto usage = fsUsage(app_dir);
  ASSERT_TRUE(usage) << usage.error().toString();
  EXPECT_LE(*usage, kQuota);
  const auto [blocks, sizes] = diskUse(app_dir);
  EXPECT_LE(sizes, kQuota);
  EXPECT_LE(blocks, kQuota + kFsEntryBytes);  // the mount directory itself
  EXPECT_FALSE(fs::exists(app_dir / "data" / "sparse.bin") && fs::file_size(app_dir / "data" / "sparse.bin") > 0);
  // Reported: counters, a host error and one audit event with a typed, readable reason.
  EXPECT_GE(r.result->fs_quota_refusals, 5u);
  EXPECT_LE(r.result->fs_bytes_charged, kQuota);
  ASSERT_FALSE(r.result->host_errors.empty());
  EXPECT_NE(r.result->host_errors.back().find("limit-exceeded: "), std::string::npos) << r.result->host_errors.back();
  const AuditEvent& e = services.events.back();
  EXPECT_EQ(e.function, "wasi:filesystem");
  EXPECT_EQ(e.right, "fs.write");
  EXPECT_EQ(e.resource, "/data/*");
  EXPECT_FALSE(e.allowed);
  EXPECT_EQ(e.detail.rfind("limit-exceeded: ", 0), 0u) << e.detail;
  EXPECT_NE(e.detail.find("quota of 1048576 bytes is used up"), std::string::npos) << e.detail;

  // A second run starts from what the directory holds: it cannot add past the quota either.
  AuditOnly again;
  auto r2 = runBomb(app_dir, kQuota, &again);
  ASSERT_TRUE(r2.result) << r2.result.error().toString();
  EXPECT_NE(r2.lines["sequential"].find(kQuotaError), std::string::npos) << r2.out;
  auto usage2 = fsUsage(app_dir);
  ASSERT_TRUE(usage2);
  EXPECT_LE(*usage2, kQuota);
}

TEST(FsQuota, TheQuotaIsWhatStopsTheWrites) {
  // The same bomb with three times the quota writes about three times as much.
  TempDir tmp;
  AuditOnly s1, s3;
  auto small = runBomb(tmp.path / "small", 1 << 20, &s1);
  auto large = runBomb(tmp.path / "large", 3 << 20, &s3);
  ASSERT_TRUE(small.result && large.result);
  const std::uint64_t a = leadingNumber(small.lines["sequential"]);
  const std::uint64_t b = leadingNumber(large.lines["sequential"]);
  EXPECT_LE(b, std::uint64_t{3} << 20);
  EXPECT_GT(b, a + (std::uint64_t{3} << 20) / 2) << small.out << large.out;
}

TEST(FsQuota, OneWritingRunAtATime) {
  // Two runs writing at once would each get the whole remaining budget: while one holds the
  // app's directory, another is refused before it starts (limit-exceeded), and nothing it
  // could write lands.
  TempDir tmp;
  const fs::path app_dir = tmp.path / "app";
  fs::create_directories(app_dir);
  const int fd = ::open(app_dir.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  AuditOnly services;
  auto r = runBomb(app_dir, 1 << 20, &services);
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, Errc::kLimitExceeded) << r.result.error().toString();
  EXPECT_NE(r.result.error().message.find("one run at a time"), std::string::npos) << r.result.error().message;
  EXPECT_FALSE(fs::exists(app_dir / "data" / "bomb.bin"));
  ::close(fd);
  auto again = runBomb(app_dir, 1 << 20, &services);
  ASSERT_TRUE(again.result) << again.result.error().toString();
}

TEST(FsQuota, NoQuotaNoCharge) {
  // Without Limits::fs_quota_bytes nothing is refused (the escape guest writes its note).
  TempDir tmp;
  Gatekeeper gate(true);
  AuditOnly services;
  HostContext host;
  host.gate = &gate;
  host.services = &services;
  host.app_data_dir = tmp.path / "app";
  host.fs_mounts = {{"/data", true}};
  auto r = runEscape(host);
  ASSERT_TRUE(r.result) << r.result.error().toString();
  EXPECT_TRUE(r.wrote_note) << r.out;
  EXPECT_EQ(r.result->fs_quota_refusals, 0u);
  EXPECT_GT(r.result->fs_bytes_charged, 0u);
}

TEST(FsQuota, UsageCountsFileSizesAndEntries) {
  TempDir tmp;
  EXPECT_EQ(*fsUsage(tmp.path / "missing"), 0u);
  fs::create_directories(tmp.path / "a" / "b");
  std::ofstream(tmp.path / "a" / "b" / "f", std::ios::binary) << std::string(10, 'x');
  fs::create_symlink("/etc/passwd", tmp.path / "a" / "link");
  // a, a/b, a/b/f, a/link: four entries, ten bytes (the symlink is not followed).
  EXPECT_EQ(*fsUsage(tmp.path), 4 * kFsEntryBytes + 10);
}

}  // namespace
}  // namespace aether::sandbox
