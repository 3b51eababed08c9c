#include <cstdlib>
#include <iostream>

#include "cli/cli.h"
#include "cli/terminal.h"

namespace aether::cli {

int reportError(const Error& e) {
  std::cerr << "aether: error: " << e.toString() << "\n";
  return kExitError;
}

void warnInsecure(const node::Node& n) {
  if (n.insecureDev()) {
    std::cerr << "aether: WARNING: " << n.home().string()
              << " uses an INSECURE DEV keystore (sealed with a public passphrase). Do not keep anything of value "
                 "in it.\n";
  }
}

node::PassphraseSource passphraseSource(const Globals& g) {
  return [&g](std::string_view prompt, bool confirm) -> Result<std::string> {
    if (g.env.passphrase) return *g.env.passphrase;
    if (!haveTty()) {
      return fail(Errc::kInvalidArgument,
                  "a passphrase is needed but there is no terminal to ask on: set AETHER_PASSPHRASE, "
                  "or use `aether init --insecure-dev` for a throwaway node");
    }
    AE_ASSIGN_OR_RETURN(std::string first, readSecretFromTty(prompt));
    if (confirm) {
      if (first.empty()) return fail(Errc::kInvalidArgument, "empty passphrase refused");
      AE_ASSIGN_OR_RETURN(std::string again, readSecretFromTty("Repeat the passphrase: "));
      if (again != first) return fail(Errc::kInvalidArgument, "the two passphrases differ");
    }
    return first;
  };
}

Result<std::filesystem::path> homeOf(const Globals& g) { return node::resolveHome(g.home, g.env); }

void printJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

Result<node::Node> openNode(const Globals& g) {
  AE_ASSIGN_OR_RETURN(auto home, homeOf(g));
  if (!node::isInitialized(home)) {
    return fail(Errc::kNotFound, "no node at " + home.string() + ": run `aether init` first (or `make run`)");
  }
  AE_ASSIGN_OR_RETURN(node::Node n, node::Node::open(home, passphraseSource(g)));
  warnInsecure(n);
  return n;
}

}  // namespace aether::cli
