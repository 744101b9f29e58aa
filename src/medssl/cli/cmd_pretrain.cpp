// `medssl pretrain --config CONFIG --out RUN_DIR [--set key=value ...]`: self-supervised pretraining of an encoder.
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/cli/training_run_cli.h"
#include "medssl/config/config.h"
#include "medssl/core/log.h"
#include "medssl/train/distributed.h"
#include "medssl/train/local_launcher.h"
#include "medssl/pretext/pretrain.h"

namespace medssl::cli {
namespace {

struct PretrainArgs {
  std::string config_path, out, init_weights, entry;
  std::vector<std::string> maps;
  double min_match = 1.0;
  bool allow_partial = false;
  TrainingRunArgs run;
};

MEDSSL_COMMAND("pretrain", [](CLI::App& app) {
  static PretrainArgs a;
  auto* cmd = app.add_subcommand("pretrain",
                                 "Self-supervised pretraining (rotation, rpl, jigsaw, exemplar, cpc) of an encoder");
  cmd->add_option("--config", a.config_path, "JSON config (reference keys accepted; configs/pretrain/*.json)");
  cmd->add_option("--out", a.out, "run folder: checkpoints, metrics.csv, encoder.pt, pretrain.json");
  add_training_run_options(cmd, a.run);
  cmd->add_option("--init-weights", a.init_weights, "start from these weights (medssl checkpoint or export, Python "
                  "torch.save state dict; docs/weights.md); writes RUN/transfer.json");
  cmd->add_option("--map", a.maps, "with --init-weights: rename the file's tensors, OLD=NEW prefix (repeatable)");
  cmd->add_option("--min-match", a.min_match, "with --init-weights: fraction of the encoder's tensors the file must "
                  "fill (default 1: all)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--entry", a.entry, "with --init-weights: the nested state dict of a file holding several");
  cmd->add_flag("--allow-partial", a.allow_partial, "with --init-weights: --min-match 0 (load what fits, list the rest)");
  cmd->callback([] {
    if (a.run.help_config) {
      std::cout << pretext::pretrain_schema().to_markdown();
      return;
    }
    apply_global_options();
    begin_training_run("pretrain", "RUN_DIR", a.out);
    check(!a.config_path.empty() || !a.run.sets.empty(), "pretrain: give --config FILE (and/or --set key=value)");
    pretext::PretrainRequest request;
    request.config = config::load(a.config_path, pretext::pretrain_schema(), a.run.sets);
    request.out_dir = a.out;
    request.resume = a.run.resume;
    request.init_weights = a.init_weights;
    request.allow_partial = a.allow_partial;
    request.maps = a.maps;
    request.min_match = a.min_match;
    request.entry = a.entry;
    // --nproc N: this process only launches N ranks, each of which re-runs this command (config checked once here).
    if (train::launch_ranks_if_asked(a.run.nproc, global_options().threads)) return;
    request.distributed = train::join_training_ranks(request.config.get<std::string>("device"));
    auto summary = pretext::run_pretraining(request);
    if (request.distributed && !request.distributed->is_main()) return;
    const std::string monitor = summary.value("monitor", "val_loss");
    auto value = [&](const char* row) -> std::string {
      if (!summary.contains(row) || !summary[row].contains(monitor)) return "n/a";
      return fmt::format("{:.4f}", summary[row][monitor].get<double>());
    };
    log::info("pretrain {} done: {} {} (epoch 1) -> {} (epoch {}); encoder: {}", summary["algorithm"].get<std::string>(),
              monitor, value("first_epoch"), value("last_epoch"), summary["epochs_completed"].get<int64_t>(),
              summary["encoder"].get<std::string>());
  });
});

}  // namespace
}  // namespace medssl::cli
