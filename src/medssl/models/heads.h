#pragma once
// Heads that sit on an encoder's pooled/flattened features (N, in_features). All return raw outputs (logits or
// embeddings); activations such as softmax belong to the losses.
//
// BigFully        the reference's "big_fully" (Taleb et al., `fully_connected_big`, include_top=False):
//                 Linear(in,2048)-ReLU-BN1d-Dropout(.5)-Linear(2048,1024)-ReLU-BN1d-Dropout(.5); Keras BN defaults
//                 (eps 1e-3, torch momentum 0.01), glorot_uniform weights, zero biases. Names: fc1, bn1, fc2, bn2.
// LinearClassifier Linear(in, num_classes), glorot_uniform + zero bias (Keras Dense). Name: fc.
// ProjectionMLP   num_layers Linear layers in -> hidden -> ... -> out; every hidden layer Linear-BN-ReLU (Linear without
//                 bias when BN follows); the last Linear optionally followed by BN, optionally without affine
//                 (SimSiam's projector: num_layers 3, last_bn true, last_bn_affine false). PyTorch BN defaults.
//                 Names: layers.<i>.* (a Sequential).
// PredictionMLP   SimSiam predictor: Linear(in, hidden, no bias)-BN-ReLU-Linear(hidden, out) (2048-512-2048).
//                 Names: layers.<i>.*.
#include "medssl/core/torch_pch.h"

namespace medssl::models {

struct BigFullyOptions {
  explicit BigFullyOptions(int64_t in_features) : in_features_(in_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, hidden1) = 2048;
  TORCH_ARG(int64_t, hidden2) = 1024;
  TORCH_ARG(double, dropout) = 0.5;
  TORCH_ARG(double, bn_eps) = 1e-3;
  TORCH_ARG(double, bn_momentum) = 0.01;
};

class BigFullyImpl : public torch::nn::Module {
 public:
  explicit BigFullyImpl(BigFullyOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_features() const { return options_.hidden2(); }
  const BigFullyOptions& options() const { return options_; }

 private:
  BigFullyOptions options_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(BigFully);

struct LinearClassifierOptions {
  LinearClassifierOptions(int64_t in_features, int64_t num_classes)
      : in_features_(in_features), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, num_classes);
};

class LinearClassifierImpl : public torch::nn::Module {
 public:
  explicit LinearClassifierImpl(LinearClassifierOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_features() const { return options_.num_classes(); }

 private:
  LinearClassifierOptions options_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(LinearClassifier);

struct ProjectionMLPOptions {
  explicit ProjectionMLPOptions(int64_t in_features) : in_features_(in_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, hidden_features) = 2048;
  TORCH_ARG(int64_t, out_features) = 2048;
  TORCH_ARG(int64_t, num_layers) = 3;
  TORCH_ARG(bool, batch_norm) = true;      ///< BN after every hidden Linear
  TORCH_ARG(bool, last_bn) = true;         ///< BN after the last Linear
  TORCH_ARG(bool, last_bn_affine) = false; ///< SimSiam: the output BN has no learnable scale/shift
};

class ProjectionMLPImpl : public torch::nn::Module {
 public:
  explicit ProjectionMLPImpl(ProjectionMLPOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_features() const { return options_.out_features(); }

 private:
  ProjectionMLPOptions options_;
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(ProjectionMLP);

struct PredictionMLPOptions {
  TORCH_ARG(int64_t, in_features) = 2048;
  TORCH_ARG(int64_t, hidden_features) = 512;
  TORCH_ARG(int64_t, out_features) = 2048;
};

class PredictionMLPImpl : public torch::nn::Module {
 public:
  explicit PredictionMLPImpl(PredictionMLPOptions options = {});
  torch::Tensor forward(const torch::Tensor& x);
  int64_t out_features() const { return options_.out_features(); }

 private:
  PredictionMLPOptions options_;
  torch::nn::Sequential layers_{nullptr};
};
TORCH_MODULE(PredictionMLP);

}  // namespace medssl::models
