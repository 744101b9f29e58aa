#pragma once
// `medssl bench train`: the time of one training step (forward + loss + backward + optimiser step) of a network,
// measured through the real train::Trainer (the loop `pretrain` and `finetune` run, with its zero_grad, loss check,
// schedule and metrics), fed by a source that repeats one prepared batch so no data loading is timed.
//
// Each step is timed from the end of the previous optimiser step to the end of this one (Trainer hooks), so the
// trainer's own per-step work is included. The first `warmup` steps are dropped (allocator and oneDNN warm-up).
// Memory: the process' peak resident set (VmHWM) over the whole run, the resident set before the network was built,
// and on CUDA the caching allocator's peak.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "medssl/bench/bench_network.h"
#include "medssl/bench/bench_stats.h"

namespace medssl::bench {

struct TrainBenchOptions {
  NetworkRequest network;
  int64_t steps = 5;
  int64_t warmup = 2;
  std::string optimizer = "adam";  ///< adam (Keras epsilon 1e-7, as pretrain/finetune) | adamw | sgd
  double lr = 1e-4;
  std::string device = "cpu";
  std::string amp = "none";        ///< none | bf16 | fp16 (CUDA)
  std::string memory_format = "auto";  ///< the training key: auto | contiguous | channels_last (train/memory_format.h)
};

struct TrainBenchResult {
  std::string label;
  int64_t params = 0;              ///< trainable parameters
  nlohmann::ordered_json batch;    ///< tensor name -> shape
  int64_t samples_per_step = 0;    ///< Batch::size
  TimeStats step;                  ///< seconds per step (timed steps only)
  double samples_per_s = 0.0;      ///< samples_per_step / median step time
  double peak_rss_mb = 0.0, baseline_rss_mb = 0.0;
  double cuda_peak_mb = 0.0;       ///< 0 on CPU
  double data_wait_frac = 0.0;     ///< the trainer's own measurement (about 0 here by construction)
  bool channels_last = false;      ///< what memory_format resolved to
};

TrainBenchResult run_train_bench(const TrainBenchOptions& options);

/// The JSON record of `medssl bench train --json` (fields shared with bench/peer/peer_common.py).
nlohmann::ordered_json to_json(const TrainBenchOptions& options, const TrainBenchResult& result);

}  // namespace medssl::bench
