#pragma once
// The segmentation UNet of Taleb et al. 2020 ("unet_3d_upconv" / "unet_2d_upconv"): UNetEncoder + UNetDecoder.
//
// variant "taleb" replicates the reference (Keras defaults, BN after ReLU, dropout 0.5 in every block, final max pool
// of the bottleneck followed by nearest upsampling in the decoder). variant "modern" is the same topology with
// conv-InstanceNorm-LeakyReLU blocks, no dropout and no pool/upsample round trip; "modern_gn" the same with GroupNorm. See unet_block.h, unet_encoder.h,
// unet_decoder.h.
//
// Parameters live under "encoder." and "decoder.", so an encoder trained by any pretext task (registered there as
// "encoder") loads into this model by name. forward returns logits (N, num_classes, spatial of the input).
// 3D, 1 input channel, 3 classes, defaults: 5,647,891 trainable parameters (reference Keras count).
#include <string>

#include "medssl/core/torch_pch.h"
#include "medssl/models/unet_decoder.h"
#include "medssl/models/unet_encoder.h"

namespace medssl::models {

struct UNetOptions {
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, num_classes) = 3;
  TORCH_ARG(int64_t, enc_filters) = 16;
  TORCH_ARG(int64_t, num_layers) = 4;
  TORCH_ARG(std::string, pooling) = "max";
  TORCH_ARG(std::string, variant) = "taleb";
  TORCH_ARG(double, dropout) = 0.5;

 public:
  UNetEncoderOptions encoder_options() const;
  UNetDecoderOptions decoder_options() const;
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(UNetOptions options = {});
  torch::Tensor forward(const torch::Tensor& x);
  UNetEncoder& encoder() { return encoder_; }
  UNetDecoder& decoder() { return decoder_; }
  const UNetOptions& options() const { return options_; }

 private:
  UNetOptions options_;
  UNetEncoder encoder_{nullptr};
  UNetDecoder decoder_{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace medssl::models
