#pragma once
// The two-convolution block shared by the UNet encoder and decoder (2D or 3D).
//
// variant "taleb" (Taleb et al. 2020, Keras `conv3d_block`):
//   conv3 -> ReLU -> BatchNorm -> Dropout(p) -> conv3 -> ReLU -> BatchNorm
//   BN after the activation, Keras BN defaults (eps 1e-3, torch momentum 0.01), he_normal (truncated) conv init,
//   zero biases. Dropout is element-wise like Keras Dropout.
// variant "modern" (nnU-Net's block):
//   conv3 -> InstanceNorm(affine) -> LeakyReLU(0.01) -> conv3 -> InstanceNorm(affine) -> LeakyReLU(0.01)
//   no dropout; same conv init.
// variant "modern_gn" (MONAI SegResNet's normalisation): the same with GroupNorm over gcd(8, channels) groups.
//   Why a second per-sample normalisation: InstanceNorm normalises every channel of every sample on its own, so on
//   the small maps of patch-based pretext tasks (the 9^3 patches of rpl on 32^3 volumes end at a 1-voxel bottleneck,
//   where every instance-normalised value is 0) it erases what the task needs: the patch's intensity and contrast.
//   GroupNorm normalises groups of channels together and keeps the channels' relative activations, so the same
//   patches stay distinguishable (measured in docs/study.md: rpl learns with modern_gn, stays at chance with modern).
//   Parameter names and shapes are those of "modern" (norm weight and bias per channel, no buffers).
// Parameter names: conv1.*, norm1.*, conv2.*, norm2.* in both variants.
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

struct UNetBlockOptions {
  UNetBlockOptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(std::string, variant) = "taleb";  ///< "taleb" | "modern" | "modern_gn"
  TORCH_ARG(double, dropout) = 0.5;           ///< taleb only; 0 disables
  TORCH_ARG(double, bn_eps) = 1e-3;           ///< taleb only (Keras default)
  TORCH_ARG(double, bn_momentum) = 0.01;      ///< taleb only (PyTorch convention; Keras 0.99)
};

class UNetBlockImpl : public torch::nn::Module {
 public:
  explicit UNetBlockImpl(UNetBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  const UNetBlockOptions& options() const { return options_; }

 private:
  UNetBlockOptions options_;
  bool modern_ = false;         // modern or modern_gn
  bool instance_norm_ = false;  // modern
  torch::nn::AnyModule conv1_, norm1_, conv2_, norm2_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(UNetBlock);

/// Throws medssl::Error unless `variant` is "taleb", "modern" or "modern_gn".
void check_unet_variant(const std::string& variant);

/// "modern" and "modern_gn": blocks without dropout, and a decoder that starts from the bottleneck.
bool is_modern_unet_variant(const std::string& variant);

/// Groups of a modern_gn normalisation over `channels`: gcd(8, channels).
int64_t unet_norm_groups(int64_t channels);

}  // namespace medssl::models
