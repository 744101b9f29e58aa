#include "medssl/bench/sliding_window_bench.h"

#include <chrono>

#include "medssl/bench/bench_network.h"
#include "medssl/bench/bench_stats.h"
#include "medssl/bench/device_memory.h"
#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/tensor/threads.h"
#include "medssl/train/sliding_window.h"

namespace medssl::bench {

namespace {
using Clock = std::chrono::steady_clock;
}

SlidingWindowBenchResult run_sliding_window_bench(const SlidingWindowBenchOptions& o) {
  check(o.volume.size() == 3, "bench sliding-window: --volume must be i x j x k, got {}", format_sizes(o.volume));
  check(o.roi >= 1 && o.sw_batch >= 1 && o.repeats >= 1 && o.channels >= 1,
        "bench sliding-window: --roi, --sw-batch, --repeats and --channels must be >= 1");
  check(o.overlap >= 0.0 && o.overlap < 1.0, "bench sliding-window: --overlap must be in [0, 1), got {}", o.overlap);
  check(o.model == "unet3d" || o.model == "unetr" || o.model == "swinunetr",
        "bench sliding-window: --model must be a 3D segmentation network (unet3d, unetr, swinunetr), got {}", o.model);
  const torch::Device device = bench_device(o.device);

  // The network is built for one roi-sized window (UNETR / SwinUNETR fix their input size at construction).
  NetworkRequest request;
  request.model = o.model;
  request.input = {o.channels, o.roi, o.roi, o.roi};
  request.batch = 1;
  request.seed = o.seed;
  BenchNetwork net = build_bench_network(request);
  net.module->to(device);
  net.module->eval();

  SlidingWindowBenchResult result;
  result.params = models::count_parameters(*net.module);
  const torch::Tensor volume =
      torch::rand({1, o.channels, o.volume[2], o.volume[1], o.volume[0]}, torch::TensorOptions().device(device));
  int64_t windows = 0;
  const train::WindowPredictor predictor = [&](const torch::Tensor& x) {
    windows += x.size(0);
    return net.forward(x);
  };
  train::SlidingWindowOptions sw({o.roi});
  sw.sw_batch_size(o.sw_batch).overlap({o.overlap}).mode(train::parse_blend_mode(o.mode));

  torch::NoGradGuard no_grad;
  predictor(torch::rand({1, o.channels, o.roi, o.roi, o.roi}, volume.options()));  // warm-up (oneDNN primitives)
  for (int64_t r = 0; r < o.repeats; ++r) {
    windows = 0;
    const auto start = Clock::now();
    const torch::Tensor out = train::sliding_window_inference(volume, predictor, sw);
    if (device.is_cuda()) torch::cuda::synchronize();
    result.seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    check(out.size(2) == volume.size(2) && out.size(4) == volume.size(4), "bench sliding-window: output shape differs");
  }
  result.windows = windows;
  result.median_s = quantile(result.seconds, 0.5);
  result.windows_per_s = static_cast<double>(windows) / result.median_s;
  result.peak_rss_mb = peak_rss_mb();
  return result;
}

nlohmann::ordered_json to_json(const SlidingWindowBenchOptions& o, const SlidingWindowBenchResult& r) {
  nlohmann::ordered_json j;
  j["side"] = "medssl";
  j["case"] = fmt::format("sliding-window model={} volume={} roi={} overlap={} sw_batch={} mode={}", o.model,
                          format_sizes(o.volume), o.roi, o.overlap, o.sw_batch, o.mode);
  j["params"] = r.params;
  j["windows"] = r.windows;
  j["threads"] = torch_threads();
  j["seconds"] = r.seconds;
  j["median_s"] = r.median_s;
  j["windows_per_s"] = r.windows_per_s;
  j["peak_rss_mb"] = r.peak_rss_mb;
  return j;
}

}  // namespace medssl::bench
