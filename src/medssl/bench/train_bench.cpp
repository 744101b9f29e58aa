#include "medssl/bench/train_bench.h"

#include <chrono>

#include "medssl/bench/device_memory.h"
#include "medssl/bench/repeat_batch_source.h"
#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/tensor/threads.h"
#include "medssl/train/trainer.h"

namespace medssl::bench {

namespace {

using Clock = std::chrono::steady_clock;

train::OptimizerOptions optimizer_options(const TrainBenchOptions& o) {
  check(o.optimizer == "adam" || o.optimizer == "adamw" || o.optimizer == "sgd",
        "bench: --optimizer must be adam, adamw or sgd, got \"{}\"", o.optimizer);
  train::OptimizerOptions opt = train::OptimizerOptions::keras_adam(o.lr);  // pretrain/finetune's Adam
  opt.type = o.optimizer;
  if (o.optimizer == "sgd") opt.momentum = 0.9;
  return opt;
}

}  // namespace

TrainBenchResult run_train_bench(const TrainBenchOptions& o) {
  check(o.steps >= 1, "bench: --steps must be >= 1, got {}", o.steps);
  check(o.warmup >= 0, "bench: --warmup must be >= 0, got {}", o.warmup);
  check(std::isfinite(o.lr) && o.lr >= 0, "bench: --lr must be a number >= 0, got {}", o.lr);
  TrainBenchResult result;
  result.baseline_rss_mb = rss_mb();

  BenchNetwork net = build_bench_network(o.network);
  result.label = net.label;
  result.params = models::count_parameters(*net.module);
  result.batch = batch_shapes(net.batch);
  result.samples_per_step = net.batch.size;

  train::TrainerOptions to;
  to.epochs = 1;
  to.steps_per_epoch = o.warmup + o.steps;
  to.save_checkpoints = false;
  to.monitor = "";  // no validation, no best checkpoint
  to.seed = o.network.seed;
  to.device = o.device;
  to.amp = o.amp;
  to.memory_format = o.memory_format;
  to.label = "bench " + net.label;
  to.optimizer = optimizer_options(o);
  to.optimizer.groups = net.param_groups;
  to.optimizer.no_decay_for_bias_and_1d = net.no_decay_for_bias_and_1d;

  RepeatBatchSource source(net.batch, to.steps_per_epoch);
  train::Trainer trainer(net.module, source, net.step, nullptr, to);
  // A step ends when its optimiser step returns; it starts where the previous one ended (or the epoch began).
  std::vector<double> step_seconds;
  Clock::time_point last;
  const torch::Device device = bench_device(o.device);
  trainer.on_epoch_start = [&](int64_t, train::Trainer&) {
    reset_device_peak(device);
    last = Clock::now();
  };
  trainer.after_optimizer_step = [&](train::StepContext& ctx) {
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto now = Clock::now();
    if (ctx.step_in_epoch >= o.warmup) step_seconds.push_back(std::chrono::duration<double>(now - last).count());
    last = now;
  };
  const train::FitResult fit = trainer.fit();
  check(static_cast<int64_t>(step_seconds.size()) == o.steps,
        "bench: {} of {} timed steps completed (steps skipped for a non-finite loss are not timed)",
        step_seconds.size(), o.steps);

  result.channels_last = trainer.channels_last();
  result.step = time_stats(step_seconds);
  result.samples_per_s = static_cast<double>(result.samples_per_step) / result.step.median;
  result.peak_rss_mb = peak_rss_mb();
  result.cuda_peak_mb = device_peak_mb(device);
  if (fit.last_row.contains("data_wait_frac")) result.data_wait_frac = fit.last_row["data_wait_frac"].get<double>();
  return result;
}

nlohmann::ordered_json to_json(const TrainBenchOptions& o, const TrainBenchResult& r) {
  nlohmann::ordered_json j;
  j["side"] = "medssl";
  j["case"] = fmt::format("train {} input={} batch={}", r.label, format_sizes(o.network.input), o.network.batch);
  j["params"] = r.params;
  j["batch"] = r.batch;
  j["samples_per_step"] = r.samples_per_step;
  j["threads"] = torch_threads();
  j["device"] = o.device;
  j["amp"] = o.amp;
  j["memory_format"] = o.memory_format;
  j["channels_last"] = r.channels_last;
  j["optimizer"] = o.optimizer;
  j["step_s"] = {{"median", r.step.median}, {"p10", r.step.p10}, {"p90", r.step.p90},
                 {"mean", r.step.mean},     {"min", r.step.min}, {"max", r.step.max}, {"n", r.step.n}};
  j["samples_per_s"] = r.samples_per_s;
  j["peak_rss_mb"] = r.peak_rss_mb;
  j["baseline_rss_mb"] = r.baseline_rss_mb;
  if (o.device != "cpu") j["cuda_peak_mb"] = r.cuda_peak_mb;
  j["data_wait_frac"] = r.data_wait_frac;
  return j;
}

}  // namespace medssl::bench
