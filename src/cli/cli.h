// Private to src/cli: what the command groups share (global flags, error reporting, output,
// passphrase prompts). Each group lives in its own file and registers its subcommands with
// add*Commands(); main.cc parses and dispatches. Commands return the process exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/base.h"
#include "api/api.h"
#include "node/node.h"
#include "node/p2p.h"

namespace aether::cli {

inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

struct Globals {
  bool json = false;
  std::optional<std::string> home;
  node::Environment env;
};

// Prints "aether: error: <code>: <message>" on stderr; returns kExitError.
int reportError(const Error& e);
// Warns on stderr when the node's keystore is an insecure dev one.
void warnInsecure(const node::Node& n);
// Passphrase from AETHER_PASSPHRASE, else a TTY prompt, else a clear error.
node::PassphraseSource passphraseSource(const Globals& g);
Result<std::filesystem::path> homeOf(const Globals& g);
void printJson(const nlohmann::json& j);
// Opens the node at the resolved home (kNotFound with a hint when it is not initialized).
Result<node::Node> openNode(const Globals& g);

// `aether run` on an app (directory or component); core modules stay in main.cc.
struct RunAppArgs {
  std::string target;
  std::vector<std::string> grants;
  bool yes = false;
  std::string policy_file;
  std::string token_file;
  std::optional<std::uint64_t> fuel;
  std::optional<std::uint64_t> time_limit_ms;
};
int runAppCommand(const Globals& g, const RunAppArgs& args);
// True for a core module file (binary layer 0, or WAT text starting with "(module").
bool isCoreModuleFile(const std::string& path);

// `aether init <name> --template c` (app_cmd.cc): a new app directory.
int scaffoldApp(const Globals& g, const std::string& name, const std::string& tmpl);
// sdk/wit/host.wit, embedded at build time.
std::string_view sdkHostWit();

// Command groups. `rc` receives the exit code of whichever command ran.
// PITFALL: variables bound with add_option/add_flag must outlive app.parse(), which runs after
// add*Commands returned — never bind locals of add*Commands; use `static` locals (each add* runs
// once per process) or state owned through a std::shared_ptr captured by the callback.
void addNodeCommands(CLI::App& app, Globals& g, int& rc);    // init, up, id, cid, run, version (main.cc)
void addAppCommands(CLI::App& app, Globals& g, int& rc);     // app developer loop (app_cmd.cc)
void addVaultCommands(CLI::App& app, Globals& g, int& rc);   // vault (vault_cmd.cc)
void addLogCommands(CLI::App& app, Globals& g, int& rc);     // log (log_cmd.cc)
void addDaemonCommands(CLI::App& app, Globals& g, int& rc);  // daemon and its API clients (daemon_cmd.cc)
void addP2PCommands(CLI::App& app, Globals& g, int& rc);     // peer, pubsub, dht (p2p_cmd.cc)
void addCredCommands(CLI::App& app, Globals& g, int& rc);    // cred issue|verify (cred_cmd.cc)

// ---- talking to the running daemon (daemon_cmd.cc) ----
struct ClientArgs {
  std::string api;  // --listen; empty: config.toml's [api] listen, else 127.0.0.1:8643
  std::string fingerprint;  // default: the local node's certificate (<home>/tls/cert.pem)
  bool insecure_http = false;
};
void addClientOptions(CLI::App* cmd, ClientArgs& args);
// One request; HTTP errors (>= 300) are reported with the problem's detail. The error side is
// the exit code (kExitUsage / kExitError).
std::expected<api::HttpResponse, int> requestDaemon(const Globals& g, const ClientArgs& args, api::HttpRequest request);
// `aether id login` with the node key: a Bearer token of the running daemon (error: exit code).
std::expected<std::string, int> nodeBearerToken(const Globals& g, const ClientArgs& client);
// requestDaemon + print the JSON answer; returns the exit code.
int callDaemon(const Globals& g, const ClientArgs& args, api::HttpRequest request);

// ---- the daemon's peer overlay (p2p_cmd.cc) ----
struct P2PDaemonArgs {
  std::string listen = "/ip4/0.0.0.0/tcp/4001";
  std::vector<std::string> bootstrap;
  bool off = false;
};
struct P2PRuntime {
  std::unique_ptr<store::Vault> vault;  // the peer store
  std::unique_ptr<node::P2PService> service;
};
void addP2PDaemonOptions(CLI::App* daemon, P2PDaemonArgs& args);
// Hooks the overlay into `options` (onStart, onStop, routes) and writes <home>/api-token.
[[nodiscard]] Status configureP2P(const node::Node& n, const P2PDaemonArgs& args, api::DaemonOptions& options,
                                  P2PRuntime& rt);

}  // namespace aether::cli
