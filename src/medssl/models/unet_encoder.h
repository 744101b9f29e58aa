#pragma once
// The UNet encoder of Taleb et al. 2020 (`downconv_model_3d` / `downconv_model`), 2D or 3D from one implementation.
//
// For level l = 0 .. num_layers-1: block(enc_filters * 2^l) -> skip_l -> MaxPool(2) (floor, like Keras "valid").
// Bottleneck: block(enc_filters * 2^num_layers) (256 at the defaults). Then the final pooling: "max" | "avg" (a 2x
// pool, the reference's) | "global_max" | "global_avg" (over the whole bottleneck map, to 1 voxel) | "none".
// Odd sizes floor: 39 -> 19 -> 9 -> 4 -> bottleneck 2 -> output 1.
//
// See unet_block.h for the block variants ("taleb": conv-ReLU-BN-Dropout-conv-ReLU-BN with Keras BN defaults;
// "modern": conv-InstanceNorm-LeakyReLU twice, no dropout; "modern_gn": the same with GroupNorm). With the modern
// variants the decoder ignores the final pooling and starts from the bottleneck (no lossy pool/upsample round trip);
// heads still get `output`.
//
// Parameter names (stable across pretext tasks and downstream models): down0.*, down1.*, ..., bottleneck.*; each a
// UNetBlock (conv1, norm1, conv2, norm2). A UNet registers this module as "encoder", so the names there are
// encoder.down0.conv1.weight etc.
//
// 3D, 1 input channel, defaults: 3,535,440 trainable parameters (Keras count) + BN running statistics.
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/unet_block.h"

namespace medssl::models {

struct UNetEncoderOptions {
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, enc_filters) = 16;
  TORCH_ARG(int64_t, num_layers) = 4;
  TORCH_ARG(std::string, pooling) = "max";  ///< after the bottleneck: "max" | "avg" | "global_max" | "global_avg" | "none"
  TORCH_ARG(std::string, variant) = "taleb";
  TORCH_ARG(double, dropout) = 0.5;  ///< taleb only

 public:
  /// Channels of the bottleneck (and of the encoder output): enc_filters * 2^num_layers.
  int64_t bottleneck_filters() const { return enc_filters_ << num_layers_; }
};

/// What the encoder produces. `skips` are deepest first (the order the reference passes them to the decoder).
struct UNetFeatures {
  torch::Tensor output;              ///< after the final pooling (equal to bottleneck if pooling is "none")
  torch::Tensor bottleneck;          ///< the bottleneck block's output, before the final pooling
  std::vector<torch::Tensor> skips;  ///< num_layers tensors, deepest (smallest) first
};

class UNetEncoderImpl : public torch::nn::Module {
 public:
  explicit UNetEncoderImpl(UNetEncoderOptions options = {});
  UNetFeatures forward(const torch::Tensor& x);
  const UNetEncoderOptions& options() const { return options_; }
  /// Channels of `output`.
  int64_t out_channels() const { return options_.bottleneck_filters(); }

 private:
  UNetEncoderOptions options_;
  std::vector<UNetBlock> down_;
  UNetBlock bottleneck_{nullptr};
  torch::nn::AnyModule downsample_;
  torch::nn::AnyModule final_pool_;  // empty when pooling is "none"
};
TORCH_MODULE(UNetEncoder);

}  // namespace medssl::models
