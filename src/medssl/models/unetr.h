#pragma once
// MONAI's UNETR (monai/networks/nets/unetr.py; spec: design/reference/iou_and_monai_ssl.md B.6), 2D or 3D.
//   vit       ViT(in, img, patch 16 (fixed, as in MONAI), hidden, mlp, 12 layers (fixed), heads, no classification)
//   encoder1  UnetrBasicBlock(in -> f) on the raw input
//   encoder2  UnetrPrUpBlock(hidden -> 2f, num_layer 2) on hidden_states[3]   (grid x8)
//   encoder3  UnetrPrUpBlock(hidden -> 4f, num_layer 1) on hidden_states[6]   (grid x4)
//   encoder4  UnetrPrUpBlock(hidden -> 8f, num_layer 0) on hidden_states[9]   (grid x2)
//   decoder5  UnetrUpBlock(hidden -> 8f)(proj_feat(x), enc4); decoder4 (8f -> 4f) with enc3; decoder3 (4f -> 2f)
//             with enc2; decoder2 (2f -> f) with enc1
//   out       UnetOutBlock(f -> out_channels), logits
// proj_feat: tokens (B, N, hidden) -> (B, hidden, grid...). Parameter names: vit.* (see vit.h), encoder<k>.*,
// decoder<k>.*, out.conv.conv.* (see unetr_blocks.h). Every img_size must be a multiple of 16.
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/unetr_blocks.h"
#include "medssl/models/vit.h"

namespace medssl::models {

struct UNETROptions {
  UNETROptions(int64_t in_channels, int64_t out_channels, std::vector<int64_t> img_size)
      : in_channels_(in_channels), out_channels_(out_channels), img_size_(std::move(img_size)) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(std::vector<int64_t>, img_size);  ///< one value (isotropic) or spatial_dims values, multiples of 16
  TORCH_ARG(int64_t, feature_size) = 16;
  TORCH_ARG(int64_t, hidden_size) = 768;
  TORCH_ARG(int64_t, mlp_dim) = 3072;
  TORCH_ARG(int64_t, num_heads) = 12;
  TORCH_ARG(std::string, norm_name) = "instance";  ///< "instance" | "batch"
  TORCH_ARG(bool, conv_block) = true;
  TORCH_ARG(bool, res_block) = true;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(bool, qkv_bias) = false;
};

class UNETRImpl : public torch::nn::Module {
 public:
  /// MONAI fixes these two: the ViT has 12 blocks and 16-voxel patches; skips come from blocks 4, 7 and 10.
  static constexpr int64_t kNumLayers = 12;
  static constexpr int64_t kPatchSize = 16;

  explicit UNETRImpl(UNETROptions options);
  /// x: (B, in_channels, img_size...) -> logits (B, out_channels, img_size...).
  torch::Tensor forward(const torch::Tensor& x);
  const UNETROptions& options() const { return options_; }
  /// The transformer encoder (registered as "vit").
  ViT& vit() { return vit_; }
  const ViT& vit() const { return vit_; }

 private:
  torch::Tensor proj_feat(const torch::Tensor& tokens) const;

  UNETROptions options_;
  ViT vit_{nullptr};
  UnetrBasicBlock encoder1_{nullptr};
  UnetrPrUpBlock encoder2_{nullptr}, encoder3_{nullptr}, encoder4_{nullptr};
  UnetrUpBlock decoder5_{nullptr}, decoder4_{nullptr}, decoder3_{nullptr}, decoder2_{nullptr};
  UnetOutBlock out_{nullptr};
};
TORCH_MODULE(UNETR);

}  // namespace medssl::models
