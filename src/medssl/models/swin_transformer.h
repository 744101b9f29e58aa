#pragma once
// MONAI's Swin Transformer v1 (monai/networks/nets/swin_unetr.py: SwinTransformer, BasicLayer, SwinTransformerBlock,
// WindowAttention, PatchMerging, compute_mask, get_window_size; monai/networks/blocks/patchembedding.py: PatchEmbed),
// the encoder of SwinUNETR, 2D or 3D. Spec: design/reference/iou_and_monai_ssl.md A.5. Checked against MONAI's own
// outputs (tests/models/test_swin_monai_reference.cpp).
//
// Parameter names = MONAI's (prefix "swinViT." inside SwinUNETR), so MONAI state dicts load 1:1:
//   patch_embed.proj.{weight,bias}                       Conv(in, C, kernel = stride = 2)
//   layers<s>.0.blocks.<b>.norm1.{weight,bias}           s = 1..4, stage dim d = C * 2^(s-1)
//   layers<s>.0.blocks.<b>.attn.relative_position_bias_table   ((2w-1)^dims, heads), trunc_normal(.02)
//   layers<s>.0.blocks.<b>.attn.relative_position_index  BUFFER (w^dims, w^dims) int64, in MONAI's state_dict too
//   layers<s>.0.blocks.<b>.attn.qkv.{weight,bias}        Linear(d, 3d)   (features split as (3, heads, head_dim))
//   layers<s>.0.blocks.<b>.attn.proj.{weight,bias}       Linear(d, d)
//   layers<s>.0.blocks.<b>.norm2.{weight,bias}
//   layers<s>.0.blocks.<b>.mlp.linear{1,2}.{weight,bias} Linear(d, 4d), Linear(4d, d), exact GELU
//   layers<s>.0.downsample.norm.{weight,bias}            LayerNorm(2^dims d)
//   layers<s>.0.downsample.reduction.weight              Linear(2^dims d, 2d, no bias)
//
// forward(x, normalize) returns MONAI's five maps [x0_out .. x4_out], channels first: x0 = patch embedding (C, size/2),
// x_s = output of stage s after its patch merging (2^s C, size/2^(s+1)); with normalize each map goes through a
// parameter-free LayerNorm over channels (MONAI's proj_out). Any input size works: the patch embedding, the window
// attention and the patch merging pad at the high end like MONAI (SwinUNETR itself needs multiples of 32).
//
// MONAI behaviours kept on purpose (they change outputs, and checkpoints were trained with them):
//  - window clamp: on an axis whose feature size is <= the window, the window becomes that size and the shift 0;
//  - the relative position bias of a window with n < w^dims tokens uses relative_position_index[:n, :n] (the
//    top-left block of the full-window index, not the true offsets of the smaller window);
//  - the shifted-window mask is -100 (not -inf) between tokens of different regions; regions come from the slices
//    [0:-w], [-w:-s], [-s:] of the padded map, where s = 0 makes the last slice the whole axis (no split on it);
//  - 3D patch merging concatenates the eight 2x2x2 corners in the order of MONAI <= 1.4 ("monai_1.2"), which
//    repeats corners (0,1,0) and (0,0,1) and drops (1,1,0) and (0,1,1); MONAI 1.5 fixed the order ("monai_1.5").
//    2D merging is the same in every version: (0,0), (1,0), (0,1), (1,1) with the first index along H.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/transformer_block.h"

namespace medssl::models {

/// MONAI get_window_size: per axis, window and shift; an axis with size <= window uses window = size, shift 0.
std::pair<std::vector<int64_t>, std::vector<int64_t>> swin_window_and_shift(const std::vector<int64_t>& sizes,
                                                                            const std::vector<int64_t>& window,
                                                                            const std::vector<int64_t>& shift);

/// MONAI compute_mask for a padded map: (windows, n, n) with 0 between tokens of the same region, -100 otherwise.
torch::Tensor swin_attention_mask(const std::vector<int64_t>& padded_sizes, const std::vector<int64_t>& window,
                                  const std::vector<int64_t>& shift, torch::Device device = torch::kCPU);

/// (B, S1..Sk, C) -> (B * windows, prod(window), C), windows in row-major order of the window grid.
torch::Tensor swin_window_partition(const torch::Tensor& x, const std::vector<int64_t>& window);
/// Inverse of swin_window_partition for a map of `batch` x `sizes`.
torch::Tensor swin_window_reverse(const torch::Tensor& windows, const std::vector<int64_t>& window, int64_t batch,
                                  const std::vector<int64_t>& sizes);

/// The (w^dims, w^dims) relative position index of a full window (MONAI WindowAttention.relative_position_index).
torch::Tensor swin_relative_position_index(const std::vector<int64_t>& window);

/// Window multi-head self-attention with relative position bias (MONAI WindowAttention).
class WindowAttentionImpl : public torch::nn::Module {
 public:
  WindowAttentionImpl(int64_t dim, int64_t num_heads, std::vector<int64_t> window, bool qkv_bias, double attn_drop,
                      double proj_drop);
  /// x: (B * windows, n, dim) with n <= prod(window); mask: (windows, n, n) or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});

 private:
  int64_t num_heads_;
  double scale_;
  torch::Tensor relative_position_bias_table_, relative_position_index_;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
  torch::nn::Dropout attn_drop_{nullptr}, proj_drop_{nullptr};
};
TORCH_MODULE(WindowAttention);

struct SwinBlockOptions {
  SwinBlockOptions(int64_t dim, int64_t num_heads, std::vector<int64_t> window, std::vector<int64_t> shift)
      : dim_(dim), num_heads_(num_heads), window_(std::move(window)), shift_(std::move(shift)) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(std::vector<int64_t>, window);
  TORCH_ARG(std::vector<int64_t>, shift);
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(double, drop) = 0.0;
  TORCH_ARG(double, attn_drop) = 0.0;
  TORCH_ARG(double, drop_path) = 0.0;
};

/// x = x + DropPath(WindowAttention(pad/shift/partition(LN1 x))); x = x + DropPath(MLP(LN2 x)).
class SwinTransformerBlockImpl : public torch::nn::Module {
 public:
  explicit SwinTransformerBlockImpl(SwinBlockOptions options);
  /// x: (B, S1..Sk, dim) channels last; mask: the layer's shifted-window mask (used only if this block shifts).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);

 private:
  torch::Tensor drop_path(const torch::Tensor& x) const;

  SwinBlockOptions options_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  WindowAttention attn_{nullptr};
  MLPBlock mlp_{nullptr};
};
TORCH_MODULE(SwinTransformerBlock);

/// Patch merging: pad odd sizes, concatenate the 2^dims corners of every 2x.. cell, LayerNorm, Linear(2^dims d -> 2d).
class PatchMergingImpl : public torch::nn::Module {
 public:
  PatchMergingImpl(int64_t dim, int spatial_dims, std::string merge_order);
  /// x: (B, S1..Sk, dim) -> (B, ceil(S/2).., 2 dim).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int spatial_dims_;
  std::string merge_order_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear reduction_{nullptr};
};
TORCH_MODULE(PatchMerging);

/// One stage: `depth` blocks (odd ones shifted by window/2) then patch merging (MONAI BasicLayer).
class SwinStageImpl : public torch::nn::Module {
 public:
  SwinStageImpl(const std::vector<SwinBlockOptions>& blocks, int spatial_dims, const std::string& merge_order);
  /// x: (B, dim, S...) channels first -> (B, 2 dim, ceil(S/2)...) channels first.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::vector<int64_t> window_, shift_;
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<SwinTransformerBlock> block_list_;
  PatchMerging downsample_{nullptr};
};
TORCH_MODULE(SwinStage);

struct SwinTransformerOptions {
  explicit SwinTransformerOptions(int64_t in_channels) : in_channels_(in_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, embed_dim) = 48;  ///< C (SwinUNETR's feature_size)
  TORCH_ARG(std::vector<int64_t>, window_size) = {7};  ///< one value or spatial_dims values
  TORCH_ARG(std::vector<int64_t>, patch_size) = {2};   ///< one value or spatial_dims values
  TORCH_ARG(std::vector<int64_t>, depths) = std::vector<int64_t>({2, 2, 2, 2});
  TORCH_ARG(std::vector<int64_t>, num_heads) = std::vector<int64_t>({3, 6, 12, 24});
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, qkv_bias) = true;
  TORCH_ARG(double, drop_rate) = 0.0;
  TORCH_ARG(double, attn_drop_rate) = 0.0;
  TORCH_ARG(double, drop_path_rate) = 0.0;  ///< stochastic depth, linear 0..rate over all blocks
  TORCH_ARG(int, spatial_dims) = 3;
  TORCH_ARG(std::string, merge_order) = "monai_1.2";  ///< 3D patch merging: "monai_1.2" (quirk) | "monai_1.5"
};

class SwinTransformerImpl : public torch::nn::Module {
 public:
  static constexpr int kNumStages = 4;  ///< MONAI's layers1..layers4

  explicit SwinTransformerImpl(SwinTransformerOptions options);
  /// x: (B, in_channels, S...) -> [x0_out, x1_out, x2_out, x3_out, x4_out] channels first.
  std::vector<torch::Tensor> forward(const torch::Tensor& x, bool normalize = true);
  /// Global average of the deepest normalised map: (B, 16 C) (the SSL backbone feature of design A.5).
  torch::Tensor pooled_features(const torch::Tensor& x);
  /// Channels of x4_out: C * 2^4.
  int64_t out_features() const { return options_.embed_dim() << kNumStages; }
  const SwinTransformerOptions& options() const { return options_; }

 private:
  SwinTransformerOptions options_;
  std::vector<int64_t> patch_;
  torch::nn::AnyModule patch_conv_;
  torch::nn::Dropout pos_drop_{nullptr};
  std::vector<SwinStage> stages_;
};
TORCH_MODULE(SwinTransformer);

/// MONAI proj_out with normalize: parameter-free LayerNorm over the channel axis of a channels-first map.
torch::Tensor swin_normalize_channels(const torch::Tensor& x);

}  // namespace medssl::models
