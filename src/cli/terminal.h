// Terminal helpers for the CLI: passphrase prompts without echo. Not thread-safe (one TTY).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/base.h"

namespace aether::cli {

// True when stdin is a terminal we can prompt on.
bool haveTty();

// Prompts on /dev/tty with echo off and reads one line. kNotFound if there is no TTY.
Result<std::string> readSecretFromTty(std::string_view prompt);

// Asks `question` on /dev/tty and reads one line: true for y / yes (any case), false otherwise.
// kNotFound if there is no TTY.
Result<bool> askYesNo(std::string_view question);

}  // namespace aether::cli
