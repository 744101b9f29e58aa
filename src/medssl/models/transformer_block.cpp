#include "medssl/models/transformer_block.h"

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/models/fast_layers.h"
#include "medssl/tensor/onednn_gemm.h"

namespace medssl::models {

namespace nn = torch::nn;

void check_transformer_options(const std::string& who, int64_t hidden_size, int64_t mlp_dim, int64_t num_heads,
                               double dropout) {
  check(hidden_size > 0 && num_heads > 0, "{}: hidden_size ({}) and num_heads ({}) must be positive", who,
        hidden_size, num_heads);
  check(hidden_size % num_heads == 0, "{}: hidden_size {} must be divisible by num_heads {}", who, hidden_size,
        num_heads);
  check(mlp_dim > 0, "{}: mlp_dim must be positive, got {}", who, mlp_dim);
  check(dropout >= 0.0 && dropout <= 1.0, "{}: dropout must be in [0, 1], got {}", who, dropout);
}

bool is_unused_monai_vit_key(const std::string& key) {
  return key.find(".cross_attn.") != std::string::npos || key.find(".norm_cross_attn.") != std::string::npos;
}

// ------------------------------------------------------------------------------------------------------- MLPBlock

MLPBlockImpl::MLPBlockImpl(int64_t hidden_size, int64_t mlp_dim, double dropout) {
  linear1_ = register_module("linear1", nn::Linear(hidden_size, mlp_dim));
  linear2_ = register_module("linear2", nn::Linear(mlp_dim, hidden_size));
  drop1_ = register_module("drop1", nn::Dropout(dropout));
  drop2_ = register_module("drop2", nn::Dropout(dropout));
}

torch::Tensor MLPBlockImpl::forward(const torch::Tensor& x) {
  // torch::gelu's default approximation is "none", i.e. the exact erf form that nn.GELU() uses.
  auto h = drop1_(torch::gelu(linear_forward(linear1_, x)));
  return drop2_(linear_forward(linear2_, h));
}

// -------------------------------------------------------------------------------------------------------- SABlock

SABlockImpl::SABlockImpl(int64_t hidden_size, int64_t num_heads, double dropout, bool qkv_bias)
    : num_heads_(num_heads), head_dim_(hidden_size / num_heads) {
  check_transformer_options("SABlock", hidden_size, hidden_size, num_heads, dropout);
  scale_ = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  // Registration order follows MONAI (out_proj before qkv) so the state_dict lists keys in the same order.
  out_proj_ = register_module("out_proj", nn::Linear(hidden_size, hidden_size));
  qkv_ = register_module("qkv", nn::Linear(nn::LinearOptions(hidden_size, 3 * hidden_size).bias(qkv_bias)));
  drop_output_ = register_module("drop_output", nn::Dropout(dropout));
  drop_weights_ = register_module("drop_weights", nn::Dropout(dropout));
}

torch::Tensor SABlockImpl::forward(const torch::Tensor& x) {
  check(x.dim() == 3, "SABlock: expected tokens of shape (B, N, hidden), got {} dims", x.dim());
  const int64_t batch = x.size(0), tokens = x.size(1), hidden = x.size(2);
  // "b h (qkv l d) -> qkv b l h d": features split as (3, heads, head_dim); result (3, B, heads, N, head_dim).
  auto qkv = linear_forward(qkv_, x).view({batch, tokens, 3, num_heads_, head_dim_}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  // medssl::matmul reads q, k, v as strided views of qkv (no copies) and multiplies by k^T without forming it.
  auto attention = (medssl::matmul(q, k, false, true) * scale_).softmax(-1);
  attention = drop_weights_(attention);
  // (B, heads, N, head_dim) -> "b l h d -> b h (l d)": (B, N, heads * head_dim).
  auto out = medssl::matmul(attention, v).permute({0, 2, 1, 3}).reshape({batch, tokens, hidden});
  return drop_output_(linear_forward(out_proj_, out));
}

// ----------------------------------------------------------------------------------------------- TransformerBlock

TransformerBlockImpl::TransformerBlockImpl(int64_t hidden_size, int64_t mlp_dim, int64_t num_heads, double dropout,
                                           bool qkv_bias) {
  check_transformer_options("TransformerBlock", hidden_size, mlp_dim, num_heads, dropout);
  // MONAI's attribute order: mlp, norm1, attn, norm2.
  mlp_ = register_module("mlp", MLPBlock(hidden_size, mlp_dim, dropout));
  norm1_ = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({hidden_size})));
  attn_ = register_module("attn", SABlock(hidden_size, num_heads, dropout, qkv_bias));
  norm2_ = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({hidden_size})));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x) {
  auto h = x + attn_(norm1_(x));
  return h + mlp_(norm2_(h));
}

}  // namespace medssl::models
