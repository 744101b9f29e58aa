// Self-supervised losses: triplet margin (exemplar), the reference's binary CPC loss, and InfoNCE.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "medssl/core/error.h"
#include "medssl/losses/cpc_binary.h"
#include "medssl/losses/info_nce.h"
#include "medssl/losses/triplet.h"
#include "testkit/testkit.h"

namespace medssl::losses {
namespace {

torch::Tensor t2(std::vector<double> v, int64_t rows) { return torch::tensor(v, torch::kFloat64).reshape({rows, -1}); }

TEST(TripletLoss, MeanSquaredDistanceByHand) {
  // Triplet 0: a (0,0), p (1,0), n (0,2): d+ = 0.5, d- = 2 -> max(0, 0.5 - 2 + 1) = 0 (correct).
  // Triplet 1: a (1,1), p (0,0), n (1,1): d+ = 1, d- = 0 -> max(0, 1 - 0 + 1) = 2 (wrong).
  const auto a = t2({0, 0, 1, 1}, 2), p = t2({1, 0, 0, 0}, 2), n = t2({0, 2, 1, 1}, 2);
  const auto out = triplet_loss(a, p, n, 1.0, TripletDistance::mean_squared);
  EXPECT_NEAR(out.loss.item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(out.positive_distance[0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(out.negative_distance[0].item<double>(), 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(out.accuracy, 0.5);
}

TEST(TripletLoss, SquaredEuclideanByHandAndGradient) {
  // Same triplets, sums instead of means: d+ = (1, 2), d- = (4, 0); margin 0.5 -> (0, 2.5), mean 1.25.
  auto a = t2({0, 0, 1, 1}, 2).requires_grad_(true);
  const auto p = t2({1, 0, 0, 0}, 2), n = t2({0, 2, 1, 1}, 2);
  const auto out = triplet_loss(a, p, n, 0.5, TripletDistance::squared_euclidean);
  EXPECT_NEAR(out.loss.item<double>(), 1.25, 1e-12);
  out.loss.backward();
  // Only triplet 1 is active: d/da [(a-p)^2 - (a-n)^2] / 2 = ((a-p) - (a-n)) = (n - p) for each component.
  EXPECT_TRUE(torch::allclose(a.grad(), t2({0, 0, 1, 1}, 2)));
}

TEST(TripletLoss, RejectsMismatchedShapes) {
  const auto a = torch::zeros({2, 3});
  EXPECT_NE(testkit::error_of([&] {
              triplet_loss(a, torch::zeros({2, 4}), a, 1.0, TripletDistance::mean_squared);
            }).find("same shape"),
            std::string::npos);
}

TEST(CpcBinaryLoss, MeanDotProductSigmoidBceByHand) {
  // Sample 0: pred . z over K=2, D=2: (1*2 + 0) + (1*1 + 1*1) = 4, mean over 4 entries = 1. Label 1.
  // Sample 1: all products -1 -> s = -1. Label 1 (a wrong prediction).
  const auto pred = torch::tensor({1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}, torch::kFloat64).reshape({2, 2, 2});
  const auto z = torch::tensor({2.0, 5.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0}, torch::kFloat64).reshape({2, 2, 2});
  const auto labels = torch::tensor({1.0, 1.0}, torch::kFloat64);
  const auto out = cpc_binary_loss(pred, z, labels);
  EXPECT_NEAR(out.logits[0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(out.logits[1].item<double>(), -1.0, 1e-12);
  auto sigmoid = [](double s) { return 1.0 / (1.0 + std::exp(-s)); };
  const double expected = -(std::log(sigmoid(1.0)) + std::log(sigmoid(-1.0))) / 2.0;
  EXPECT_NEAR(out.loss.item<double>(), expected, 1e-12);
  EXPECT_DOUBLE_EQ(out.accuracy, 0.5);
  // Flipping the labels: BCE(p, 0) = -log(1 - p).
  const auto flipped = cpc_binary_loss(pred, z, torch::tensor({0.0, 0.0}, torch::kFloat64));
  EXPECT_NEAR(flipped.loss.item<double>(), -(std::log(1 - sigmoid(1.0)) + std::log(1 - sigmoid(-1.0))) / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(flipped.accuracy, 0.5);
}

TEST(InfoNceLoss, TwoSamplesByHand) {
  // K = 1: logits = [[2, 0], [0, 1]] -> CE rows: log(1 + e^-2), log(1 + e^-1); both positives win.
  const auto pred = torch::tensor({1.0, 0.0, 0.0, 1.0}, torch::kFloat64).reshape({2, 1, 2});
  const auto z = torch::tensor({2.0, 0.0, 0.0, 1.0}, torch::kFloat64).reshape({2, 1, 2});
  const auto out = info_nce_loss(pred, z);
  EXPECT_NEAR(out.loss.item<double>(), (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0))) / 2.0, 1e-12);
  EXPECT_DOUBLE_EQ(out.accuracy, 1.0);
  // Swapping the targets puts every positive off the argmax.
  const auto swapped = info_nce_loss(pred, z.flip({0}));
  EXPECT_DOUBLE_EQ(swapped.accuracy, 0.0);
  EXPECT_NEAR(swapped.loss.item<double>(), (std::log1p(std::exp(2.0)) + std::log1p(std::exp(1.0))) / 2.0, 1e-12);
}

TEST(InfoNceLoss, TargetsOnlyCompeteWithinTheirPosition) {
  // Two positions with different scales: the loss is the mean of the per-position losses computed separately.
  const auto pred = torch::randn({5, 2, 3}, torch::kFloat64);
  const auto z = torch::randn({5, 2, 3}, torch::kFloat64);
  const auto both = info_nce_loss(pred, z).loss.item<double>();
  const auto k0 = info_nce_loss(pred.narrow(1, 0, 1), z.narrow(1, 0, 1)).loss.item<double>();
  const auto k1 = info_nce_loss(pred.narrow(1, 1, 1), z.narrow(1, 1, 1)).loss.item<double>();
  EXPECT_NEAR(both, (k0 + k1) / 2.0, 1e-12);
}

TEST(InfoNceLoss, MatchesPyTorchPeer) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3-torch not available";
  // The same deterministic (S=4, K=3, D=5) tensors in C++ and Python; the peer spells the formula out with einsum.
  const auto pred = torch::sin(torch::arange(60, torch::kFloat64) * 0.7).reshape({4, 3, 5});
  const auto z = torch::cos(torch::arange(60, torch::kFloat64) * 1.3).reshape({4, 3, 5});
  const auto r = testkit::run_python(
      "import torch, torch.nn.functional as F\n"
      "p = torch.sin(torch.arange(60, dtype=torch.float64) * 0.7).reshape(4, 3, 5)\n"
      "z = torch.cos(torch.arange(60, dtype=torch.float64) * 1.3).reshape(4, 3, 5)\n"
      "logits = torch.einsum('skd,tkd->kst', p, z)\n"
      "loss = torch.stack([F.cross_entropy(logits[k], torch.arange(4)) for k in range(3)]).mean()\n"
      "acc = (logits.argmax(-1) == torch.arange(4)).double().mean()\n"
      "print(repr(loss.item()), repr(acc.item()))\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream values(r.output);
  double loss = 0, acc = 0;
  values >> loss >> acc;
  const auto out = info_nce_loss(pred, z);
  EXPECT_NEAR(out.loss.item<double>(), loss, 1e-12);
  EXPECT_NEAR(out.accuracy, acc, 1e-12);
}

}  // namespace
}  // namespace medssl::losses
