#pragma once
// The scenario of the 2-process tests, shared by the parent (single-process reference) and the worker ranks: a tiny
// model, a fixed data set, batches made exactly as pretrain/finetune make them (a per-epoch shuffled order, batch
// `index` = order[index * b, (index + 1) * b)), sharded by DataShard when a process group is given.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"
#include "medssl/models/layers.h"
#include "medssl/train/data_shard.h"
#include "medssl/train/distributed.h"
#include "medssl/train/threaded_batch_source.h"
#include "medssl/train/trainer.h"

namespace medssl::train::dist_testing {

// The test binary doubles as the ranks of the multi-process tests: launched with this variable set to a worker
// name, main() runs that worker instead of the test suite (test_main.cpp).
inline constexpr const char* kWorkerVariable = "MEDSSL_DIST_TEST_WORKER";
inline constexpr const char* kOutVariable = "MEDSSL_DIST_TEST_OUT";

/// Conv - BatchNorm (make_batch_norm, so it can synchronise) - ReLU - global mean - Linear; or, without batch norm,
/// Linear - Tanh - Linear on the flattened image.
struct NetImpl : torch::nn::Module {
  explicit NetImpl(bool batch_norm) : use_bn(batch_norm) {
    if (use_bn) {
      conv = models::make_conv(2, 1, 4, 3, 1, 1);
      register_module("conv", conv.ptr());
      bn = models::make_batch_norm(2, 4);
      register_module("bn", bn.ptr());
      head = register_module("head", torch::nn::Linear(4, 1));
    } else {
      hidden = register_module("hidden", torch::nn::Linear(36, 8));
      head = register_module("head", torch::nn::Linear(8, 1));
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    if (!use_bn) return head->forward(torch::tanh(hidden->forward(x.flatten(1))));
    auto h = torch::relu(bn.forward(conv.forward(x)));
    return head->forward(h.mean({2, 3}));
  }
  bool use_bn;
  torch::nn::AnyModule conv, bn;
  torch::nn::Linear hidden{nullptr}, head{nullptr};
};
TORCH_MODULE(Net);

struct Scenario {
  bool batch_norm = true;
  bool sync_bn = true;
  int64_t global_batch = 8;
  int64_t epochs = 2;
};

struct Outcome {
  torch::Tensor state;  ///< parameters and buffers, flattened (float64)
  std::vector<double> train_loss;  ///< per epoch, from the metrics rows
};

inline std::map<std::string, torch::Tensor> dataset() {
  auto gen = at::detail::createCPUGenerator(99);
  auto x = torch::randn({26, 1, 6, 6}, gen) * 2.0 + 0.5;  // 26: the trailing partial batch is dropped when sharded
  auto y = x.mean({1, 2, 3}).unsqueeze(1) * 3.0 - x.amax({1, 2, 3}).unsqueeze(1);
  return {{"x", x}, {"y", y}};
}

inline torch::Tensor flat_state(torch::nn::Module& m) {
  std::vector<torch::Tensor> parts;
  for (auto& p : m.parameters()) parts.push_back(p.detach().flatten().to(torch::kFloat64));
  for (auto& b : m.buffers()) parts.push_back(b.detach().flatten().to(torch::kFloat64));
  return torch::cat(parts);
}

/// Trains the scenario in this process: alone (group null) on batches of global_batch, or as one rank of `group` on
/// its shard. `run_dir` "" writes nothing.
inline Outcome train(const Scenario& sc, std::shared_ptr<ProcessGroup> group = nullptr, const std::string& run_dir = "") {
  torch::manual_seed(1234);
  Net net(sc.batch_norm);
  const auto data = dataset();
  const int64_t n = data.at("x").size(0);
  const DataShard shard = DataShard::of(group.get());
  const int64_t local = shard.local_batch(sc.global_batch, "batch_size");
  auto make = [data, n, local](int64_t epoch, int64_t index, uint64_t seed) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
    Rng rng = Rng::derive(seed, "dist-test-order", static_cast<uint64_t>(epoch));
    rng.shuffle(order);
    const int64_t begin = index * local, end = std::min(begin + local, n);
    auto idx = torch::tensor(std::vector<int64_t>(order.begin() + begin, order.begin() + end), torch::kLong);
    Batch b;
    b.tensors["x"] = data.at("x").index_select(0, idx);
    b.tensors["y"] = data.at("y").index_select(0, idx);
    b.size = end - begin;
    return b;
  };
  const int64_t unsharded = n / sc.global_batch;  // drop_last, so the single run sees the same full batches
  ThreadedBatchSource source(shard.batches(unsharded, n, sc.global_batch), shard.wrap(make), /*workers=*/0, 1);
  TrainerOptions o;
  o.epochs = sc.epochs;
  o.seed = 5;
  o.run_dir = run_dir;
  o.monitor = "train_loss";
  o.optimizer.type = "sgd";
  o.optimizer.lr = 0.05;
  o.optimizer.momentum = 0.9;
  o.clip.max_global_norm = 1.0;  // clipping must see the averaged gradient
  o.distributed = group;
  o.sync_bn = sc.sync_bn;
  StepFn step = [net](const Batch& b, StepContext&) mutable {
    auto pred = net->forward(b.at("x"));
    return StepOutput{torch::mse_loss(pred, b.at("y")), {{"mae", (pred - b.at("y")).abs().mean().item<double>()}}};
  };
  Trainer trainer(net.ptr(), source, step, nullptr, o);
  trainer.fit();
  Outcome out;
  out.state = flat_state(*net);
  for (const auto& row : trainer.metrics_log().rows()) out.train_loss.push_back(row["train_loss"].get<double>());
  return out;
}

}  // namespace medssl::train::dist_testing
