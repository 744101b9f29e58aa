#pragma once
// `medssl bench sliding-window`: the time of sliding-window inference (train/sliding_window.h, MONAI's algorithm, as
// `medssl predict` and finetuning validation run it) over a random volume with a network in eval mode, no grad.
//
// --volume is given like `medssl info` shapes, in NIfTI voxel order i x j x k (512x512x128 = a CT scan of 128 axial
// 512^2 slices); the tensor is (1, C, k, j, i), medssl's (C, D, H, W) convention.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medssl::bench {

struct SlidingWindowBenchOptions {
  std::vector<int64_t> volume{192, 192, 96};  ///< i x j x k
  int64_t channels = 1;
  int64_t roi = 96;
  double overlap = 0.5;
  int64_t sw_batch = 1;          ///< windows per network call
  std::string mode = "gaussian"; ///< constant | gaussian
  std::string model = "unet3d";  ///< unet3d | unetr | swinunetr (bench_network.h)
  int64_t repeats = 1;           ///< timed runs (after one warm-up window batch)
  std::string device = "cpu";
  uint64_t seed = 0;
};

struct SlidingWindowBenchResult {
  int64_t params = 0;
  int64_t windows = 0;
  std::vector<double> seconds;  ///< per timed run
  double median_s = 0.0;
  double windows_per_s = 0.0;
  double peak_rss_mb = 0.0;
};

SlidingWindowBenchResult run_sliding_window_bench(const SlidingWindowBenchOptions& options);

nlohmann::ordered_json to_json(const SlidingWindowBenchOptions& options, const SlidingWindowBenchResult& result);

}  // namespace medssl::bench
