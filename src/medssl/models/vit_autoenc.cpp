#include "medssl/models/vit_autoenc.h"

#include <fmt/ranges.h>

#include "medssl/core/error.h"
#include "medssl/models/vit.h"

namespace medssl::models {

namespace nn = torch::nn;

namespace {

/// Integer square root of every patch size; fails (naming the sizes) unless each is a perfect square.
std::vector<int64_t> square_roots(const std::vector<int64_t>& patch) {
  std::vector<int64_t> roots;
  for (auto p : patch) {
    int64_t r = 0;
    while ((r + 1) * (r + 1) <= p) ++r;
    check(r * r == p,
          "ViTAutoEnc: every patch_size must be a perfect square (the decoder upsamples twice by sqrt(patch)), got "
          "patch_size ({})",
          fmt::join(patch, ", "));
    roots.push_back(r);
  }
  return roots;
}

}  // namespace

ViTAutoEncImpl::ViTAutoEncImpl(ViTAutoEncOptions options) : options_(std::move(options)) {
  check_transformer_options("ViTAutoEnc", options_.hidden_size(), options_.mlp_dim(), options_.num_heads(),
                            options_.dropout());
  check(options_.num_layers() > 0, "ViTAutoEnc: num_layers must be positive, got {}", options_.num_layers());
  check(options_.out_channels() > 0 && options_.deconv_chns() > 0,
        "ViTAutoEnc: out_channels ({}) and deconv_chns ({}) must be positive", options_.out_channels(),
        options_.deconv_chns());
  const int dims = options_.spatial_dims();
  const auto patch = expand_spatial(options_.patch_size(), dims, "ViTAutoEnc patch_size");
  const auto up_kernel = square_roots(patch);

  patch_embedding_ = register_module(
      "patch_embedding", PatchEmbeddingBlock(PatchEmbeddingOptions(options_.in_channels(), options_.img_size(), patch,
                                                                   options_.hidden_size())
                                                 .dropout(options_.dropout())
                                                 .spatial_dims(dims)));
  options_.img_size(patch_embedding_->options().img_size()).patch_size(patch);

  blocks_ = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < options_.num_layers(); ++i) {
    block_list_.emplace_back(options_.hidden_size(), options_.mlp_dim(), options_.num_heads(), options_.dropout(),
                             options_.qkv_bias());
    blocks_->push_back(block_list_.back());
  }
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({options_.hidden_size()})));

  conv3d_transpose_ = make_patch_conv(dims, options_.hidden_size(), options_.deconv_chns(), up_kernel, true);
  register_module("conv3d_transpose", conv3d_transpose_.ptr());
  conv3d_transpose_1_ = make_patch_conv(dims, options_.deconv_chns(), options_.out_channels(), up_kernel, true);
  register_module("conv3d_transpose_1", conv3d_transpose_1_.ptr());
}

ViTAutoEncOutput ViTAutoEncImpl::forward(const torch::Tensor& x) {
  ViTAutoEncOutput out;
  auto tokens = run_transformer_blocks(block_list_, patch_embedding_->forward(x), out.hidden_states);
  auto features = tokens_to_feature_map(norm_(tokens), patch_embedding_->grid());
  out.reconstruction = conv3d_transpose_1_.forward(conv3d_transpose_.forward(features));
  return out;
}

}  // namespace medssl::models
