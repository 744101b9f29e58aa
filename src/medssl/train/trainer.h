#pragma once
// The task-agnostic training loop. It is given a model, a batch source, a step function (batch -> loss + metrics)
// and optionally an evaluation function, and owns everything else: optimiser and lr schedule, gradient clipping,
// non-finite loss policy, mixed precision, validation cadence, best/last checkpoints, early stopping, metrics.csv /
// metrics.jsonl, progress output, data-wait measurement, the frozen-encoder warm-up, and exact resume.
//
// Files under TrainerOptions::run_dir: checkpoints/last.pt (+ last.json manifest), checkpoints/best.pt, metrics.csv,
// metrics.jsonl. Epochs are 0-based inside the API (StepContext, TrainingState) and 1-based in logs, messages and
// the "epoch" column of the metrics files (the number of epochs completed).
//
// Data parallel (TrainerOptions::distributed, docs/distributed.md): every rank runs the same Trainer on its shard of
// each global batch (data_shard.h). Rank 0's weights are broadcast at the start, gradients are averaged after each
// backward pass (before clipping and the optimiser step, so every rank applies the same update), buffers follow rank 0
// every step, and the loss, sample counts and metrics are summed over ranks, so the logged numbers describe the global
// batch. Only rank 0 validates, writes checkpoints and metrics files and prints progress; it tells the others when
// to stop early. A non-finite loss on any rank skips (or stops) the step on every rank.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"
#include "medssl/train/amp.h"
#include "medssl/train/batch_source.h"
#include "medssl/train/checkpoint.h"
#include "medssl/train/distributed.h"
#include "medssl/train/metrics_log.h"
#include "medssl/train/optim.h"
#include "medssl/train/schedule.h"

namespace medssl::train {

struct TrainerOptions {
  int64_t epochs = 1;
  int64_t steps_per_epoch = 0;         ///< 0 = BatchSource::size()
  int64_t validate_every = 1;          ///< epochs between validations (the last epoch is always validated)
  int64_t checkpoint_every_steps = 0;  ///< also write last.pt every N global steps (it is always written per epoch)
  bool save_checkpoints = true;        ///< false: no last.pt / best.pt (metrics files are still written)

  std::string monitor = "val_loss";  ///< metrics column for best.pt and early stopping; "" = neither
  std::string monitor_mode = "min";  ///< min | max
  int64_t early_stopping_patience = 0;  ///< stop after this many validations without improvement; 0 = off
  double early_stopping_min_delta = 0.0;

  std::string nan_policy = "stop";  ///< stop: throw medssl::Error; skip: drop the step (no update) and continue
  int64_t max_skipped_steps = 10;   ///< skip: more skipped steps than this in the run -> stop

  uint64_t seed = 0;
  std::string device = "cpu";  ///< cpu | cuda | cuda:N
  std::string amp = "none";    ///< none | bf16 | fp16 (CUDA only; on CPU a warning and fp32)
  std::string memory_format = "auto";  ///< auto | contiguous | channels_last (memory_format.h)
  int64_t log_every_steps = 0;  ///< also log a plain progress line every N steps (0 = only the Progress line)
  std::string run_dir;          ///< "" = write no files at all
  std::string label = "train";  ///< shown in progress lines

  OptimizerOptions optimizer;
  ScheduleOptions schedule;  ///< base_lr is taken from optimizer.lr; total_steps 0 = epochs * steps_per_epoch
  ClipOptions clip;

  /// Frozen-encoder warm-up (reference 6.3): these parameter-name prefixes are frozen (freeze.h) from the start;
  /// at epoch `unfreeze_at_epoch` (0-based) they are unfrozen and the optimiser is rebuilt with fresh state.
  /// unfreeze_at_epoch < 0 keeps them frozen for the whole run.
  std::vector<std::string> frozen_prefixes;
  int64_t unfreeze_at_epoch = -1;

  /// Data-parallel run: the process group of all ranks (null = a single process); see the header comment.
  std::shared_ptr<ProcessGroup> distributed;
  /// With `distributed`: BatchNorm layers built by make_batch_norm use the statistics of the global batch
  /// (models/sync_batch_norm.h). Without it each rank normalises with its own shard's statistics.
  bool sync_bn = false;

  std::string config_json;   ///< stored verbatim in every checkpoint
  nlohmann::json manifest = nlohmann::json::object();  ///< free-form; stored in checkpoints and as last.json
};

/// Given to the step/eval functions: where the loop is, the device, and the trainer's seeded generator (its state is
/// checkpointed, so augmentations drawn from it replay identically after a resume).
struct StepContext {
  int64_t epoch = 0;          ///< 0-based
  int64_t step_in_epoch = 0;  ///< 0-based index of this step
  int64_t global_step = 0;    ///< 0-based index of this step
  double lr = 0.0;
  torch::Device device = torch::kCPU;
  Rng* rng = nullptr;
};

struct StepOutput {
  torch::Tensor loss;                      ///< scalar; backward() is called on it
  std::map<std::string, double> metrics;  ///< averaged over the epoch (sample-weighted), logged as train_<name>
};

using StepFn = std::function<StepOutput(const Batch& batch, StepContext& ctx)>;
/// Runs validation (the trainer has set model.eval() and no-grad); names are logged with a "val_" prefix unless
/// they already carry it.
using EvalFn = std::function<std::map<std::string, double>(StepContext& ctx)>;

struct FitResult {
  int64_t epochs_completed = 0;
  int64_t global_step = 0;
  bool early_stopped = false;
  double best_metric = 0.0;  ///< NaN if never monitored
  int64_t best_epoch = -1;   ///< 1-based epoch of best_metric, -1 if none
  int64_t skipped_steps = 0;
  nlohmann::ordered_json last_row;  ///< the last metrics row
};

class Trainer {
 public:
  Trainer(std::shared_ptr<torch::nn::Module> model, BatchSource& source, StepFn step, EvalFn evaluate,
          TrainerOptions options);
  ~Trainer();

  /// Trains from scratch (seeds torch and the trainer generator with options.seed).
  FitResult fit();
  /// Continues the run saved in `checkpoint_path` (usually RUN_DIR/checkpoints/last.pt) up to options.epochs; with
  /// the same seed and options the result equals the uninterrupted run's.
  FitResult resume(const std::string& checkpoint_path);

  /// Replaces the optimiser by a fresh one over the currently trainable parameters.
  void rebuild_optimizer();
  torch::optim::Optimizer& optimizer() { return *optimizer_.optimizer; }
  const std::vector<ParamGroupInfo>& param_groups() const { return optimizer_.groups; }
  const LrSchedule& schedule() const { return schedule_; }
  const TrainingState& state() const { return state_; }
  const MetricsLog& metrics_log() const { return metrics_; }
  Rng& rng() { return rng_; }
  torch::Device device() const { return device_; }

  /// Called after each successful optimiser step (e.g. an EMA teacher update), and at each epoch start after the
  /// freeze state and model.train() are set (e.g. per-epoch hyper-parameters).
  std::function<void(StepContext&)> after_optimizer_step;
  std::function<void(int64_t epoch, Trainer&)> on_epoch_start;

  std::string checkpoint_dir() const;
  /// Whether the model's convolution weights were put in channels-last format (memory_format.h; known after fit()
  /// or resume() began).
  bool channels_last() const { return channels_last_; }
  std::string last_checkpoint_path() const;
  std::string best_checkpoint_path() const;
  /// Writes a checkpoint of the current state to `path` (atomic).
  void save_checkpoint_to(const std::string& path);
  /// True on the rank that writes files and validates: always in a single process, rank 0 in a data-parallel run.
  bool is_main() const { return !options_.distributed || options_.distributed->is_main(); }

 private:
  struct EpochAccumulators;
  void setup();
  FitResult run_loop();
  bool frozen_at(int64_t epoch) const;
  void set_frozen(bool frozen);
  void train_one_step(int64_t epoch, int64_t steps, EpochAccumulators& acc);
  nlohmann::ordered_json finish_epoch(int64_t epoch, const EpochAccumulators& acc, bool& stop);
  void write_last_checkpoint();
  void reseed_for_rank();
  bool decided_by_main(bool flag);

  std::shared_ptr<torch::nn::Module> model_;
  BatchSource& source_;
  StepFn step_;
  EvalFn evaluate_;
  TrainerOptions options_;
  torch::Device device_ = torch::kCPU;
  AmpMode amp_ = AmpMode::none;
  LossScaler scaler_;
  BuiltOptimizer optimizer_;
  LrSchedule schedule_;
  MetricsLog metrics_;
  Rng rng_;
  TrainingState state_;
  int64_t steps_per_epoch_ = 0;
  bool frozen_ = false;
  bool channels_last_ = false;
  bool writes_files_ = false;  ///< run_dir given and this is the main rank
  std::unique_ptr<EpochAccumulators> partial_;  ///< restored partial-epoch sums after a mid-epoch resume
};

}  // namespace medssl::train
