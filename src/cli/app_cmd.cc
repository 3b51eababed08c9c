// `aether run` for apps: directories with aether.toml and Wasm components, with consent.
#include <csignal>
#include <cstring>
#include <fstream>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <sys/wait.h>
#include <iostream>

#include "cli/cli.h"
#include "cli/terminal.h"

namespace aether::guests {
extern const std::uint8_t sdk_template_c_aether_toml_data[];
extern const std::size_t sdk_template_c_aether_toml_size;
extern const std::uint8_t sdk_template_c_main_c_data[];
extern const std::size_t sdk_template_c_main_c_size;
extern const std::uint8_t sdk_template_c_gitignore_data[];
extern const std::size_t sdk_template_c_gitignore_size;
}  // namespace aether::guests

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

// The newest modification time of aether.toml and everything under src/ and wit/.
fs::file_time_type newestSource(const fs::path& dir) {
  auto newest = fs::file_time_type::min();
  std::error_code ec;
  auto consider = [&](const fs::path& p) {
    auto t = fs::last_write_time(p, ec);
    if (!ec && t > newest) newest = t;
  };
  consider(dir / "aether.toml");
  for (const char* sub : {"src", "wit"}) {
    for (auto it = fs::recursive_directory_iterator(dir / sub, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file()) consider(it->path());
    }
  }
  return newest;
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
  if (std::error_code ec; fs::is_directory(args.target, ec)) {
    const auto built = fs::last_write_time(fs::path(args.target) / app->manifest.entry, ec);
    if (!ec && newestSource(args.target) > built) {
      std::cerr << "aether: warning: " << app->manifest.entry << " is older than the app's sources: run `aether build`\n";
    }
  }
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
  o.time_limit_ms = args.time_limit_ms;
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
               {"denials", denials},
               {"token", r->token}});
  } else if (r->result.value != 0) {
    std::cerr << "aether: app " << app->manifest.name << " failed: " << r->result.guest_error << "\n";
  }
  return r->result.value == 0 ? 0 : kExitError;
}

// ---- the developer loop ---------------------------------------------------------------------

namespace {

// The templates: sdk/templates/c/ embedded at build time (src/cli/CMakeLists.txt); "%NAME%" in
// them is the app's name.
std::string_view embedded(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

std::string fill(std::string_view tmpl, const std::string& name) {
  std::string out(tmpl);
  for (std::size_t p; (p = out.find("%NAME%")) != std::string::npos;) out.replace(p, 6, name);
  return out;
}

Status writeNew(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) return fail(Errc::kIo, "cannot write " + path.string());
  return {};
}

std::string toolsDir() {
  if (const char* env = std::getenv("AETHER_TOOLS_DIR"); env && *env) return env;
  return AETHER_DEFAULT_TOOLS_DIR;
}

// $AETHER_WASM_CC, else the clang CMake found when aether was built.
std::string wasmCompiler() {
  if (const char* env = std::getenv("AETHER_WASM_CC"); env && *env) return env;
  return AETHER_DEFAULT_WASM_CC;
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

Status runStep(const std::string& what, const std::string& cmd, bool verbose) {
  if (verbose) std::cerr << "+ " << cmd << "\n";
  const int rc = std::system(("(" + cmd + ") 1>&2").c_str());
  // std::system ignores SIGINT in this process while the tool runs: a Ctrl-C that stopped the
  // tool must stop `aether build` / `aether dev` too, not read as a failed build.
  if ((WIFSIGNALED(rc) && WTERMSIG(rc) == SIGINT) || (WIFEXITED(rc) && WEXITSTATUS(rc) == 128 + SIGINT)) {
    std::raise(SIGINT);
    std::_Exit(128 + SIGINT);
  }
  if (rc != 0) return fail(Errc::kInternal, what + " failed (exit " + std::to_string(WEXITSTATUS(rc)) + "): " + cmd);
  return {};
}

}  // namespace

int scaffoldApp(const Globals& g, const std::string& name, const std::string& tmpl) {
  if (tmpl != "c") {
    return reportError(Error{Errc::kUnsupported, "template '" + tmpl + "' is not available (templates: c)"});
  }
  const std::string_view toml = embedded(guests::sdk_template_c_aether_toml_data, guests::sdk_template_c_aether_toml_size);
  const std::string_view main_c = embedded(guests::sdk_template_c_main_c_data, guests::sdk_template_c_main_c_size);
  const std::string_view gitignore = embedded(guests::sdk_template_c_gitignore_data, guests::sdk_template_c_gitignore_size);
  auto check = cap::parseManifest(fill(toml, name));
  if (!check) return reportError(Error{Errc::kInvalidArgument, "'" + name + "' is not a valid app name: " + check.error().message});
  if (check->name != name) return reportError(Error{Errc::kInvalidArgument, "'" + name + "' is not a valid app name"});
  const fs::path dir = name;
  std::error_code ec;
  if (fs::exists(dir, ec)) return reportError(Error{Errc::kAlreadyExists, dir.string() + " already exists"});
  fs::create_directories(dir / "src", ec);
  fs::create_directories(dir / "wit", ec);
  if (ec) return reportError(Error{Errc::kIo, "cannot create " + dir.string() + ": " + ec.message()});
  for (const auto& [path, text] : std::vector<std::pair<fs::path, std::string>>{
           {dir / "aether.toml", fill(toml, name)},
           {dir / "src" / "main.c", fill(main_c, name)},
           {dir / "wit" / "host.wit", std::string(sdkHostWit())},
           {dir / ".gitignore", fill(gitignore, name)}}) {
    if (auto st = writeNew(path, text); !st) return reportError(st.error());
  }
  if (g.json) {
    printJson({{"app", name}, {"dir", fs::absolute(dir).string()}, {"template", tmpl}});
  } else {
    std::cout << "Created app " << name << " in " << dir.string() << "/\n"
              << "Next: cd " << name << " && aether build && aether run . --yes\n";
  }
  return 0;
}

Result<fs::path> buildApp(const fs::path& dir, bool verbose) {
  std::ifstream in(dir / "aether.toml");
  if (!in) return fail(Errc::kNotFound, "no aether.toml in " + dir.string() + " (create an app with `aether init <name> --template c`)");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto m = cap::parseManifest(text);
  if (!m) return fail(m.error().code, (dir / "aether.toml").string() + ": " + m.error().message);
  const std::string tools = toolsDir();
  const std::string wit_bindgen = tools + "/wit-bindgen";
  const std::string wasm_tools = tools + "/wasm-tools";
  const std::string adapter = tools + "/wasi_snapshot_preview1.reactor.wasm";
  for (const auto& t : {wit_bindgen, wasm_tools, adapter}) {
    if (!fs::exists(t)) {
      return fail(Errc::kNotFound, t + " is missing: run scripts/install-deps from the Aether source tree, or set AETHER_TOOLS_DIR");
    }
  }
  const std::string cc = wasmCompiler();
  if (!fs::exists(cc)) {
    return fail(Errc::kNotFound, cc + " (the C compiler for wasm32-wasi) is missing: install clang and wasi-libc "
                                      "(Debian: clang-16 wasi-libc libclang-rt-16-dev-wasm32), or set AETHER_WASM_CC");
  }
  const fs::path build = dir / "build";
  const fs::path gen = build / "gen";
  std::error_code ec;
  fs::create_directories(gen, ec);
  std::vector<fs::path> sources;
  for (const auto& e : fs::directory_iterator(dir / "src", ec)) {
    if (e.path().extension() == ".c") sources.push_back(e.path());
  }
  if (sources.empty()) return fail(Errc::kNotFound, "no C sources in " + (dir / "src").string());
  std::sort(sources.begin(), sources.end());
  const fs::path out = dir / m->entry;
  fs::create_directories(out.parent_path(), ec);
  const fs::path core = build / (m->name + ".core.wasm");
  AE_TRY(runStep("wit-bindgen", shellQuote(wit_bindgen) + " c " + shellQuote((dir / "wit").string()) +
                                    " --world app --out-dir " + shellQuote(gen.string()) + " > /dev/null", verbose));
  std::string compile = shellQuote(cc) + " --target=wasm32-wasi -O2 -mexec-model=reactor -Wl,--strip-debug -I" +
                        shellQuote(gen.string());
  for (const auto& s : sources) compile += " " + shellQuote(s.string());
  compile += " " + shellQuote((gen / "app.c").string()) + " " + shellQuote((gen / "app_component_type.o").string()) +
             " -o " + shellQuote(core.string());
  AE_TRY(runStep("compile", compile, verbose));
  AE_TRY(runStep("wasm-tools component new", shellQuote(wasm_tools) + " component new " + shellQuote(core.string()) +
                                                 " --adapt wasi_snapshot_preview1=" + shellQuote(adapter) + " -o " +
                                                 shellQuote(out.string()), verbose));
  AE_TRY(runStep("wasm-tools validate", shellQuote(wasm_tools) + " validate " + shellQuote(out.string()), verbose));
  return out;
}

namespace {

int cmdBuild(const Globals& g, const std::string& dir, bool verbose) {
  auto out = buildApp(dir, verbose);
  if (!out) return reportError(out.error());
  if (g.json) {
    printJson({{"component", out->string()}, {"bytes", fs::file_size(*out)}});
  } else {
    std::cerr << "built " << out->string() << " (" << fs::file_size(*out) << " bytes)\n";
  }
  return 0;
}


int cmdDev(const Globals& g, const std::string& dir, const RunAppArgs& run_args, int max_cycles) {
  auto seen = fs::file_time_type::min();  // (file_time_type{} is 2174 in libstdc++)
  int cycles = 0;
  std::cerr << "aether dev: watching " << fs::absolute(dir).string() << " (Ctrl-C to stop)\n";
  while (max_cycles <= 0 || cycles < max_cycles) {
    const auto now = newestSource(dir);
    if (now != seen) {
      seen = now;
      ++cycles;
      std::cerr << "aether dev: building...\n";
      if (auto out = buildApp(dir, false); !out) {
        reportError(out.error());
      } else {
        std::cerr << "aether dev: running " << out->string() << "\n";
        RunAppArgs a = run_args;
        a.target = dir;
        (void)runAppCommand(g, a);
      }
      std::cerr << "aether dev: waiting for changes\n";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return 0;
}

}  // namespace

void addAppCommands(CLI::App& app, Globals& g, int& rc) {
  static std::string build_dir = ".";
  static bool build_verbose = false;
  auto* build = app.add_subcommand("build", "Build the app in a directory (C -> Wasm component with the Aether SDK)");
  build->add_option("dir", build_dir, "App directory (with aether.toml)")->capture_default_str();
  build->add_flag("-v,--verbose", build_verbose, "Print each tool command");
  build->callback([&] { rc = cmdBuild(g, build_dir, build_verbose); });

  static std::string dev_dir = ".";
  static RunAppArgs dev_args;
  static int dev_cycles = 0;
  auto* dev = app.add_subcommand("dev", "Rebuild and rerun the app whenever its sources change");
  dev->add_option("dir", dev_dir, "App directory (with aether.toml)")->capture_default_str();
  dev->add_flag("--yes,-y", dev_args.yes, "Consent to the app's capabilities without asking");
  dev->add_option("--grant", dev_args.grants, "Request only this capability; repeatable");
  dev->add_option("--policy", dev_args.policy_file, "Space policy file deciding what the app may get")
      ->check(CLI::ExistingFile);
  static std::uint64_t dev_fuel = 0;
  static std::uint64_t dev_time_ms = 0;
  auto* fuel_opt = dev->add_option("--fuel", dev_fuel, "Fuel limit per run (0: no fuel metering)");
  auto* time_opt = dev->add_option("--time-limit,--epoch-ms", dev_time_ms, "Wall-clock limit per run in ms (0: none)");
  dev->add_option("--cycles", dev_cycles, "Stop after this many build+run cycles (0: run until Ctrl-C)");
  dev->callback([&, fuel_opt, time_opt] {
    if (fuel_opt->count() > 0) dev_args.fuel = dev_fuel;
    if (time_opt->count() > 0) dev_args.time_limit_ms = dev_time_ms;
    rc = cmdDev(g, dev_dir, dev_args, dev_cycles);
  });
}

}  // namespace aether::cli
