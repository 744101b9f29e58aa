// SyncBatchNorm: one process is plain BatchNorm; two shards in two threads (joined by an in-process sum) give the
// forward output, running statistics and gradients of one BatchNorm over the combined batch.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "medssl/models/layers.h"
#include "medssl/models/sync_batch_norm.h"

namespace medssl::models {
namespace {

// A sum over `parties` threads: each call adds its tensor, waits for the others and takes the total.
class ThreadSum {
 public:
  explicit ThreadSum(int parties) : parties_(parties) {}
  void operator()(torch::Tensor& t) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t gen = generation_;
    total_ = arrived_ == 0 ? t.clone() : total_ + t;
    if (++arrived_ == parties_) {
      result_ = total_;
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
    t.copy_(result_);
  }

 private:
  int parties_, arrived_ = 0;
  uint64_t generation_ = 0;
  torch::Tensor total_, result_;
  std::mutex mutex_;
  std::condition_variable cv_;
};

struct Result {
  torch::Tensor y, grad_x, grad_w, grad_b, running_mean, running_var;
};

// BatchNorm over `x` (training mode) with loss sum(y * probe); `bn` is a fresh make_batch_norm layer.
Result run(torch::nn::AnyModule bn, torch::Tensor x, const torch::Tensor& probe) {
  x = x.clone().requires_grad_(true);
  auto& m = *bn.ptr();
  auto y = bn.forward(x);
  (y * probe).sum().backward();
  auto params = m.named_parameters();
  auto buffers = m.named_buffers();
  return {y.detach(), x.grad(), params["weight"].grad().clone(), params["bias"].grad().clone(),
          buffers["running_mean"].clone(), buffers["running_var"].clone()};
}

torch::nn::AnyModule fresh_bn(int dims) {
  auto bn = make_batch_norm(dims, 3);
  torch::NoGradGuard no_grad;
  auto params = bn.ptr()->named_parameters();
  params["weight"].copy_(torch::tensor({1.5, 0.5, -1.0}));
  params["bias"].copy_(torch::tensor({0.1, -0.2, 0.3}));
  return bn;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5)) << what << ": max diff " << (a - b).abs().max().item<double>();
}

TEST(SyncBatchNorm, OneProcessEqualsBatchNorm) {
  for (int dims : {2, 3}) {
    std::vector<int64_t> shape{4, 3, 5, 4};
    if (dims == 3) shape.push_back(3);
    auto x = torch::randn(shape) * 3 + 2;
    auto probe = torch::randn(shape);
    const Result plain = run(fresh_bn(dims), x, probe);  // no scope: LibTorch's own batch norm
    ThreadSum identity(1);
    BatchNormSyncScope scope([&](torch::Tensor& t) { identity(t); });
    const Result synced = run(fresh_bn(dims), x, probe);
    expect_close(synced.y, plain.y, "output");
    expect_close(synced.grad_x, plain.grad_x, "input gradient");
    expect_close(synced.grad_w, plain.grad_w, "weight gradient");
    expect_close(synced.grad_b, plain.grad_b, "bias gradient");
    expect_close(synced.running_mean, plain.running_mean, "running mean");
    expect_close(synced.running_var, plain.running_var, "running var");
  }
}

TEST(SyncBatchNorm, TwoShardsEqualOneBatchNormOverTheCombinedBatch) {
  auto x = torch::randn({6, 3, 4, 4}) * 2 - 1;
  auto probe = torch::randn({6, 3, 4, 4});
  const Result whole = run(fresh_bn(2), x, probe);

  ThreadSum sum(2);
  BatchNormSyncScope scope([&](torch::Tensor& t) { sum(t); });
  Result shard[2];
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] { shard[r] = run(fresh_bn(2), x.narrow(0, 3 * r, 3), probe.narrow(0, 3 * r, 3)); });
  for (auto& t : threads) t.join();

  expect_close(torch::cat({shard[0].y, shard[1].y}), whole.y, "output");
  expect_close(torch::cat({shard[0].grad_x, shard[1].grad_x}), whole.grad_x, "input gradient");
  // Parameter gradients are per shard; the trainer's averaging over ranks turns their sum into the whole batch's
  // (the loss here is a sum, so the sum is the target).
  expect_close(shard[0].grad_w + shard[1].grad_w, whole.grad_w, "weight gradient");
  expect_close(shard[0].grad_b + shard[1].grad_b, whole.grad_b, "bias gradient");
  for (int r = 0; r < 2; ++r) {
    expect_close(shard[r].running_mean, whole.running_mean, "running mean");
    expect_close(shard[r].running_var, whole.running_var, "running var");
  }
}

TEST(SyncBatchNorm, WithoutAffineParameters) {
  auto x = torch::randn({4, 3, 3, 3}).requires_grad_(true);
  auto xs = x.detach().clone().requires_grad_(true);
  auto plain = make_batch_norm(2, 3, 1e-5, 0.1, /*affine=*/false);
  auto synced = make_batch_norm(2, 3, 1e-5, 0.1, /*affine=*/false);
  auto y = plain.forward(x);
  y.square().sum().backward();
  ThreadSum identity(1);
  BatchNormSyncScope scope([&](torch::Tensor& t) { identity(t); });
  auto ys = synced.forward(xs);
  ys.square().sum().backward();
  expect_close(ys.detach(), y.detach(), "output");
  expect_close(xs.grad(), x.grad(), "input gradient");
}

TEST(SyncBatchNorm, EvaluationModeNeverCommunicates) {
  auto bn = fresh_bn(2);
  bn.ptr()->eval();
  int calls = 0;
  BatchNormSyncScope scope([&](torch::Tensor&) { ++calls; });
  bn.forward(torch::randn({2, 3, 4, 4}));
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(bn.ptr()->as<torch::nn::BatchNorm2d>() != nullptr) << "still recognised as a BatchNorm2d";
}

}  // namespace
}  // namespace medssl::models
