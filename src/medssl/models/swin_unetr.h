#pragma once
// MONAI's SwinUNETR v1 (monai/networks/nets/swin_unetr.py; spec: design/reference/iou_and_monai_ssl.md A.8), 2D or 3D.
// F = feature_size; hs = swinViT(x, normalize) = [x0_out (F, /2), x1_out (2F, /4), x2_out (4F, /8), x3_out (8F, /16),
// x4_out (16F, /32)]:
//   encoder1  UnetrBasicBlock(in -> F) on the input          encoder2  (F -> F) on hs[0]
//   encoder3  (2F -> 2F) on hs[1]                            encoder4  (4F -> 4F) on hs[2]
//   encoder10 (16F -> 16F) on hs[4]
//   decoder5  UnetrUpBlock(16F -> 8F)(encoder10, skip = raw hs[3]); decoder4 (8F -> 4F) with encoder4;
//   decoder3  (4F -> 2F) with encoder3; decoder2 (2F -> F) with encoder2; decoder1 (F -> F) with encoder1
//   out       UnetOutBlock(F -> out_channels): logits at the input size
// All conv blocks are residual (UnetResBlock, 3x3 convs without bias, InstanceNorm affine=False, LeakyReLU 0.01).
// Parameter names = MONAI's state-dict keys: swinViT.* (swin_transformer.h), encoder{1,2,3,4,10}.layer.conv{1,2,3}.
// conv.weight, decoder{5,4,3,2,1}.transp_conv.conv.weight, decoder<k>.conv_block.conv{1,2,3}.conv.weight,
// out.conv.conv.{weight,bias} (unetr_blocks.h). Figures (trainable parameters): 3D, in 1, out 14, F 48 = 62,187,296
// (MONAI's own count); 2D, same options = 25,138,568.
// Every spatial input size must be a multiple of 32 (= patch 2 to the 5th), as MONAI checks in forward.
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/swin_transformer.h"
#include "medssl/models/unetr_blocks.h"

namespace medssl::models {

struct SwinUNETROptions {
  SwinUNETROptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, feature_size) = 48;
  TORCH_ARG(std::vector<int64_t>, depths) = std::vector<int64_t>({2, 2, 2, 2});
  TORCH_ARG(std::vector<int64_t>, num_heads) = std::vector<int64_t>({3, 6, 12, 24});
  TORCH_ARG(std::vector<int64_t>, window_size) = {7};
  TORCH_ARG(std::string, norm_name) = "instance";  ///< "instance" | "batch"
  TORCH_ARG(double, drop_rate) = 0.0;
  TORCH_ARG(double, attn_drop_rate) = 0.0;
  TORCH_ARG(double, drop_path_rate) = 0.0;  ///< MONAI's dropout_path_rate
  TORCH_ARG(bool, normalize) = true;        ///< parameter-free LayerNorm on every encoder map (proj_out)
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(std::string, merge_order) = "monai_1.2";  ///< see swin_transformer.h
};

/// The Swin encoder options SwinUNETR builds from its own (patch 2, mlp_ratio 4, qkv_bias).
SwinTransformerOptions swin_encoder_options(const SwinUNETROptions& options);

class SwinUNETRImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kSizeMultiple = 32;

  explicit SwinUNETRImpl(SwinUNETROptions options);
  /// x: (B, in_channels, S...) with every S a multiple of 32 -> logits (B, out_channels, S...).
  torch::Tensor forward(const torch::Tensor& x);
  const SwinUNETROptions& options() const { return options_; }
  /// The transformer encoder (registered as "swinViT"): the part that pretraining provides.
  SwinTransformer& swin() { return swin_; }

 private:
  SwinUNETROptions options_;
  SwinTransformer swin_{nullptr};
  UnetrBasicBlock encoder1_{nullptr}, encoder2_{nullptr}, encoder3_{nullptr}, encoder4_{nullptr}, encoder10_{nullptr};
  UnetrUpBlock decoder5_{nullptr}, decoder4_{nullptr}, decoder3_{nullptr}, decoder2_{nullptr}, decoder1_{nullptr};
  UnetOutBlock out_{nullptr};
};
TORCH_MODULE(SwinUNETR);

}  // namespace medssl::models
