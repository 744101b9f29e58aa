// Precise BatchNorm (pretext/precise_batch_norm.h): the running statistics become the plain average of the batch
// statistics of the eval-mode network (dropout off), and everything else about the model is left as it was.
#include <gtest/gtest.h>

#include <stdexcept>

#include "medssl/pretext/precise_batch_norm.h"

namespace medssl::pretext {
namespace {

// Linear -> Dropout(.5) -> BatchNorm1d (Keras momentum) -> ReLU -> reshape -> Conv3d -> BatchNorm3d.
struct SmallNet : torch::nn::Module {
  SmallNet()
      : fc(register_module("fc", torch::nn::Linear(3, 4 * 8))),
        dropout(register_module("dropout", torch::nn::Dropout(0.5))),
        bn1(register_module("bn1", torch::nn::BatchNorm1d(torch::nn::BatchNorm1dOptions(32).momentum(0.01)))),
        conv(register_module("conv", torch::nn::Conv3d(torch::nn::Conv3dOptions(4, 2, 1)))),
        bn3(register_module("bn3", torch::nn::BatchNorm3d(torch::nn::BatchNorm3dOptions(2).momentum(0.01)))) {}
  torch::Tensor before_bn1(const torch::Tensor& x) { return dropout(fc(x)); }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = torch::relu(bn1(before_bn1(x))).view({x.size(0), 4, 2, 2, 2});
    return bn3(conv(h));
  }
  torch::nn::Linear fc;
  torch::nn::Dropout dropout;
  torch::nn::BatchNorm1d bn1;
  torch::nn::Conv3d conv;
  torch::nn::BatchNorm3d bn3;
};

std::vector<torch::Tensor> batches_of(int count, int64_t size) {
  std::vector<torch::Tensor> out;
  for (int i = 0; i < count; ++i) out.push_back(torch::randn({size, 3}) * (1.0 + i) + 2.0 * i);
  return out;
}

TEST(PreciseBatchNorm, RunningStatisticsAreTheAverageOfTheEvalModeBatchStatistics) {
  SmallNet net;
  net.train();
  {  // a couple of training steps' worth of moving-average updates, as a short run leaves them
    torch::NoGradGuard no_grad;
    for (const auto& b : batches_of(2, 16)) net.forward(b);
  }
  ASSERT_EQ(net.bn1->num_batches_tracked.item<int64_t>(), 2);
  const auto data = batches_of(3, 64);
  std::vector<int64_t> seen;
  EXPECT_EQ(count_batch_norm_layers(net), 2);
  EXPECT_EQ(recalibrate_batch_norm(net, 3, [&](int64_t i) {
              EXPECT_FALSE(net.dropout->is_training()) << "dropout must be off while the statistics are gathered";
              EXPECT_TRUE(net.bn1->is_training());
              EXPECT_FALSE(torch::GradMode::is_enabled());
              seen.push_back(i);
              net.forward(data[static_cast<size_t>(i)]);
            }),
            2);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(net.is_training() && net.dropout->is_training() && net.bn1->is_training()) << "modes restored";

  // Expected: the mean over the batches of each batch's mean and unbiased variance of the eval-mode input of bn1.
  torch::NoGradGuard no_grad;
  net.eval();
  torch::Tensor mean = torch::zeros({32}), var = torch::zeros({32});
  for (const auto& b : data) {
    auto h = net.before_bn1(b);
    mean += h.mean(0) / 3.0;
    var += h.var(0, /*unbiased=*/true) / 3.0;
  }
  EXPECT_TRUE(torch::allclose(net.bn1->running_mean, mean, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(net.bn1->running_var, var, 1e-4, 1e-4));
  // The moving averages would still be 98 % the initial (0, 1): the recalibrated ones are far from it.
  EXPECT_GT((net.bn1->running_mean).abs().max().item<double>(), 0.5);

  // Restored: momentum, and the count of training batches.
  EXPECT_DOUBLE_EQ(net.bn1->options.momentum().value(), 0.01);
  EXPECT_DOUBLE_EQ(net.bn3->options.momentum().value(), 0.01);
  EXPECT_EQ(net.bn1->num_batches_tracked.item<int64_t>(), 2);
  EXPECT_EQ(net.bn3->num_batches_tracked.item<int64_t>(), 2);
}

TEST(PreciseBatchNorm, OneBatchMakesTheEvalNetworkReproduceItsBatchStatistics) {
  // What the validation of a short pretraining run needs: eval mode then computes what training mode computed (up to
  // the unbiased variance), instead of a function of the initial moving averages.
  SmallNet net;
  const auto x = torch::randn({256, 3}) * 3.0 + 1.0;
  torch::Tensor train_mode;
  {
    torch::NoGradGuard no_grad;
    net.eval();
    net.bn1->train();
    net.bn3->train();
    train_mode = net.forward(x);  // batch statistics, dropout off
  }
  net.eval();
  recalibrate_batch_norm(net, 1, [&](int64_t) { net.forward(x); });
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.bn1->is_training()) << "flags restored: the net was in eval mode";
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(net.forward(x), train_mode, 2e-2, 2e-2));
}

TEST(PreciseBatchNorm, NothingHappensWithoutBatchNormOrBatchesAndFailuresRestore) {
  torch::nn::Sequential plain(torch::nn::Linear(3, 3), torch::nn::ReLU());
  int calls = 0;
  EXPECT_EQ(count_batch_norm_layers(*plain), 0);
  EXPECT_EQ(recalibrate_batch_norm(*plain, 5, [&](int64_t) { ++calls; }), 0);
  SmallNet net;
  const auto before = net.bn1->running_var.clone();
  EXPECT_EQ(recalibrate_batch_norm(net, 0, [&](int64_t) { ++calls; }), 0);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(torch::equal(net.bn1->running_var, before));

  net.train();
  EXPECT_THROW(recalibrate_batch_norm(net, 2, [&](int64_t) { throw std::runtime_error("bad batch"); }),
               std::runtime_error);
  EXPECT_TRUE(net.is_training());
  EXPECT_TRUE(net.dropout->is_training());
  EXPECT_DOUBLE_EQ(net.bn1->options.momentum().value(), 0.01);
}

}  // namespace
}  // namespace medssl::pretext
