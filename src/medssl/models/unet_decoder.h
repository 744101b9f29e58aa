#pragma once
// The UNet decoder "unet_3d_upconv" / "unet_2d_upconv" of Taleb et al. 2020 (`upconv_model_3d`), 2D or 3D.
//
// variant "taleb":
//   1. if the encoder ended in a 2x pooling ("max"/"avg"): nearest upsampling x2 of the encoder output (the
//      reference's lossy pool/upsample round trip; an odd bottleneck size is restored by pad/crop, see below); after
//      "none" or a global pooling (which keeps no layout) it starts from the bottleneck;
//   2. for each skip, deepest to shallowest, filters = bottleneck_filters / 2, / 4, ...:
//      ConvTranspose(k2, s2) to `filters` (glorot init) -> fit to the skip's size -> cat(up, skip) -> UNetBlock(filters)
//      with BN and Dropout(0.5);
//   3. 1x1 conv to num_classes (glorot init). forward returns LOGITS; softmax/sigmoid belongs to the loss.
// variants "modern", "modern_gn": start from the encoder's bottleneck (never pooled, no upsampling), modern blocks (no dropout).
//
// Sizes that are not exactly 2x: the encoder floors odd sizes (39 -> 19), so the transposed conv output (2 * 19 = 38)
// can be smaller than the skip (39). The upsampled tensor is then zero-padded at the high end of each axis (or cropped
// there if larger) to the skip's size before concatenation; Keras itself would fail on such inputs.
//
// Parameter names: upconv0..upconv{L-1}.*, block0..block{L-1}.* (UNetBlock), head.*; block0 is the deepest level.
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/unet_block.h"
#include "medssl/models/unet_encoder.h"

namespace medssl::models {

struct UNetDecoderOptions {
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(int64_t, num_classes) = 3;
  TORCH_ARG(int64_t, enc_filters) = 16;  ///< must match the encoder
  TORCH_ARG(int64_t, num_layers) = 4;    ///< must match the encoder
  TORCH_ARG(bool, encoder_pooled) = true;  ///< taleb: the encoder's pooling was "max"/"avg" -> upsample first (otherwise: start from the bottleneck)
  TORCH_ARG(std::string, variant) = "taleb";
  TORCH_ARG(double, dropout) = 0.5;  ///< taleb only

 public:
  /// Decoder options matching an encoder.
  static UNetDecoderOptions matching(const UNetEncoderOptions& encoder, int64_t num_classes);
};

class UNetDecoderImpl : public torch::nn::Module {
 public:
  explicit UNetDecoderImpl(UNetDecoderOptions options = {});
  /// Logits (N, num_classes, spatial of the shallowest skip).
  torch::Tensor forward(const UNetFeatures& features);
  const UNetDecoderOptions& options() const { return options_; }

 private:
  UNetDecoderOptions options_;
  std::vector<torch::nn::AnyModule> upconvs_;
  std::vector<UNetBlock> blocks_;
  torch::nn::AnyModule head_;
};
TORCH_MODULE(UNetDecoder);

}  // namespace medssl::models
