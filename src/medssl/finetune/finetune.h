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
// checkpoints/{last,best}.pt, model.pt (final weights, state dict, manifest embedded) + model.manifest.json +
// model.json (how to rebuild it for `medssl evaluate`), transfer.json (what the initial weights filled: matched /
// adapted / skipped / missing tensors, and the preprocessing-contract differences), finetune.json (the summary).
//
// Initial weights: --pretrained RUN or --init-weights FILE (finetune/weights_source.h), transferred with
// weights/transfer.h; their manifest decides the model's encoder and, for the `prepare` keys the config leaves out,
// the preprocessing; differences from it are listed (an error with strict_contract).
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/config/config.h"
#include "medssl/finetune/finetune_model.h"

namespace medssl::train {
class ProcessGroup;
}

namespace medssl::finetune {

struct FinetuneRequest {
  config::Config config;            ///< validated against finetune_schema()
  std::string pretrained = "none";  ///< a `medssl pretrain` run folder, or "none"
  double fraction = 100.0;          ///< percent of the training pool, (0, 100]
  int repetition = 0;
  std::string mode;                 ///< initialized | frozen | random; "" = initialized with pretrained weights, else random
  /// Initial weights from any weights file instead of a pretrain run (--init-weights; weights/transfer.h).
  std::string init_weights;
  std::vector<std::string> maps;    ///< --map OLD=NEW name maps of the transfer
  double min_match = 1.0;           ///< --min-match: fraction of the encoder's tensors that must be loaded
  std::string entry;                ///< --entry: the nested state dict of a torch.save file
  bool strict_contract = false;     ///< --strict-contract: a preprocessing difference from the weights is an error
  std::string out_dir;
  bool resume = false;
  /// Observer called at each epoch start (0-based epoch) after the freeze state is applied (tests, progress).
  std::function<void(int64_t epoch, const FinetuneModel& model)> on_epoch_start;
  /// A multi-process run (train/distributed.h; null = one process): every rank calls run_finetuning and trains on
  /// its shard of every global batch of batch_size samples; rank 0 alone validates, tests and writes the files.
  std::shared_ptr<train::ProcessGroup> distributed;
};

/// Ids of the cases every finetuning run with config `c` tests on (the same for every fraction and repetition), read
/// from its prepared data: data_dir if that is a cache, else cache_dir. Empty with do_cross_val, where each case is
/// tested by one of the repetitions. `medssl study` keeps these cases out of its pretraining (pretrain key
/// exclude_cases).
std::vector<std::string> held_out_test_cases(const config::Config& c);

/// Runs the finetuning; returns the summary written to OUT/finetune.json.
nlohmann::json run_finetuning(const FinetuneRequest& request);

}  // namespace medssl::finetune
