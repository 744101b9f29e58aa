#pragma once
// The keys of a study config (`medssl study --config configs/studies/<name>.json`), validated like every config.
//
//   name               the study's name (titles of the report and the plot)
//   data_dir           the data set for both stages, unless pretrain_data_dir / finetune_data_dir say otherwise
//   pretrain_data_dir  data the methods pretrain on (unlabelled cases are welcome)
//   finetune_data_dir  labelled data the finetuning trains and tests on
//   methods            list of "rotation" | "baseline" | {"name", "algorithm", "config", "overrides",
//                      "finetune_overrides", "pretrained"}; config = this method's pretrain config (file or object)
//                      instead of pretrain_config: algorithm = any registered pretext/contrastive algorithm, or "baseline"
//                      (random initialisation); overrides = pretrain keys of this method; pretrained = an existing
//                      `medssl pretrain` run to use instead of pretraining
//   fractions          label fractions in percent (5, 10, 25, 50, 100)
//   repetitions        finetuning repetitions per (method, fraction) (folds with finetune do_cross_val)
//   metrics            what results.csv reports per run: dice | jaccard | dice_with_background | reference_dice |
//                      qw_kappa | accuracy; each also as <metric>_best_val (best-validation checkpoint), and the
//                      learning-curve mean as <validation metric>_curve_mean — never mixed with the test scores
//   pretrain_config    a pretrain config file or an inline object (configs/pretrain/*.json keys)
//   finetune_config    a finetune config file or an inline object (configs/finetune/*.json keys)
//   pretrain, finetune per-stage overrides applied last (e.g. --set finetune.epochs_random=2)
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/config/config.h"

namespace medssl::study {

const config::Schema& study_schema();

/// One method of the study, normalised from its string or object form.
struct MethodSpec {
  std::string name;       ///< the row label in results.csv and the plot
  std::string algorithm;  ///< "baseline" or a pretext algorithm
  nlohmann::json overrides = nlohmann::json::object();           ///< pretrain keys
  nlohmann::json finetune_overrides = nlohmann::json::object();  ///< finetune keys for this method's runs
  std::string pretrained;  ///< an existing pretrain run ("" = pretrain here)
  nlohmann::json config;   ///< this method's own pretrain config (file path or object); null = the study's
  bool is_baseline() const { return algorithm == "baseline"; }
};

/// The methods of a validated study config; errors name the entry (duplicate names, unknown fields).
std::vector<MethodSpec> study_methods(const config::Config& study);

/// A stage config: the file or inline object under `key` ("pretrain_config" / "finetune_config"), as JSON, with the
/// study's per-stage overrides (`stage_key`: "pretrain" / "finetune") applied. Paths are read relative to the
/// working directory; errors name the study file and the key.
nlohmann::json stage_config(const config::Config& study, const std::string& key, const std::string& stage_key);
/// The same for a method's own pretrain `config` (file or object) with the study's "pretrain" overrides applied.
nlohmann::json method_pretrain_config(const config::Config& study, const MethodSpec& method);

/// Metric names results.csv may carry for a run (the study's `metrics` key), checked before anything runs.
const std::vector<std::string>& known_metrics();

}  // namespace medssl::study
