#include "medssl/models/vit.h"

#include <fmt/ranges.h>

#include "medssl/core/error.h"

namespace medssl::models {

namespace nn = torch::nn;

torch::Tensor run_transformer_blocks(const std::vector<TransformerBlock>& blocks, torch::Tensor x,
                                     std::vector<torch::Tensor>& hidden_states) {
  hidden_states.reserve(hidden_states.size() + blocks.size());
  for (auto block : blocks) {  // a holder copy: forward is non-const
    x = block->forward(x);
    hidden_states.push_back(x);
  }
  return x;
}

torch::Tensor tokens_to_feature_map(const torch::Tensor& tokens, const std::vector<int64_t>& grid) {
  int64_t n = 1;
  for (auto g : grid) n *= g;
  check(tokens.dim() == 3 && tokens.size(1) == n,
        "tokens_to_feature_map: expected (B, {}, hidden) tokens for a patch grid of ({}), got shape [{}]", n,
        fmt::join(grid, ", "), fmt::join(tokens.sizes(), ", "));
  std::vector<int64_t> view{tokens.size(0)};
  view.insert(view.end(), grid.begin(), grid.end());
  view.push_back(tokens.size(2));
  std::vector<int64_t> axes{0, static_cast<int64_t>(grid.size()) + 1};
  for (size_t d = 0; d < grid.size(); ++d) axes.push_back(static_cast<int64_t>(d) + 1);
  return tokens.reshape(view).permute(axes).contiguous();
}

ViTImpl::ViTImpl(ViTOptions options) : options_(std::move(options)) {
  check_transformer_options("ViT", options_.hidden_size(), options_.mlp_dim(), options_.num_heads(),
                            options_.dropout());
  check(options_.num_layers() > 0, "ViT: num_layers must be positive, got {}", options_.num_layers());
  patch_embedding_ = register_module(
      "patch_embedding",
      PatchEmbeddingBlock(PatchEmbeddingOptions(options_.in_channels(), options_.img_size(), options_.patch_size(),
                                                options_.hidden_size())
                              .dropout(options_.dropout())
                              .spatial_dims(options_.spatial_dims())));
  // Store the validated, expanded sizes.
  options_.img_size(patch_embedding_->options().img_size()).patch_size(patch_embedding_->options().patch_size());

  blocks_ = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < options_.num_layers(); ++i) {
    block_list_.emplace_back(options_.hidden_size(), options_.mlp_dim(), options_.num_heads(), options_.dropout(),
                             options_.qkv_bias());
    blocks_->push_back(block_list_.back());
  }
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({options_.hidden_size()})));

  if (options_.classification()) {
    check(options_.num_classes() > 0, "ViT: num_classes must be positive, got {}", options_.num_classes());
    const auto& act = options_.post_activation();
    check(act == "Tanh" || act == "none", "ViT: post_activation must be \"Tanh\" or \"none\", got \"{}\"", act);
    cls_token_ = register_parameter("cls_token", torch::zeros({1, 1, options_.hidden_size()}));
    head_linear_ = nn::Linear(options_.hidden_size(), options_.num_classes());
    if (act == "Tanh")
      head_with_tanh_ = register_module("classification_head", nn::Sequential(head_linear_, nn::Tanh()));
    else
      register_module("classification_head", head_linear_);
  }
}

ViTOutput ViTImpl::forward(const torch::Tensor& x) {
  auto tokens = patch_embedding_->forward(x);
  if (cls_token_.defined()) tokens = torch::cat({cls_token_.expand({tokens.size(0), -1, -1}), tokens}, 1);
  ViTOutput out;
  tokens = run_transformer_blocks(block_list_, tokens, out.hidden_states);
  out.x = norm_(tokens);
  if (head_with_tanh_)
    out.x = head_with_tanh_->forward(out.x.select(1, 0));
  else if (head_linear_)
    out.x = head_linear_(out.x.select(1, 0));
  return out;
}

}  // namespace medssl::models
