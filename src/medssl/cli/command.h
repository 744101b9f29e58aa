#pragma once
// Each CLI verb lives in its own cmd_<verb>.cpp and registers itself here with MEDSSL_COMMAND; main() builds the
// CLI11 app from the registry, in the order of `kCommandOrder` (help output follows the user's workflow).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <functional>
#include <string>
#include <vector>

#include "medssl/core/error.h"

namespace medssl::cli {

/// Options every verb shares (set before the verb runs).
struct GlobalOptions {
  int threads = 0;  ///< 0 = all cores
  bool quiet = false;
  bool verbose = false;
};
GlobalOptions& global_options();

using CommandSetup = std::function<void(CLI::App& app)>;

struct CommandEntry {
  std::string name;
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(const std::string& name, CommandSetup setup) {
    command_registry().push_back({name, std::move(setup)});
  }
};

/// Applies --threads/--quiet/--verbose (LibTorch intra-op threads default to all cores; Debian's default is 1).
void apply_global_options();

/// Parses repeated `--set key=value` strings into a JSON object patch (values parsed as JSON when they can be,
/// else taken as strings; dotted keys address nested objects).
std::vector<std::pair<std::string, std::string>> split_overrides(const std::vector<std::string>& sets);

}  // namespace medssl::cli

#define MEDSSL_CONCAT_INNER(a, b) a##b
#define MEDSSL_CONCAT(a, b) MEDSSL_CONCAT_INNER(a, b)
#define MEDSSL_COMMAND(name, setup) static ::medssl::cli::CommandRegistrar MEDSSL_CONCAT(medssl_command_, __LINE__)(name, setup)
