#pragma once
// Tiny models and data for the training-engine tests.
#include <map>
#include <memory>
#include <string>

#include "medssl/core/torch_pch.h"
#include "medssl/train/batch_source.h"
#include "medssl/train/trainer.h"

namespace medssl::train::testing {

/// Linear(4, 16) - BatchNorm1d - ReLU - Dropout - Linear(16, 1): small, but with buffers and randomness.
struct TinyNetImpl : torch::nn::Module {
  explicit TinyNetImpl(double dropout = 0.0) {
    encoder = register_module("encoder", torch::nn::Sequential(torch::nn::Linear(4, 16), torch::nn::BatchNorm1d(16),
                                                               torch::nn::ReLU(), torch::nn::Dropout(dropout)));
    head = register_module("head", torch::nn::Linear(16, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) { return head->forward(encoder->forward(x)); }
  torch::nn::Sequential encoder{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(TinyNet);

/// y = x . w + 0.5 with a fixed w: a regression any small net learns quickly.
inline std::map<std::string, torch::Tensor> regression_data(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({n, 4}, gen);
  auto w = torch::tensor({1.0f, -2.0f, 0.5f, 3.0f});
  auto y = (x * w).sum(1, true) + 0.5;
  return {{"x", x}, {"y", y}};
}

inline StepFn mse_step(TinyNet net) {
  return [net](const Batch& b, StepContext&) mutable {
    auto pred = net->forward(b.at("x"));
    auto loss = torch::mse_loss(pred, b.at("y"));
    return StepOutput{loss, {{"mae", (pred - b.at("y")).abs().mean().item<double>()}}};
  };
}

inline EvalFn mse_eval(TinyNet net, std::map<std::string, torch::Tensor> data) {
  return [net, data](StepContext&) mutable {
    auto pred = net->forward(data.at("x"));
    return std::map<std::string, double>{{"loss", torch::mse_loss(pred, data.at("y")).item<double>()}};
  };
}

/// All parameters and buffers flattened into one vector, for equality checks.
inline torch::Tensor flat_state(torch::nn::Module& m) {
  std::vector<torch::Tensor> parts;
  for (auto& p : m.parameters()) parts.push_back(p.detach().flatten().to(torch::kFloat64));
  for (auto& b : m.buffers()) parts.push_back(b.detach().flatten().to(torch::kFloat64));
  return torch::cat(parts);
}

}  // namespace medssl::train::testing
