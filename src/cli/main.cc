// The `aether` command. Thin: parses flags with CLI11, calls into node/ and the libraries, and
// turns a Result into output (text or --json on stdout) or an error on stderr + exit code.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/terminal.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "identity/identity.h"
#include "node/node.h"
#include "sandbox/sandbox.h"

namespace aether::cli {
namespace {

using nlohmann::json;

std::optional<std::string> getEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// ---- commands ---------------------------------------------------------------------------------

int cmdInit(const Globals& g, bool insecure_dev) {
  auto home = homeOf(g);
  if (!home) return reportError(home.error());
  auto n = node::Node::init(*home, insecure_dev ? node::KeyProtection::kInsecureDev : node::KeyProtection::kPassphrase,
                            passphraseSource(g));
  if (!n) return reportError(n.error());
  warnInsecure(*n);
  if (g.json) {
    printJson({{"home", n->home().string()}, {"did", n->did()}, {"insecure_dev", n->insecureDev()}});
  } else {
    std::cout << "Initialized node at " << n->home().string() << "\nDID: " << n->did() << "\n";
  }
  return 0;
}

int cmdUp(const Globals& g) {
  auto home = homeOf(g);
  if (!home) return reportError(home.error());
  const bool fresh = !node::isInitialized(*home);
  Result<node::Node> n = fresh ? node::Node::init(*home, node::KeyProtection::kPassphrase, passphraseSource(g))
                               : node::Node::open(*home, passphraseSource(g));
  if (!n) return reportError(n.error());
  warnInsecure(*n);
  std::string guest_output;
  auto r = n->runHello([&guest_output](std::string_view s) { guest_output += s; });
  if (!r) return reportError(r.error());
  if (g.json) {
    printJson({{"home", n->home().string()},
               {"created", fresh},
               {"did", n->did()},
               {"hello", {{"output", guest_output}, {"status", r->value}, {"fuel_used", r->fuel_used}}}});
  } else {
    std::cout << (fresh ? "Created node home " : "Using node home ") << n->home().string() << "\n"
              << "Node DID: " << n->did() << "\n"
              << "Running the bundled hello app (a Wasm component) in the sandbox (" << sandbox::Engine::runtimeVersion() << ")...\n"
              << guest_output << "hello app finished: status " << r->value << ", fuel used " << r->fuel_used << "\n";
  }
  return r->value == 0 ? 0 : kExitError;
}

// Public identity straight from the keystore header: no passphrase needed.
Result<identity::KeystoreInfo> nodeInfo(const Globals& g) {
  AE_ASSIGN_OR_RETURN(auto home, homeOf(g));
  if (!node::isInitialized(home)) {
    return fail(Errc::kNotFound, "no node at " + home.string() + ": run `aether init` first (or `make run`)");
  }
  return node::Node::describe(home);
}

int cmdIdShow(const Globals& g) {
  auto info = nodeInfo(g);
  if (!info) return reportError(info.error());
  if (g.json) {
    printJson({{"did", info->did},
               {"public_key_hex", hexEncode(info->publicKey)},
               {"keystore", info->path.string()},
               {"insecure_dev", info->isInsecure()}});
  } else {
    std::cout << info->did << "\n";
  }
  return 0;
}

int cmdIdDidDoc(const Globals& g, const std::string& did) {
  std::string subject = did;
  if (subject.empty()) {
    auto info = nodeInfo(g);
    if (!info) return reportError(info.error());
    subject = info->did;
  }
  auto doc = identity::didDocument(subject);
  if (!doc) return reportError(doc.error());
  printJson(*doc);
  return 0;
}

int cmdIdNew(const Globals& g, const std::string& out, bool insecure_dev) {
  crypto::SystemRng rng;
  Result<identity::Keystore> created = fail(Errc::kInternal, "unreachable");
  if (insecure_dev) {
    created = identity::Keystore::createInsecureDev(out, rng);
  } else {
    auto pass = passphraseSource(g)("Passphrase to seal the new key: ", true);
    if (!pass) return reportError(pass.error());
    created = identity::Keystore::create(out, asBytes(*pass), identity::KdfParams::moderate(), rng);
  }
  if (!created) return reportError(created.error());
  const std::string file = created->info().path.string();
  if (g.json) {
    printJson({{"did", created->did()}, {"keystore", file}, {"insecure_dev", created->isInsecure()}});
  } else {
    std::cout << created->did() << "\n";
    std::cerr << "sealed key written to " << file << "\n";
  }
  return 0;
}

int cmdCid(const Globals& g, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return reportError(Error{Errc::kIo, "cannot open " + path});
  crypto::Sha256 hasher;
  std::vector<char> buf(1 << 20);
  std::uint64_t size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    hasher.update(ByteView(reinterpret_cast<const std::uint8_t*>(buf.data()), n));
    size += n;
  }
  if (in.bad()) return reportError(Error{Errc::kIo, "read error on " + path});
  const auto digest = hasher.finish();
  auto mh = codec::Multihash::sha256(digest);
  if (!mh) return reportError(mh.error());
  const auto cid = codec::Cid::v1(codec::mc::kRaw, std::move(*mh));
  if (g.json) {
    printJson({{"cid", cid.toString()}, {"size", size}, {"codec", "raw"}, {"hash", "sha2-256"}});
  } else {
    std::cout << cid.toString() << "\n";
  }
  return 0;
}

int cmdRun(const Globals& g, const std::string& path, const std::string& entry, std::uint64_t fuel,
           std::uint64_t time_limit_ms) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return reportError(Error{Errc::kIo, "cannot open " + path});
  Bytes module((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string node_did;
  if (auto home = homeOf(g); home && node::isInitialized(*home)) {
    auto info = node::Node::describe(*home);
    if (!info) return reportError(info.error());
    node_did = info->did;
  }
  auto engine = sandbox::Engine::create();
  if (!engine) return reportError(engine.error());
  std::string output;
  sandbox::HostContext host{.node_did = node_did, .print = [&output, &g](std::string_view s) {
                              if (g.json) {
                                output += s;
                              } else {
                                std::cout << s << std::flush;
                              }
                            }};
  auto r = engine->run(module, entry, host, sandbox::Limits{.fuel = fuel, .time_limit_ms = time_limit_ms});
  if (!r) return reportError(r.error());
  for (const auto& e : r->host_errors) std::cerr << "aether: host call refused: " << e << "\n";
  if (g.json) {
    printJson({{"output", output}, {"status", r->value}, {"fuel_used", r->fuel_used}, {"host_errors", r->host_errors}});
  } else if (r->value != 0) {
    std::cerr << "aether: guest returned status " << r->value << "\n";
  }
  return r->value == 0 ? 0 : kExitError;
}

int cmdVersion(const Globals& g) {
  const std::string version = AETHER_VERSION;
  if (g.json) {
    printJson({{"aether", version}, {"runtime", sandbox::Engine::runtimeVersion()}});
  } else {
    std::cout << "aether " << version << " (" << sandbox::Engine::runtimeVersion() << ")\n";
  }
  return 0;
}

}  // namespace

void addNodeCommands(CLI::App& app, Globals& g, int& rc) {
  // Option targets are static: CLI11 writes them during parse(), after this function returned.

  static bool insecure_dev = false;
  static std::string init_app, init_template;
  auto* init = app.add_subcommand(
      "init", "Create a node home with a new sealed node key; with a NAME, create a new app directory instead");
  init->add_option("name", init_app, "App name: scaffold ./NAME from a template (see --template)");
  init->add_option("--template", init_template, "App template: c");
  init->add_flag("--insecure-dev", insecure_dev,
                 "Seal the key with a fixed public passphrase (throwaway nodes only; says so loudly)");
  init->callback([&] {
    if (!init_app.empty()) {
      rc = scaffoldApp(g, init_app, init_template.empty() ? "c" : init_template);
    } else if (!init_template.empty()) {
      rc = reportError(Error{Errc::kInvalidArgument, "--template needs an app name: aether init NAME --template c"});
    } else {
      rc = cmdInit(g, insecure_dev);
    }
  });

  app.add_subcommand("up", "Initialize the node if needed, print its DID and run the bundled hello guest")
      ->callback([&] { rc = cmdUp(g); });

  auto* id = app.add_subcommand("id", "Node identity (did:key)");
  id->require_subcommand(1);
  id->add_subcommand("show", "Print the node's DID")->callback([&] { rc = cmdIdShow(g); });
  static std::string doc_did;
  auto* did_doc = id->add_subcommand("did-doc", "Print the DID document of the node's DID, or of a given did:key");
  did_doc->add_option("did", doc_did, "A did:key to resolve instead of the node's");
  did_doc->callback([&] { rc = cmdIdDidDoc(g, doc_did); });
  static std::string new_out;
  static bool new_insecure = false;
  auto* id_new = id->add_subcommand("new", "Generate a separate Ed25519 identity sealed into a keystore file");
  id_new->add_option("--out,-o", new_out, "Directory to create the keystore in (gets node.key; must not hold one)")
      ->required();
  id_new->add_flag("--insecure-dev", new_insecure, "Seal with the public dev passphrase");
  id_new->callback([&] { rc = cmdIdNew(g, new_out, new_insecure); });

  static std::string cid_file;
  auto* cid = app.add_subcommand("cid", "Print the CIDv1 (raw codec, sha2-256) of a file's bytes as one block");
  cid->add_option("file", cid_file, "File to hash")->required()->check(CLI::ExistingFile);
  cid->callback([&] { rc = cmdCid(g, cid_file); });

  static std::string run_file;
  static std::string run_entry = "run";
  static std::uint64_t run_fuel = sandbox::Limits{}.fuel;
  static RunAppArgs run_args;
  auto* run = app.add_subcommand(
      "run",
      "Run an app: a directory with aether.toml, a Wasm component (.wasm / .wat), or a core module with "
      "the aether.* imports");
  run->add_option("target", run_file, "App directory, component or core module")->required()->check(CLI::ExistingPath);
  run->add_option("--grant", run_args.grants,
                  "Request only this capability (\"RIGHT RESOURCE\", e.g. \"kv.write app/*\"); repeatable. For a bare "
                  "component it declares it");
  run->add_flag("--yes,-y", run_args.yes, "Consent to the requested capabilities without asking");
  run->add_flag("--json", g.json, "Print {output, status, fuel_used, denials, ...} as JSON (same as aether --json run)");
  run->add_option("--policy", run_args.policy_file, "Space policy file deciding what apps may get (instead of consent)")
      ->check(CLI::ExistingFile);
  run->add_option("--token", run_args.token_file, "Run under this UCAN (delegated to the app's DID) instead of minting one")
      ->check(CLI::ExistingFile);
  run->add_option("--entry", run_entry, "Core modules: exported function to call")->capture_default_str();
  auto* fuel_opt = run->add_option("--fuel", run_fuel, "Fuel limit (0: no fuel metering)")->capture_default_str();
  static std::uint64_t run_time_ms = sandbox::Limits{}.time_limit_ms;
  auto* time_opt = run->add_option("--time-limit,--epoch-ms", run_time_ms,
                                   "Wall-clock limit in ms, enforced by epoch interruption (0: none)")->capture_default_str();
  run->callback([&, fuel_opt, time_opt] {
    run_args.target = run_file;
    if (fuel_opt->count() > 0) run_args.fuel = run_fuel;
    if (time_opt->count() > 0) run_args.time_limit_ms = run_time_ms;
    if (isCoreModuleFile(run_file)) {
      rc = cmdRun(g, run_file, run_entry, run_fuel, run_time_ms);
    } else {
      rc = runAppCommand(g, run_args);
    }
  });

  app.add_subcommand("version", "Print versions")->callback([&] { rc = cmdVersion(g); });
}

int main(int argc, char** argv) {
  Globals g;
  g.env.aether_home = getEnv("AETHER_HOME");
  g.env.home = getEnv("HOME");
  g.env.passphrase = getEnv("AETHER_PASSPHRASE");

  CLI::App app{"aether — a peer-first, WebAssembly-first node.\n"
               "Node home: --home, else $AETHER_HOME, else ~/.aether. Passphrase: $AETHER_PASSPHRASE or a prompt."};
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.require_subcommand(1);
  app.add_flag("--json", g.json, "Machine-readable JSON on stdout");
  app.add_option("--home", g.home, "Node home directory (overrides $AETHER_HOME)");
  int rc = 0;

  addNodeCommands(app, g, rc);
  addAppCommands(app, g, rc);
  addVaultCommands(app, g, rc);
  addLogCommands(app, g, rc);
  addDaemonCommands(app, g, rc);
  addP2PCommands(app, g, rc);
  addCredCommands(app, g, rc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  return rc;
}

}  // namespace aether::cli

int main(int argc, char** argv) { return aether::cli::main(argc, argv); }
