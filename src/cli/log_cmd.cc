#include "cli/cli.h"

namespace aether::cli {

void addLogCommands(CLI::App& /*app*/, Globals& /*g*/, int& /*rc*/) {}

}  // namespace aether::cli
