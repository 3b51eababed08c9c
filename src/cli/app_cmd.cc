// `aether run` for apps: directories with aether.toml and Wasm components, with consent.
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/terminal.h"

namespace aether::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
// WAT text after leading whitespace and ";;" line comments.
std::string_view watStart(std::string_view text) {
  while (true) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    text.remove_prefix(first);
    if (!text.starts_with(";;")) return text;
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) return {};
    text.remove_prefix(nl + 1);
  }
}
}  // namespace

bool isCoreModuleFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.size() >= 8 && std::memcmp(head.data(), "\0asm", 4) == 0) return head[6] == 0 && head[7] == 0;  // layer 0
  return watStart(head).starts_with("(module");
}

int runAppCommand(const Globals& g, const RunAppArgs& args) {
  std::vector<cap::Capability> grants;
  for (const auto& text : args.grants) {
    auto c = cap::Capability::parse(text);
    if (!c) return reportError(Error{c.error().code, "--grant \"" + text + "\": " + c.error().message});
    grants.push_back(*c);
  }
  auto app = node::loadAppPackage(args.target, grants);
  if (!app) return reportError(app.error());
  {
    const Bytes& w = app->wasm;
    std::string_view text = asChars(ByteView(w).first(std::min<std::size_t>(w.size(), 4096)));
    const bool binary = w.size() >= 8 && std::memcmp(w.data(), "\0asm", 4) == 0;
    if (!binary && !watStart(text).starts_with("(component")) {
      return reportError(Error{Errc::kWasm, app->source.string() + " is not a WebAssembly component or module"});
    }
  }
  auto n = openNode(g);
  if (!n) return reportError(n.error());

  node::AppRunOptions o;
  o.requested = grants;
  o.fuel = args.fuel;
  if (!args.policy_file.empty()) {
    std::ifstream in(args.policy_file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto p = cap::parsePolicy(text);
    if (!p) return reportError(Error{p.error().code, args.policy_file + ": " + p.error().message});
    o.policy = std::move(*p);
  }
  if (!args.token_file.empty()) {
    std::ifstream in(args.token_file);
    std::string t((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    o.token = t;
  }
  if (args.yes || !args.policy_file.empty()) {
    o.consent = [](const std::string&) -> Result<bool> { return true; };
  } else if (haveTty()) {
    o.consent = [](const std::string& text) -> Result<bool> {
      std::cerr << text << "\n";
      return askYesNo("Allow and run? [y/N] ");
    };
  }  // else: no way to consent; runApp refuses apps that ask for anything.
  std::string output;
  o.print = [&output, &g](std::string_view s) {
    if (g.json) {
      output += s;
    } else {
      std::cout << s << std::flush;
    }
  };
  auto r = n->runApp(*app, o);
  if (!r) return reportError(r.error());
  for (const auto& d : r->denials) {
    std::cerr << "aether: denied: " << d.function << " " << d.right << " " << d.resource << ": " << d.detail << "\n";
  }
  if (g.json) {
    json denials = json::array();
    for (const auto& d : r->denials) {
      denials.push_back({{"function", d.function}, {"right", d.right}, {"resource", d.resource}, {"why", d.detail}});
    }
    json granted = json::array();
    for (const auto& c : r->granted) granted.push_back(c.toString());
    printJson({{"app", app->manifest.name},
               {"app_did", r->app_did},
               {"granted", granted},
               {"output", output},
               {"status", r->result.value},
               {"error", r->result.guest_error},
               {"fuel_used", r->result.fuel_used},
               {"denials", denials}});
  } else if (r->result.value != 0) {
    std::cerr << "aether: app " << app->manifest.name << " failed: " << r->result.guest_error << "\n";
  }
  return r->result.value == 0 ? 0 : kExitError;
}

void addAppCommands(CLI::App& /*app*/, Globals& /*g*/, int& /*rc*/) {}

}  // namespace aether::cli
