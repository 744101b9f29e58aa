#pragma once
// What the two training verbs, `medssl pretrain` and `medssl finetune`, share on the command line: --set overrides,
// --resume, --help-config and --nproc, and what happens to the run folder before a run starts.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace medssl::cli {

struct TrainingRunArgs {
  std::vector<std::string> sets;  ///< --set key=value, applied to the config before validation
  bool resume = false;
  bool help_config = false;
  int nproc = 1;
};

/// Adds --set, --resume, --help-config and --nproc to a training verb.
void add_training_run_options(CLI::App* cmd, TrainingRunArgs& args);

/// Before a training verb loads its config: --out must be given, and the temporaries a killed earlier run left in it
/// are removed (never a finished file). Rank 0 only: on another node of a multi-node run, rank 0's live temporaries
/// would look like a dead process's.
/// `out_placeholder` names --out's value in the message (RUN_DIR, DIR), as the verb's usage line does.
void begin_training_run(const std::string& verb, const std::string& out_placeholder, const std::string& out);

}  // namespace medssl::cli
