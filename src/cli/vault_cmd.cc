#include "cli/cli.h"

namespace aether::cli {

void addVaultCommands(CLI::App& /*app*/, Globals& /*g*/, int& /*rc*/) {}

}  // namespace aether::cli
