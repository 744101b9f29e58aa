#pragma once
// MONAI's ViT (monai/networks/nets/vit.py), proj_type "conv", pos_embed_type "learnable":
//   patch_embedding (PatchEmbeddingBlock) -> [cls token] -> num_layers TransformerBlocks -> LayerNorm norm
// Parameter names (MONAI's attribute names, so a MONAI state_dict maps 1:1; checked against MONAI 1.5.0 source):
//   patch_embedding.position_embeddings, patch_embedding.patch_embeddings.{weight,bias}
//   blocks.<i>.mlp.linear1.{weight,bias}, blocks.<i>.mlp.linear2.{weight,bias}, blocks.<i>.norm1.{weight,bias},
//   blocks.<i>.attn.out_proj.{weight,bias}, blocks.<i>.attn.qkv.weight (+ .bias if qkv_bias), blocks.<i>.norm2.*
//   norm.{weight,bias}
//   classification only: cls_token (1,1,hidden, zeros), classification_head.0.* (post_activation "Tanh":
//   Sequential(Linear, Tanh)) or classification_head.* (no activation).
// See transformer_block.h for the attention layout and for MONAI >= 1.4's unused cross-attention keys.
//
// forward returns (x, hidden_states): x = final LayerNorm output (B, n_patches[+1], hidden), or the classification
// head output (B, num_classes) when classification is on; hidden_states[k] = output of block k+1, un-normalised.
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/patch_embedding.h"
#include "medssl/models/transformer_block.h"

namespace medssl::models {

struct ViTOptions {
  ViTOptions(int64_t in_channels, std::vector<int64_t> img_size, std::vector<int64_t> patch_size)
      : in_channels_(in_channels), img_size_(std::move(img_size)), patch_size_(std::move(patch_size)) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(std::vector<int64_t>, img_size);    ///< one value (isotropic) or spatial_dims values
  TORCH_ARG(std::vector<int64_t>, patch_size);  ///< one value (isotropic) or spatial_dims values
  TORCH_ARG(int64_t, hidden_size) = 768;
  TORCH_ARG(int64_t, mlp_dim) = 3072;
  TORCH_ARG(int64_t, num_layers) = 12;
  TORCH_ARG(int64_t, num_heads) = 12;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(bool, qkv_bias) = false;
  TORCH_ARG(bool, classification) = false;
  TORCH_ARG(int64_t, num_classes) = 2;                ///< classification only
  TORCH_ARG(std::string, post_activation) = "Tanh";  ///< classification only: "Tanh" or "none"
};

struct ViTOutput {
  torch::Tensor x;                           ///< final LayerNorm output (or classification logits)
  std::vector<torch::Tensor> hidden_states;  ///< one per block, un-normalised
};

class ViTImpl : public torch::nn::Module {
 public:
  explicit ViTImpl(ViTOptions options);
  /// x: (B, in_channels, img_size...).
  ViTOutput forward(const torch::Tensor& x);
  const ViTOptions& options() const { return options_; }
  /// Patch grid per spatial axis (img_size / patch_size).
  const std::vector<int64_t>& grid() const { return patch_embedding_->grid(); }

 private:
  ViTOptions options_;
  PatchEmbeddingBlock patch_embedding_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<TransformerBlock> block_list_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::Tensor cls_token_;
  // classification head: Sequential(Linear, Tanh) with post_activation "Tanh", else the bare Linear.
  torch::nn::Sequential head_with_tanh_{nullptr};
  torch::nn::Linear head_linear_{nullptr};
};
TORCH_MODULE(ViT);

/// Runs tokens through `blocks` in order, appending every block's output to `hidden_states`; returns the last output.
torch::Tensor run_transformer_blocks(const std::vector<TransformerBlock>& blocks, torch::Tensor x,
                                     std::vector<torch::Tensor>& hidden_states);

/// (B, n_patches, hidden) tokens -> (B, hidden, grid...) feature map (MONAI's proj_feat / ViTAutoEnc reshape).
torch::Tensor tokens_to_feature_map(const torch::Tensor& tokens, const std::vector<int64_t>& grid);

}  // namespace medssl::models
