// `medssl bench train|data|sliding-window`: performance measurements of the real training step, data pipeline and
// sliding-window inference (docs/bench.md). bench/compare.sh runs them next to their PyTorch peers (bench/peer/).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "medssl/bench/bench_stats.h"
#include "medssl/bench/data_bench.h"
#include "medssl/bench/sliding_window_bench.h"
#include "medssl/bench/train_bench.h"
#include "medssl/cli/command.h"
#include "medssl/core/error.h"
#include "medssl/core/version.h"

namespace medssl::cli {
namespace {

using json = nlohmann::json;

// "0,1,2" or "1..4" (inclusive) -> worker counts.
std::vector<int> parse_workers(const std::string& text) {
  std::vector<int> out;
  const auto range = text.find("..");
  try {
    if (range != std::string::npos) {
      const int lo = std::stoi(text.substr(0, range)), hi = std::stoi(text.substr(range + 2));
      check(lo >= 0 && hi >= lo, "--workers: range '{}' must be LO..HI with 0 <= LO <= HI", text);
      for (int w = lo; w <= hi; ++w) out.push_back(w);
      return out;
    }
    size_t start = 0;
    while (start <= text.size()) {
      const size_t comma = text.find(',', start);
      const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t used = 0;
      out.push_back(std::stoi(part, &used));
      check(used == part.size(), "--workers: '{}' is not a number", part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } catch (const std::logic_error&) {
    fail("--workers: '{}' must be a list like 0,1,2 or a range like 1..4", text);
  }
  return out;
}

json versions() {
  return {{"medssl", MEDSSL_VERSION}, {"commit", MEDSSL_GIT_COMMIT}, {"libtorch", TORCH_VERSION}};
}

void print_json(nlohmann::ordered_json record) {
  record["versions"] = versions();
  std::printf("%s\n", record.dump().c_str());
}

struct TrainArgs {
  bench::TrainBenchOptions options;
  std::string input;
  std::vector<std::string> sets;
  bool json = false;
};

void run_train(const TrainArgs& args) {
  apply_global_options();
  bench::TrainBenchOptions o = args.options;
  o.network.input = bench::parse_sizes(args.input, "--input", 3, 4);
  o.network.sets = args.sets;
  const auto result = bench::run_train_bench(o);
  const auto record = bench::to_json(o, result);
  if (args.json) return print_json(record);
  fmt::print("{}: {} parameters, {} samples/step | step median {:.4f} s (p10 {:.4f}, p90 {:.4f}, n {}) | {:.2f} "
             "samples/s | peak RSS {:.0f} MiB{}\n",
             record["case"].get<std::string>(), result.params, result.samples_per_step, result.step.median,
             result.step.p10, result.step.p90, result.step.n, result.samples_per_s, result.peak_rss_mb,
             o.device == "cpu" ? "" : fmt::format(", {} peak {:.0f} MiB", o.device, result.cuda_peak_mb));
}

struct DataArgs {
  bench::DataBenchOptions options;
  std::string workers = "0..2";
  std::vector<std::string> sets;
  bool two_d = false, no_preload = false, json = false;
};

void run_data(const DataArgs& args) {
  apply_global_options();
  bench::DataBenchOptions o = args.options;
  o.workers = parse_workers(args.workers);
  o.sets = args.sets;
  o.data_is_3d = !args.two_d;
  o.preload = !args.no_preload;
  const auto result = bench::run_data_bench(o);
  const auto record = bench::to_json(o, result);
  if (args.json) return print_json(record);
  fmt::print("{}: {} images, {} samples/batch, prepared in {:.1f} s\n", record["case"].get<std::string>(),
             result.images, result.samples_per_batch, result.prepare_s);
  for (const auto& row : result.rows)
    fmt::print("  workers {:>2}: {:8.2f} batches/s {:9.1f} samples/s\n", row.workers, row.batches_per_s,
               row.samples_per_s);
}

struct SlidingArgs {
  bench::SlidingWindowBenchOptions options;
  std::string volume = "192x192x96";
  bool json = false;
};

void run_sliding(const SlidingArgs& args) {
  apply_global_options();
  bench::SlidingWindowBenchOptions o = args.options;
  o.volume = bench::parse_sizes(args.volume, "--volume", 3, 3);
  const auto result = bench::run_sliding_window_bench(o);
  const auto record = bench::to_json(o, result);
  if (args.json) return print_json(record);
  fmt::print("{}: {} windows in {:.3f} s (median of {}) | {:.2f} windows/s | peak RSS {:.0f} MiB\n",
             record["case"].get<std::string>(), result.windows, result.median_s, result.seconds.size(),
             result.windows_per_s, result.peak_rss_mb);
}

MEDSSL_COMMAND("bench", [](CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure training-step time, data-pipeline rate and sliding-window inference "
                                          "(bench/compare.sh compares them with PyTorch)");
  cmd->require_subcommand(1);

  static TrainArgs t;
  auto* train = cmd->add_subcommand("train", "Time forward + backward + optimiser step of a network through the trainer");
  auto* what = train->add_option_group("network", "exactly one of");
  what->add_option("--model", t.options.network.model, "unet3d | unet2d | densenet121_2d | unetr | swinunetr");
  what->add_option("--task", t.options.network.task, "a pretext task: rotation | rpl | jigsaw | exemplar | cpc | simsiam ...");
  what->require_option(1);
  train->add_option("--input", t.input, "image shape C x D x H x W or C x H x W (e.g. 1x64x64x64)")->required();
  train->add_option("--batch", t.options.network.batch, "images per batch")->check(CLI::Range(int64_t{1}, int64_t{1 << 20}))->capture_default_str();
  train->add_option("--steps", t.options.steps, "timed steps")->check(CLI::Range(int64_t{1}, int64_t{1000000}))->capture_default_str();
  train->add_option("--warmup", t.options.warmup, "untimed steps first")->check(CLI::Range(int64_t{0}, int64_t{1000000}))->capture_default_str();
  train->add_option("--optimizer", t.options.optimizer, "adam (eps 1e-7) | adamw | sgd (momentum 0.9)")->capture_default_str();
  train->add_option("--lr", t.options.lr, "learning rate")->capture_default_str();
  train->add_option("--device", t.options.device, "cpu | cuda | cuda:N")->capture_default_str();
  train->add_option("--amp", t.options.amp, "none | bf16 | fp16 (CUDA autocast)")->capture_default_str();
  train->add_option("--memory-format", t.options.memory_format,
                    "auto (channels-last where measured faster: 2D DenseNet on CPU, convolutional networks on CUDA) | "
                    "contiguous | channels_last")
      ->check(CLI::IsMember({"auto", "contiguous", "channels_last"}))
      ->capture_default_str();
  train->add_option("--set", t.sets, "pretrain config key=value for --task (patches_per_side=4, enc_filters=8, ...)");
  train->add_option("--seed", t.options.network.seed, "seed of the weights and the random batch")->capture_default_str();
  train->add_flag("--json", t.json, "print one JSON record");
  train->callback([] { run_train(t); });

  static DataArgs d;
  auto* data = cmd->add_subcommand("data", "Batches per second of the pretraining data pipeline with 0..N loader threads");
  data->add_option("--task", d.options.task, "pretext task whose make_batch runs")->capture_default_str();
  data->add_option("--dataset", d.options.dataset, "raw data set or prepare cache (default: a synthetic CT set)");
  data->add_option("--work-dir", d.options.work_dir, "keep the synthetic set and cache here (default: a temporary folder)");
  data->add_option("--cases", d.options.cases, "synthetic cases")->check(CLI::Range(2, 100000))->capture_default_str();
  data->add_option("--synth-size", d.options.synth_size, "synthetic in-plane size")->check(CLI::Range(16, 1024))->capture_default_str();
  data->add_option("--data-dim", d.options.data_dim, "side the images are prepared to")->check(CLI::Range(int64_t{8}, int64_t{4096}))->capture_default_str();
  data->add_flag("--2d", d.two_d, "2D task on slices of the volumes");
  data->add_option("--batch", d.options.batch, "images per batch")->check(CLI::Range(int64_t{1}, int64_t{1 << 20}))->capture_default_str();
  data->add_option("--batches", d.options.batches, "batches timed per worker count")->check(CLI::Range(int64_t{1}, int64_t{1000000}))->capture_default_str();
  data->add_option("--workers", d.workers, "worker counts: a list 0,1,2 or a range 1..4")->capture_default_str();
  data->add_option("--prefetch", d.options.prefetch, "batches built ahead")->check(CLI::Range(1, 1024))->capture_default_str();
  data->add_flag("--no-preload", d.no_preload, "read and decode each image from the cache on every access");
  data->add_option("--set", d.sets, "pretrain config key=value for the task");
  data->add_option("--seed", d.options.seed, "seed of the synthetic data and the batch order")->capture_default_str();
  data->add_flag("--json", d.json, "print one JSON record");
  data->callback([] { run_data(d); });

  static SlidingArgs s;
  auto* sliding = cmd->add_subcommand("sliding-window", "Time sliding-window inference over a random volume");
  sliding->add_option("--volume", s.volume, "volume size i x j x k (NIfTI order, e.g. 512x512x128)")->capture_default_str();
  sliding->add_option("--channels", s.options.channels, "image channels")->check(CLI::Range(int64_t{1}, int64_t{64}))->capture_default_str();
  sliding->add_option("--roi", s.options.roi, "cubic window side")->check(CLI::Range(int64_t{8}, int64_t{1024}))->capture_default_str();
  sliding->add_option("--overlap", s.options.overlap, "window overlap in [0, 1)")->capture_default_str();
  sliding->add_option("--sw-batch", s.options.sw_batch, "windows per network call")->check(CLI::Range(int64_t{1}, int64_t{4096}))->capture_default_str();
  sliding->add_option("--mode", s.options.mode, "blending: constant | gaussian")->capture_default_str();
  sliding->add_option("--model", s.options.model, "unet3d | unetr | swinunetr")->capture_default_str();
  sliding->add_option("--repeats", s.options.repeats, "timed runs")->check(CLI::Range(int64_t{1}, int64_t{1000}))->capture_default_str();
  sliding->add_option("--device", s.options.device, "cpu | cuda | cuda:N")->capture_default_str();
  sliding->add_flag("--json", s.json, "print one JSON record");
  sliding->callback([] { run_sliding(s); });
});

}  // namespace
}  // namespace medssl::cli
