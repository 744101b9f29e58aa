// `medssl pretrain --config CONFIG --out RUN_DIR [--set key=value ...]`: self-supervised pretraining of an encoder.
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/config/config.h"
#include "medssl/core/log.h"
#include "medssl/pretext/pretrain.h"

namespace medssl::cli {
namespace {

struct PretrainArgs {
  std::string config_path, out, init_weights;
  std::vector<std::string> sets;
  bool resume = false, allow_partial = false, help_config = false;
};

MEDSSL_COMMAND("pretrain", [](CLI::App& app) {
  static PretrainArgs a;
  auto* cmd = app.add_subcommand("pretrain",
                                 "Self-supervised pretraining (rotation, rpl, jigsaw, exemplar, cpc) of an encoder");
  cmd->add_option("--config", a.config_path, "JSON config (reference keys accepted; configs/pretrain/*.json)");
  cmd->add_option("--out", a.out, "run folder: checkpoints, metrics.csv, encoder.pt, pretrain.json");
  cmd->add_option("--set", a.sets, "override a config key: key=value (repeatable)");
  cmd->add_flag("--resume", a.resume, "continue the run in --out from checkpoints/last.pt");
  cmd->add_option("--init-weights", a.init_weights, "start from these weights (medssl checkpoint or state dict .pt)");
  cmd->add_flag("--allow-partial", a.allow_partial, "with --init-weights: load matching tensors, list the rest");
  cmd->add_flag("--help-config", a.help_config, "print every config key with its default and exit");
  cmd->callback([] {
    if (a.help_config) {
      std::cout << pretext::pretrain_schema().to_markdown();
      return;
    }
    apply_global_options();
    check(!a.out.empty(), "pretrain: --out RUN_DIR is required");
    check(!a.config_path.empty() || !a.sets.empty(), "pretrain: give --config FILE (and/or --set key=value)");
    pretext::PretrainRequest request;
    request.config = config::load(a.config_path, pretext::pretrain_schema(), a.sets);
    request.out_dir = a.out;
    request.resume = a.resume;
    request.init_weights = a.init_weights;
    request.allow_partial = a.allow_partial;
    auto summary = pretext::run_pretraining(request);
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
