#include "medssl/cli/training_run_cli.h"

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/train/distributed.h"

namespace medssl::cli {

void add_training_run_options(CLI::App* cmd, TrainingRunArgs& args) {
  cmd->add_option("--set", args.sets, "override a config key: key=value (repeatable)");
  cmd->add_flag("--resume", args.resume, "continue the run in --out from checkpoints/last.pt");
  cmd->add_flag("--help-config", args.help_config, "print every config key with its default and exit");
  cmd->add_option("--nproc", args.nproc, "data-parallel processes on this machine (batch_size is their global batch; "
                  "torchrun / srun environments are honoured instead, docs/distributed.md)")
      ->check(CLI::PositiveNumber);
}

void begin_training_run(const std::string& verb, const std::string& out_placeholder, const std::string& out) {
  check(!out.empty(), "{}: --out {} is required", verb, out_placeholder);
  if (train::distributed_env().is_main()) remove_stale_temp_files(out);
}

}  // namespace medssl::cli
