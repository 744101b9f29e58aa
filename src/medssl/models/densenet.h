#pragma once
// DenseNet (default: DenseNet-121), 2D or 3D, with EXACTLY torchvision's module tree and parameter/buffer names:
//   features.conv0, features.norm0, features.relu0, features.pool0,
//   features.denseblock{1..4}.denselayer{1..n}.{norm1, relu1, conv1, norm2, relu2, conv2},
//   features.transition{1..3}.{norm, relu, conv, pool}, features.norm5, classifier
// so a 2D state dict written by medssl loads into torchvision.models.densenet121 with strict=True (727 entries incl.
// num_batches_tracked), and back. The 3D twin has the same names with Conv3d/BatchNorm3d/pools (kernels cubed).
// Initialisation as torchvision: kaiming_normal conv weights, BN weight 1 / bias 0, classifier bias 0.
// BN uses PyTorch defaults (eps 1e-5, momentum 0.1) like torchvision.
//
// forward(x): features -> ReLU -> global pool (avg|max) -> flatten -> classifier (logits), or the pooled vector when
// num_classes == 0 (no classifier registered). forward_features(x) always returns the pooled vector (N, out_features()).
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

struct DenseNetOptions {
  TORCH_ARG(int, spatial_dims) = 2;
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, growth_rate) = 32;
  TORCH_ARG(std::vector<int64_t>, block_config) = std::vector<int64_t>({6, 12, 24, 16});
  TORCH_ARG(int64_t, num_init_features) = 64;
  TORCH_ARG(int64_t, bn_size) = 4;
  TORCH_ARG(double, drop_rate) = 0.0;
  TORCH_ARG(int64_t, num_classes) = 0;       ///< 0: no classifier, forward returns the pooled features
  TORCH_ARG(std::string, pooling) = "avg";   ///< global pooling: "avg" | "max"
};

/// torchvision `_DenseLayer`: norm1-relu1-conv1(1x1, bn_size*growth) -norm2-relu2-conv2(3x3, growth) [-dropout].
/// forward takes the concatenation of all previous features and returns only the `growth_rate` new channels.
class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int dims, int64_t in_features, int64_t growth_rate, int64_t bn_size, double drop_rate);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::AnyModule norm1_, conv1_, norm2_, conv2_;
  double drop_rate_;
};
TORCH_MODULE(DenseLayer);

/// torchvision `_DenseBlock`: denselayer1..n; returns cat(input, all new features).
class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int dims, int64_t num_layers, int64_t in_features, int64_t growth_rate, int64_t bn_size,
                 double drop_rate);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<DenseLayer> layers_;
};
TORCH_MODULE(DenseBlock);

/// torchvision `_Transition`: norm-relu-conv(1x1)-avgpool(2).
class DenseTransitionImpl : public torch::nn::Module {
 public:
  DenseTransitionImpl(int dims, int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::AnyModule norm_, conv_, pool_;
};
TORCH_MODULE(DenseTransition);

class DenseNetImpl : public torch::nn::Module {
 public:
  explicit DenseNetImpl(DenseNetOptions options = {});
  /// Logits (N, num_classes), or the pooled features when num_classes == 0.
  torch::Tensor forward(const torch::Tensor& x);
  /// Pooled feature vector (N, out_features()).
  torch::Tensor forward_features(const torch::Tensor& x);
  /// Width of the pooled feature vector (1024 for DenseNet-121).
  int64_t out_features() const { return out_features_; }
  const DenseNetOptions& options() const { return options_; }

 private:
  DenseNetOptions options_;
  int64_t out_features_ = 0;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(DenseNet);

}  // namespace medssl::models
