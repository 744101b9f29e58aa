#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/train/optim.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

/// A module with one scalar parameter w, for hand-computed optimiser steps.
struct ScalarImpl : torch::nn::Module {
  explicit ScalarImpl(float init) { w = register_parameter("w", torch::full({1}, init)); }
  torch::Tensor w;
};
TORCH_MODULE(Scalar);

double step_once(torch::optim::Optimizer& opt, Scalar& m, const std::function<torch::Tensor()>& loss) {
  opt.zero_grad();
  loss().backward();
  opt.step();
  return m->w.item<double>();
}

TEST(Optim, AdamFirstStepMatchesFormulaAndEpsMatters) {
  // With gradient g, Adam's first update is lr * g / (|g| + eps) (bias corrections cancel). For a tiny g the eps
  // choice (Keras 1e-7 vs torch 1e-8) changes the step a lot.
  const double g = 1e-7, lr = 0.1;
  auto run = [&](OptimizerOptions o) {
    Scalar m(1.0f);
    auto built = build_optimizer(*m, o);
    return step_once(*built.optimizer, m, [&] { return m->w.sum() * g; });
  };
  double keras = run(OptimizerOptions::keras_adam(lr));
  OptimizerOptions torch_default;
  torch_default.lr = lr;
  double torchy = run(torch_default);
  EXPECT_NEAR(keras, 1.0 - lr * g / (g + 1e-7), 1e-6);
  EXPECT_NEAR(torchy, 1.0 - lr * g / (g + 1e-8), 1e-6);
  EXPECT_GT(std::abs(keras - torchy), 0.03);
}

TEST(Optim, SgdMomentumTwoStepsByHand) {
  // loss = 0.5 w^2, grad = w; lr 0.1, momentum 0.9, w0 = 1.
  // step 1: buf = 1, w = 0.9.  step 2: g = 0.9, buf = 0.9 * 1 + 0.9 = 1.8, w = 0.9 - 0.18 = 0.72.
  OptimizerOptions o;
  o.type = "sgd";
  o.lr = 0.1;
  o.momentum = 0.9;
  Scalar m(1.0f);
  auto built = build_optimizer(*m, o);
  auto loss = [&] { return 0.5 * (m->w * m->w).sum(); };
  EXPECT_NEAR(step_once(*built.optimizer, m, loss), 0.9, 1e-6);
  EXPECT_NEAR(step_once(*built.optimizer, m, loss), 0.72, 1e-6);

  // Nesterov: update = g + mu * buf. step 1: 1 + 0.9 = 1.9, w = 0.81. step 2: g = 0.81, buf = 0.9 + 0.81 = 1.71,
  // update = 0.81 + 0.9 * 1.71 = 2.349, w = 0.81 - 0.2349 = 0.5751.
  o.nesterov = true;
  Scalar n(1.0f);
  auto nb = build_optimizer(*n, o);
  auto nloss = [&] { return 0.5 * (n->w * n->w).sum(); };
  EXPECT_NEAR(step_once(*nb.optimizer, n, nloss), 0.81, 1e-6);
  EXPECT_NEAR(step_once(*nb.optimizer, n, nloss), 0.5751, 1e-6);
}

TEST(Optim, WeightDecayAdamWIsDecoupled) {
  // AdamW with zero gradient only decays: w1 = w0 * (1 - lr * wd).
  OptimizerOptions o;
  o.type = "adamw";
  o.lr = 0.1;
  o.weight_decay = 0.5;
  Scalar m(2.0f);
  auto built = build_optimizer(*m, o);
  EXPECT_NEAR(step_once(*built.optimizer, m, [&] { return m->w.sum() * 0.0; }), 2.0 * (1 - 0.05), 1e-6);
}

TEST(Optim, ParamGroupsNoDecayAndFixedLr) {
  testing::TinyNet net;
  OptimizerOptions o;
  o.type = "sgd";
  o.lr = 0.01;
  o.weight_decay = 1e-4;
  o.no_decay_for_bias_and_1d = true;
  o.groups.push_back({"head", 0.5, std::nullopt, true});
  auto built = build_optimizer(*net, o);
  ASSERT_EQ(built.groups.size(), 4u);  // default, no_decay, head, head/no_decay
  EXPECT_EQ(built.groups[0].name, "default");
  EXPECT_EQ(built.groups[0].num_tensors, 1u);  // encoder.0.weight
  EXPECT_EQ(built.groups[1].name, "no_decay");
  EXPECT_EQ(built.groups[1].num_tensors, 3u);  // encoder.0.bias, bn weight, bn bias
  EXPECT_EQ(built.groups[1].weight_decay, 0.0);
  EXPECT_EQ(built.groups[2].name, "head");
  EXPECT_TRUE(built.groups[2].fixed_lr);
  EXPECT_DOUBLE_EQ(built.groups[2].base_lr, 0.5);
  EXPECT_DOUBLE_EQ(group_lr(built.optimizer->param_groups()[2]), 0.5);
  EXPECT_DOUBLE_EQ(group_lr(built.optimizer->param_groups()[1]), 0.01);
  auto& sgd = static_cast<torch::optim::SGDOptions&>(built.optimizer->param_groups()[0].options());
  EXPECT_DOUBLE_EQ(sgd.weight_decay(), 1e-4);
}

TEST(Optim, FrozenParametersAreLeftOut) {
  testing::TinyNet net;
  for (auto& p : net->encoder->parameters()) p.set_requires_grad(false);
  auto built = build_optimizer(*net, OptimizerOptions{});
  EXPECT_EQ(optimizer_parameters(*built.optimizer).size(), 2u);  // head weight and bias
}

TEST(Optim, BadOptionsAreClearErrors) {
  testing::TinyNet net;
  OptimizerOptions o;
  o.type = "lamb";
  try {
    build_optimizer(*net, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lamb"), std::string::npos);
  }
  OptimizerOptions r;
  r.groups.push_back({"predictor", std::nullopt, std::nullopt, true});
  try {
    build_optimizer(*net, r);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("predictor"), std::string::npos);
  }
}

std::vector<torch::Tensor> params_with_grads(std::vector<torch::Tensor> grads) {
  std::vector<torch::Tensor> params;
  for (auto& g : grads) {
    auto p = torch::zeros_like(g).requires_grad_(true);
    p.mutable_grad() = g.clone();
    params.push_back(p);
  }
  return params;
}

double global_norm(const std::vector<torch::Tensor>& params) {
  double s = 0;
  for (auto& p : params) s += p.grad().pow(2).sum().item<double>();
  return std::sqrt(s);
}

TEST(Optim, ClipByGlobalNorm) {
  auto params = params_with_grads({torch::tensor({3.0f, 4.0f}), torch::tensor({12.0f})});  // norm 13
  ClipOptions c;
  c.max_global_norm = 1.0;
  EXPECT_NEAR(clip_gradients(params, c), 13.0, 1e-5);
  EXPECT_NEAR(global_norm(params), 1.0, 1e-5);
  // Direction is kept.
  EXPECT_NEAR(params[0].grad()[0].item<double>() / params[1].grad()[0].item<double>(), 3.0 / 12.0, 1e-6);
  // Below the limit nothing changes.
  auto small = params_with_grads({torch::tensor({0.3f, 0.4f})});
  c.max_global_norm = 1.0;
  clip_gradients(small, c);
  EXPECT_NEAR(small[0].grad()[1].item<double>(), 0.4, 1e-7);
}

TEST(Optim, ClipByValueAndPerTensorNorm) {
  auto params = params_with_grads({torch::tensor({3.0f, -4.0f, 0.5f}), torch::tensor({0.1f})});
  ClipOptions v;
  v.max_value = 1.0;
  clip_gradients(params, v);
  EXPECT_FLOAT_EQ(params[0].grad()[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(params[0].grad()[1].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(params[0].grad()[2].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(params[1].grad()[0].item<float>(), 0.1f);

  // Keras clipnorm: each tensor on its own.
  auto per = params_with_grads({torch::tensor({3.0f, 4.0f}), torch::tensor({0.6f, 0.8f})});
  ClipOptions t;
  t.max_tensor_norm = 2.0;
  clip_gradients(per, t);
  EXPECT_NEAR(per[0].grad().norm().item<double>(), 2.0, 1e-5);
  EXPECT_NEAR(per[1].grad().norm().item<double>(), 1.0, 1e-6);  // untouched
}

}  // namespace
}  // namespace medssl::train
