// Heads: shapes, structure (parameter counts / names), Keras defaults of big_fully, and a tiny overfit.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/models/heads.h"
#include "medssl/models/layers.h"

namespace medssl::models {
namespace {

TEST(Heads, BigFullyShapeParamsAndKerasBatchNorm) {
  BigFully head(BigFullyOptions(256));
  head->train();
  EXPECT_EQ(head->forward(torch::randn({4, 256})).sizes(), torch::IntArrayRef({4, 1024}));
  // Linear 256*2048+2048, BN 2*2048, Linear 2048*1024+1024, BN 2*1024.
  EXPECT_EQ(count_parameters(*head), 256 * 2048 + 2048 + 2 * 2048 + 2048 * 1024 + 1024 + 2 * 1024);
  auto* bn = head->named_modules()["bn1"]->as<torch::nn::BatchNorm1d>();
  ASSERT_NE(bn, nullptr);
  EXPECT_DOUBLE_EQ(bn->options.eps(), 1e-3);
  EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.01);
  auto params = head->named_parameters();
  EXPECT_EQ(params["fc1.bias"].abs().sum().item<double>(), 0.0);
  // The bound is rounded to float32 inside uniform_, so allow one float ulp above the exact value.
  EXPECT_LE(params["fc1.weight"].abs().max().item<double>(), std::sqrt(6.0 / (256 + 2048)) * (1 + 1e-6));
  // Dropout active in train mode, not in eval mode.
  auto x = torch::randn({8, 256});
  EXPECT_FALSE(torch::allclose(head->forward(x), head->forward(x)));
  head->eval();
  EXPECT_TRUE(torch::allclose(head->forward(x), head->forward(x)));
  EXPECT_THROW(head->forward(torch::randn({2, 100})), Error);
}

TEST(Heads, LinearClassifier) {
  LinearClassifier head(LinearClassifierOptions(64, 5));
  EXPECT_EQ(head->forward(torch::randn({3, 64})).sizes(), torch::IntArrayRef({3, 5}));
  EXPECT_EQ(count_parameters(*head), 64 * 5 + 5);
  EXPECT_THROW(LinearClassifier(LinearClassifierOptions(64, 0)), Error);
}

TEST(Heads, ProjectionMLPSimSiamProjector) {
  ProjectionMLP head(ProjectionMLPOptions(512).hidden_features(512).out_features(256));
  head->train();
  auto y = head->forward(torch::randn({8, 512}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({8, 256}));
  // Last BN without affine: every output feature is standardised over the batch.
  EXPECT_LT(y.mean(0).abs().max().item<double>(), 1e-4);
  // Linears without bias (BN follows), hidden BNs affine, output BN not: 512*512 + 2*512 + 512*512 + 2*512 + 512*256.
  EXPECT_EQ(count_parameters(*head), 512 * 512 * 2 + 4 * 512 + 512 * 256);
  ProjectionMLP plain(ProjectionMLPOptions(32).hidden_features(16).out_features(8).num_layers(2).batch_norm(false)
                          .last_bn(false));
  EXPECT_EQ(count_parameters(*plain), 32 * 16 + 16 + 16 * 8 + 8);
  EXPECT_EQ(plain->forward(torch::randn({1, 32})).sizes(), torch::IntArrayRef({1, 8}));
}

TEST(Heads, PredictionMLPSimSiamPredictor) {
  PredictionMLP head;
  head->train();
  EXPECT_EQ(head->forward(torch::randn({4, 2048})).sizes(), torch::IntArrayRef({4, 2048}));
  EXPECT_EQ(count_parameters(*head), 2048 * 512 + 2 * 512 + 512 * 2048 + 2048);
}

TEST(Heads, BigFullyWithClassifierOverfits) {
  torch::manual_seed(5);
  auto x = torch::randn({8, 32});
  auto y = torch::tensor({0, 1, 2, 0, 1, 2, 0, 1}, torch::kLong);
  BigFully body(BigFullyOptions(32).hidden1(64).hidden2(32).dropout(0.1));
  LinearClassifier cls(LinearClassifierOptions(32, 3));
  std::vector<torch::Tensor> params = body->parameters();
  for (auto& p : cls->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-2));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 60; ++step) {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(cls->forward(body->forward(x)), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.2);
  EXPECT_LT(last, 0.3 * first);
}

}  // namespace
}  // namespace medssl::models
