#include "cli/cli.h"

namespace aether::cli {

void addAppCommands(CLI::App& /*app*/, Globals& /*g*/, int& /*rc*/) {}

}  // namespace aether::cli
