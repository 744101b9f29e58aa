// `medssl finetune --config F --pretrained RUN_DIR|none --fraction P --repetition R --out DIR [--mode M]`: one
// finetuning run (segmentation or classification) on a label fraction, from a pretrained encoder or from scratch.
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/config/config.h"
#include "medssl/core/log.h"
#include "medssl/finetune/finetune.h"
#include "medssl/finetune/finetune_schema.h"

namespace medssl::cli {
namespace {

struct FinetuneArgs {
  std::string config_path, out, pretrained, mode;
  double fraction = 100.0;
  int repetition = 0;
  std::vector<std::string> sets;
  bool resume = false, help_config = false;
};

std::string score_text(const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.4f}", v.get<double>()) : "n/a"; }

MEDSSL_COMMAND("finetune", [](CLI::App& app) {
  static FinetuneArgs a;
  auto* cmd = app.add_subcommand("finetune", "Finetune a segmentation / classification model on a label fraction");
  cmd->add_option("--config", a.config_path, "JSON config (reference keys accepted; configs/finetune/*.json)");
  cmd->add_option("--pretrained", a.pretrained, "a `medssl pretrain` run folder, or none (random-init baseline)");
  cmd->add_option("--fraction", a.fraction, "percent of the labelled training pool to train on, in (0, 100]");
  cmd->add_option("--repetition", a.repetition, "repetition index (chooses the training subset and seeds)");
  cmd->add_option("--mode", a.mode, "initialized | frozen | random (default: initialized with --pretrained, else random)");
  cmd->add_option("--out", a.out, "run folder: checkpoints, metrics.csv, model.pt, model.json, finetune.json");
  cmd->add_option("--set", a.sets, "override a config key: key=value (repeatable)");
  cmd->add_flag("--resume", a.resume, "continue the run in --out from checkpoints/last.pt");
  cmd->add_flag("--help-config", a.help_config, "print every config key with its default and exit");
  cmd->callback([] {
    if (a.help_config) {
      std::cout << finetune::finetune_schema().to_markdown();
      return;
    }
    apply_global_options();
    check(!a.out.empty(), "finetune: --out DIR is required");
    check(!a.pretrained.empty(), "finetune: --pretrained RUN_DIR|none is required");
    check(!a.config_path.empty() || !a.sets.empty(), "finetune: give --config FILE (and/or --set key=value)");
    finetune::FinetuneRequest request;
    request.config = config::load(a.config_path, finetune::finetune_schema(), a.sets);
    request.pretrained = a.pretrained;
    request.fraction = a.fraction;
    request.repetition = a.repetition;
    request.mode = a.mode;
    request.out_dir = a.out;
    request.resume = a.resume;
    auto s = finetune::run_finetuning(request);
    log::info("finetune {} {}% rep {} done ({} train / {} val / {} test cases): test {} (final model) {}, "
              "(best-val checkpoint) {}; learning-curve mean of {} {}",
              s["mode"].get<std::string>(), s["fraction"].get<double>(), s["repetition"].get<int>(),
              s["n_train"].get<int64_t>(), s["n_val"].get<int64_t>(), s["n_test"].get<int64_t>(),
              s["task"] == "segmentation" ? "mean Dice" : "qw kappa", score_text(s["test_score_final"]),
              score_text(s["test_score_best_val_checkpoint"]), s["validation_metric"].get<std::string>(),
              score_text(s["learning_curve_mean"]["value"]));
  });
});

}  // namespace
}  // namespace medssl::cli
