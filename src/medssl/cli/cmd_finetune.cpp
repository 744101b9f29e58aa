// `medssl finetune --config F --pretrained RUN_DIR|none --fraction P --repetition R --out DIR [--mode M]`: one
// finetuning run (segmentation or classification) on a label fraction, from a pretrained encoder or from scratch.
#include <iostream>

#include "medssl/cli/command.h"
#include "medssl/cli/training_run_cli.h"
#include "medssl/config/config.h"
#include "medssl/core/log.h"
#include "medssl/train/distributed.h"
#include "medssl/train/local_launcher.h"
#include "medssl/finetune/finetune.h"
#include "medssl/finetune/finetune_schema.h"

namespace medssl::cli {
namespace {

struct FinetuneArgs {
  std::string config_path, out, pretrained, mode, init_weights, entry;
  std::vector<std::string> maps;
  double min_match = 1.0;
  bool strict_contract = false;
  double fraction = 100.0;
  int repetition = 0;
  TrainingRunArgs run;
};

std::string score_text(const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.4f}", v.get<double>()) : "n/a"; }

MEDSSL_COMMAND("finetune", [](CLI::App& app) {
  static FinetuneArgs a;
  auto* cmd = app.add_subcommand("finetune", "Finetune a segmentation / classification model on a label fraction");
  cmd->add_option("--config", a.config_path, "JSON config (reference keys accepted; configs/finetune/*.json)");
  cmd->add_option("--pretrained", a.pretrained, "a `medssl pretrain` run folder, or none (random-init baseline)");
  cmd->add_option("--fraction", a.fraction, "percent of the labelled training pool to train on, in (0, 100]");
  cmd->add_option("--repetition", a.repetition, "repetition index (chooses the training subset and seeds)");
  cmd->add_option("--init-weights", a.init_weights, "start from any weights file instead of a pretrain run: medssl "
                  "checkpoint / export, Python torch.save state dict (docs/weights.md); writes OUT/transfer.json");
  cmd->add_option("--map", a.maps, "with --pretrained / --init-weights: rename the file's tensors, OLD=NEW prefix "
                  "(repeatable), e.g. --map swinViT.=encoder.");
  cmd->add_option("--min-match", a.min_match, "fraction of the model encoder's tensors the weights must fill "
                  "(default 1: all)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--entry", a.entry, "the nested state dict of a torch.save file holding several (e.g. teacher)");
  cmd->add_flag("--strict-contract", a.strict_contract, "a preprocessing difference from the weights' manifest "
                "(spacing, window, channels, patch size, axis order) is an error, not a warning");
  cmd->add_option("--mode", a.mode, "initialized | frozen | random (default: initialized with pretrained weights, else "
                  "random)");
  cmd->add_option("--out", a.out, "run folder: checkpoints, metrics.csv, model.pt, model.json, finetune.json");
  add_training_run_options(cmd, a.run);
  cmd->callback([] {
    if (a.run.help_config) {
      std::cout << finetune::finetune_schema().to_markdown();
      return;
    }
    apply_global_options();
    begin_training_run("finetune", "DIR", a.out);
    check(!a.pretrained.empty() || !a.init_weights.empty(),
          "finetune: --pretrained RUN_DIR|none or --init-weights FILE is required");
    check(!a.config_path.empty() || !a.run.sets.empty(), "finetune: give --config FILE (and/or --set key=value)");
    finetune::FinetuneRequest request;
    request.config = config::load(a.config_path, finetune::finetune_schema(), a.run.sets);
    request.pretrained = a.pretrained.empty() ? "none" : a.pretrained;
    request.init_weights = a.init_weights;
    request.maps = a.maps;
    request.min_match = a.min_match;
    request.entry = a.entry;
    request.strict_contract = a.strict_contract;
    request.fraction = a.fraction;
    request.repetition = a.repetition;
    request.mode = a.mode;
    request.out_dir = a.out;
    request.resume = a.run.resume;
    // --nproc N: this process only launches N ranks, each of which re-runs this command (config checked once here).
    if (train::launch_ranks_if_asked(a.run.nproc, global_options().threads)) return;
    request.distributed = train::join_training_ranks(request.config.get<std::string>("device"));
    auto s = finetune::run_finetuning(request);
    if (request.distributed && !request.distributed->is_main()) return;
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
