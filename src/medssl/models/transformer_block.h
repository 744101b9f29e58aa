#pragma once
// The pre-norm transformer block of MONAI's ViT family (ViT, ViTAutoEnc, UNETR), with MONAI's module names so that a
// MONAI state_dict maps 1:1 onto ours:
//   mlp.linear1, mlp.linear2          (monai/networks/blocks/mlp.py, MLPBlock, dropout_mode "vit")
//   norm1, attn.out_proj, attn.qkv, norm2   (monai/networks/blocks/transformerblock.py, selfattention.py SABlock)
// forward: x = x + attn(norm1(x)); x = x + mlp(norm2(x)).
//
// SABlock splits the qkv projection output (3 * hidden features) as "b h (qkv l d) -> qkv b l h d" (einops), i.e. the
// feature index is  which * hidden + head * head_dim + d  (which = 0 q, 1 k, 2 v). We use the same memory layout, so an
// imported qkv weight is used unchanged. Attention: softmax(q k^T * head_dim^-0.5) v, heads concatenated head-major.
// GELU is the exact (erf) one.
//
// Initialisation: MONAI leaves the transformer Linear/LayerNorm layers at PyTorch's defaults (its trunc_normal(.02)
// initialiser is applied only inside PatchEmbeddingBlock, which holds no Linear layer with the "conv" projection), and
// LibTorch's defaults are the same (kaiming_uniform(a=sqrt 5) weights, U(+-1/sqrt(fan_in)) biases, LayerNorm 1/0).
//
// MONAI >= 1.4 additionally instantiates, in every block, an unused cross-attention module (`cross_attn.to_q/to_k/to_v/
// out_proj`) and `norm_cross_attn` (they are in its state_dict but never run for self-attention-only models). We do not
// create them; `is_unused_monai_vit_key` lets a checkpoint importer recognise and skip those keys.
#include <cstdint>
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

/// Two-layer perceptron: linear1 -> GELU(exact) -> dropout -> linear2 -> dropout.
class MLPBlockImpl : public torch::nn::Module {
 public:
  MLPBlockImpl(int64_t hidden_size, int64_t mlp_dim, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear linear1_{nullptr}, linear2_{nullptr};
  torch::nn::Dropout drop1_{nullptr}, drop2_{nullptr};
};
TORCH_MODULE(MLPBlock);

/// Multi-head self-attention with one combined qkv projection (MONAI SABlock, use_combined_linear=True).
class SABlockImpl : public torch::nn::Module {
 public:
  SABlockImpl(int64_t hidden_size, int64_t num_heads, double dropout, bool qkv_bias);
  /// x: (B, N, hidden) -> (B, N, hidden).
  torch::Tensor forward(const torch::Tensor& x);
  int64_t num_heads() const { return num_heads_; }
  int64_t head_dim() const { return head_dim_; }

 private:
  int64_t num_heads_ = 0, head_dim_ = 0;
  double scale_ = 1.0;
  torch::nn::Linear out_proj_{nullptr}, qkv_{nullptr};
  torch::nn::Dropout drop_output_{nullptr}, drop_weights_{nullptr};
};
TORCH_MODULE(SABlock);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t hidden_size, int64_t mlp_dim, int64_t num_heads, double dropout, bool qkv_bias);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  MLPBlock mlp_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  SABlock attn_{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// Throws medssl::Error (naming `who`) unless hidden_size > 0, num_heads > 0, hidden_size % num_heads == 0 and
/// 0 <= dropout <= 1 (MONAI's constructor checks).
void check_transformer_options(const std::string& who, int64_t hidden_size, int64_t mlp_dim, int64_t num_heads,
                               double dropout);

/// True for state_dict keys that MONAI >= 1.4 writes for its never-used per-block cross-attention
/// ("...blocks.<i>.cross_attn.*", "...blocks.<i>.norm_cross_attn.*"); importers skip them.
bool is_unused_monai_vit_key(const std::string& key);

}  // namespace medssl::models
