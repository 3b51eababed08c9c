#include "cli/cli.h"

namespace aether::cli {

void addDaemonCommands(CLI::App& /*app*/, Globals& /*g*/, int& /*rc*/) {}

}  // namespace aether::cli
