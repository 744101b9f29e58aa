#pragma once
// `medssl finetune`: ONE finetuning run = (mode, label fraction, repetition), end to end (healthml.md section 6):
//
//   data_dir (raw data set or prepare cache) -> labelled cases -> protocol_split (fixed test + val, nested training
//   subset of the fraction for this repetition) -> model (UNet / classifier matching the pretrain run's encoder) ->
//   mode: initialized (pretrained encoder loaded strictly, frozen for epochs_warmup epochs, then everything trains with
//   a fresh optimiser) | frozen (pretrained encoder frozen throughout) | random (no pretrained weights, the baseline)
//   -> Trainer (validation metric per epoch: val_dice or val_qw_kappa; best checkpoint by it)
//   -> test metrics of the FINAL model (the reference's protocol) and, separately, of the best-validation checkpoint,
//   and the learning-curve mean of the validation metric (an area under the curve, labelled as such, never a final
//   score).
//
// Files in OUT: config.json, request.json (mode / fraction / repetition / pretrained), metrics.csv / metrics.jsonl,
// checkpoints/{last,best}.pt, model.pt (final weights, state dict) + model.json (how to rebuild it for
// `medssl evaluate`), finetune.json (the summary).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/config/config.h"
#include "medssl/finetune/finetune_model.h"

namespace medssl::finetune {

struct FinetuneRequest {
  config::Config config;            ///< validated against finetune_schema()
  std::string pretrained = "none";  ///< a `medssl pretrain` run folder, or "none"
  double fraction = 100.0;          ///< percent of the training pool, (0, 100]
  int repetition = 0;
  std::string mode;                 ///< initialized | frozen | random; "" = initialized with a pretrained run, else random
  std::string out_dir;
  bool resume = false;
  /// Observer called at each epoch start (0-based epoch) after the freeze state is applied (tests, progress).
  std::function<void(int64_t epoch, const FinetuneModel& model)> on_epoch_start;
};

/// Runs the finetuning; returns the summary written to OUT/finetune.json.
nlohmann::json run_finetuning(const FinetuneRequest& request);

}  // namespace medssl::finetune
