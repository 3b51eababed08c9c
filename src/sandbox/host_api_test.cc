// Every aether:host@0.1.0 function, enumerated: the table the host links (Engine::hostFunctions)
// matches sdk/wit/host.wit function for function, and every gated function refuses to act
// without its capability — the guest gets host-error.denied, the audit trail gets a refusal,
// and the services behind the API are never called. The guest is guests/probe-component.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "guests/guests.h"
#include "sandbox/sandbox.h"

namespace aether::sandbox {
namespace {

// Functions of sdk/wit/host.wit, as "aether:host/<interface>@0.1.0#<function>".
std::set<std::string> witFunctions() {
  std::ifstream in(std::string(AETHER_SOURCE_DIR) + "/sdk/wit/host.wit");
  EXPECT_TRUE(in) << "cannot read sdk/wit/host.wit";
  std::set<std::string> out;
  std::string line, iface;
  const std::regex iface_re(R"(^\s*interface\s+([a-z][a-z0-9-]*)\s*\{)");
  const std::regex func_re(R"(^\s*%?([a-z][a-z0-9-]*)\s*:\s*func\b)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, iface_re)) iface = m[1];
    if (std::regex_search(line, m, func_re)) out.insert("aether:host/" + iface + "@0.1.0#" + std::string(m[1]));
  }
  return out;
}

TEST(HostApi, TheHostTableIsExactlyTheWit) {
  std::set<std::string> table;
  for (const auto& f : Engine::hostFunctions()) table.insert(f.interface_name + "#" + f.function);
  const auto wit = witFunctions();
  EXPECT_FALSE(wit.empty());
  EXPECT_EQ(table, wit);
  // Only functions without an effect are ungated.
  for (const auto& f : Engine::hostFunctions()) {
    if (f.right.empty()) {
      EXPECT_TRUE(f.function == "did" || f.function == "app-did" || f.function == "write") << f.function;
    }
  }
}

class DenyAll final : public Gate {
 public:
  Status check(std::string_view right, std::string_view resource) override {
    asked.emplace_back(std::string(right) + " " + std::string(resource));
    return fail(Errc::kPermissionDenied, "not granted");
  }
  std::vector<std::string> asked;
};

class AllowAll final : public Gate {
 public:
  Status check(std::string_view, std::string_view) override { return {}; }
};

// Records every call; succeeds with fixed answers.
class RecordingServices final : public Services {
 public:
  std::map<std::string, int> calls;
  std::vector<AuditEvent> events;
  Result<Bytes> sign(ByteView) override { return ++calls["sign"], Bytes(64, 1); }
  Result<std::optional<Bytes>> kvGet(std::string_view) override {
    return ++calls["kvGet"], std::optional<Bytes>(Bytes{1, 2, 3, 4});
  }
  Status kvSet(std::string_view, ByteView) override { return ++calls["kvSet"], Status{}; }
  Status kvDelete(std::string_view) override { return ++calls["kvDelete"], Status{}; }
  Result<std::vector<std::string>> kvList(std::string_view) override {
    return ++calls["kvList"], std::vector<std::string>{"app/probe"};
  }
  Result<std::string> blockPut(ByteView) override { return ++calls["blockPut"], std::string("bafkreiexample"); }
  Result<Bytes> blockGet(std::string_view) override { return ++calls["blockGet"], Bytes{9}; }
  Result<std::uint64_t> logAppend(std::string_view, ByteView) override { return ++calls["logAppend"], std::uint64_t{7}; }
  Result<Bytes> logRead(std::string_view, std::string_view, std::uint64_t) override {
    return ++calls["logRead"], Bytes{8};
  }
  Result<HttpResponse> httpFetch(const HttpRequest&) override {
    ++calls["httpFetch"];
    return HttpResponse{200, {{"content-type", "text/plain"}}, toBytes("hi")};
  }
  void audit(const AuditEvent& e) override { events.push_back(e); }
};

struct ProbeRun {
  std::map<std::string, std::string> lines;  // function -> rest of its line
  RunResult result;
};

ProbeRun runProbe(Gate* gate, Services* services) {
  auto engine = Engine::create();
  EXPECT_TRUE(engine);
  std::string out;
  HostContext host{.node_did = "did:key:z6MkNode", .print = [&out](std::string_view s) { out += s; }};
  host.app_did = "did:key:z6MkApp";
  host.gate = gate;
  host.services = services;
  auto r = engine->runComponent(guests::probeComponent(), host, Limits{});
  EXPECT_TRUE(r) << r.error().toString();
  ProbeRun pr;
  if (r) pr.result = *r;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    auto sp = line.find(' ');
    if (sp != std::string::npos) pr.lines[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return pr;
}

// "aether:host/kv@0.1.0" + "get" -> "kv.get" (the probe's and the audit's names).
std::string shortName(const HostFunctionInfo& f) {
  const auto slash = f.interface_name.find('/');
  const auto at = f.interface_name.find('@');
  return f.interface_name.substr(slash + 1, at - slash - 1) + "." + f.function;
}

TEST(HostApi, EveryGatedFunctionRefusesWithoutItsCapability) {
  DenyAll gate;
  RecordingServices services;
  auto run = runProbe(&gate, &services);
  std::size_t gated = 0;
  for (const auto& f : Engine::hostFunctions()) {
    if (f.right.empty()) continue;
    ++gated;
    const std::string name = shortName(f);
    ASSERT_TRUE(run.lines.contains(name)) << name << " was not called by the probe";
    EXPECT_EQ(run.lines[name].rfind("denied needs ", 0), 0u) << name << ": " << run.lines[name];
    // The refusal is in the audit trail, with the right the table names.
    bool audited = false;
    for (const auto& e : services.events) {
      if (e.function == name && !e.allowed) {
        audited = true;
        if (f.right == "http.*") {
          EXPECT_EQ(e.right, "http.get");
        } else {
          EXPECT_EQ(e.right, f.right) << name;
        }
      }
    }
    EXPECT_TRUE(audited) << name << " left no audit event";
  }
  EXPECT_EQ(gated, 11u);
  EXPECT_EQ(gate.asked.size(), gated);
  EXPECT_TRUE(services.calls.empty()) << "a service was called although the gate refused";
  EXPECT_EQ(run.result.host_errors.size(), gated);
  // The resources checked are the arguments' (key, prefix glob, stream name, URL, event name;
  // another author's stream is "<did:key without 'did:key:'>/<name>").
  const std::set<std::string> asked(gate.asked.begin(), gate.asked.end());
  for (const char* want : {"kv.write app/probe", "kv.read app/probe", "kv.list app/*", "kv.delete app/probe",
                           "identity.sign *", "blocks.put *", "blocks.get *", "streams.append notes",
                           "streams.read z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK/notes", "http.get http://127.0.0.1:18901/probe", "events.emit probe"}) {
    EXPECT_TRUE(asked.contains(want)) << want;
  }
}

TEST(HostApi, NoGateMeansDenied) {
  RecordingServices services;
  auto run = runProbe(nullptr, &services);
  for (const auto& [fn, rest] : run.lines) EXPECT_EQ(rest.rfind("denied", 0), 0u) << fn;
  EXPECT_TRUE(services.calls.empty());
}

TEST(HostApi, AllowedCallsReachTheServicesOnce) {
  AllowAll gate;
  RecordingServices services;
  auto run = runProbe(&gate, &services);
  for (const auto& [fn, rest] : run.lines) EXPECT_EQ(rest, "ok") << fn;
  EXPECT_EQ(run.lines.size(), 11u);
  for (const char* s : {"sign", "kvGet", "kvSet", "kvDelete", "kvList", "blockPut", "blockGet", "logAppend", "logRead",
                        "httpFetch"}) {
    EXPECT_EQ(services.calls[s], 1) << s;
  }
  // events.emit lands in the audit trail as an allowed app event.
  bool emitted = false;
  for (const auto& e : services.events) emitted |= e.function == "events.emit" && e.allowed && e.detail == "probing the host";
  EXPECT_TRUE(emitted);
}

TEST(HostApi, AllowedButNoServicesIsUnavailable) {
  AllowAll gate;
  auto run = runProbe(&gate, nullptr);
  for (const auto& [fn, rest] : run.lines) EXPECT_EQ(rest.rfind("unavailable", 0), 0u) << fn << ": " << rest;
}

}  // namespace
}  // namespace aether::sandbox
