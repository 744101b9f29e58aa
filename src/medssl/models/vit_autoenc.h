#pragma once
// MONAI's ViTAutoEnc (monai/networks/nets/vitautoenc.py; spec: design/reference/iou_and_monai_ssl.md B.3):
//   ViT encoder (same attribute names as ViT: patch_embedding.*, blocks.<i>.*, norm.*; no cls token)
//   -> tokens reshaped to (B, hidden, grid...)
//   -> conv3d_transpose   ConvTranspose{2,3}d(hidden -> deconv_chns, kernel = stride = sqrt(patch)) (with bias)
//   -> conv3d_transpose_1 ConvTranspose{2,3}d(deconv_chns -> out_channels, same kernel/stride) (with bias)
// no activation or normalisation in the decoder (linear output). The names `conv3d_transpose*` are kept in 2D too,
// as MONAI does. Every patch size must be a perfect square (16 -> 4, 4 -> 2) so that the two deconvolutions restore
// the input size; otherwise construction fails with medssl::Error.
// forward returns (reconstruction (B, out_channels, img_size...), hidden states of all blocks, un-normalised).
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/patch_embedding.h"
#include "medssl/models/transformer_block.h"

namespace medssl::models {

struct ViTAutoEncOptions {
  ViTAutoEncOptions(int64_t in_channels, std::vector<int64_t> img_size, std::vector<int64_t> patch_size)
      : in_channels_(in_channels), img_size_(std::move(img_size)), patch_size_(std::move(patch_size)) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(std::vector<int64_t>, img_size);    ///< one value (isotropic) or spatial_dims values
  TORCH_ARG(std::vector<int64_t>, patch_size);  ///< one value or spatial_dims values; each a perfect square
  TORCH_ARG(int64_t, out_channels) = 1;
  TORCH_ARG(int64_t, deconv_chns) = 16;
  TORCH_ARG(int64_t, hidden_size) = 768;
  TORCH_ARG(int64_t, mlp_dim) = 3072;
  TORCH_ARG(int64_t, num_layers) = 12;
  TORCH_ARG(int64_t, num_heads) = 12;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(bool, qkv_bias) = false;
};

struct ViTAutoEncOutput {
  torch::Tensor reconstruction;              ///< (B, out_channels, img_size...)
  std::vector<torch::Tensor> hidden_states;  ///< one per block, un-normalised
};

class ViTAutoEncImpl : public torch::nn::Module {
 public:
  explicit ViTAutoEncImpl(ViTAutoEncOptions options);
  ViTAutoEncOutput forward(const torch::Tensor& x);
  const ViTAutoEncOptions& options() const { return options_; }

 private:
  ViTAutoEncOptions options_;
  PatchEmbeddingBlock patch_embedding_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<TransformerBlock> block_list_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::AnyModule conv3d_transpose_, conv3d_transpose_1_;
};
TORCH_MODULE(ViTAutoEnc);

}  // namespace medssl::models
