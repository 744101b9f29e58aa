#include "medssl/models/unetr.h"

#include <fmt/ranges.h>

#include "medssl/core/error.h"
#include "medssl/models/patch_embedding.h"

namespace medssl::models {

UNETRImpl::UNETRImpl(UNETROptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  const auto img = expand_spatial(options_.img_size(), dims, "UNETR img_size");
  for (auto s : img)
    check(s % kPatchSize == 0, "UNETR: every img_size must be a multiple of the patch size {}, got ({})", kPatchSize,
          fmt::join(img, ", "));
  options_.img_size(img);
  check(options_.in_channels() > 0 && options_.out_channels() > 0 && options_.feature_size() > 0,
        "UNETR: in_channels ({}), out_channels ({}) and feature_size ({}) must be positive", options_.in_channels(),
        options_.out_channels(), options_.feature_size());
  check_transformer_options("UNETR", options_.hidden_size(), options_.mlp_dim(), options_.num_heads(),
                            options_.dropout());
  check_unetr_norm_name(options_.norm_name());

  const int64_t f = options_.feature_size(), hidden = options_.hidden_size();
  const auto& norm = options_.norm_name();
  vit_ = register_module("vit", ViT(ViTOptions(options_.in_channels(), img, {kPatchSize})
                                        .hidden_size(hidden)
                                        .mlp_dim(options_.mlp_dim())
                                        .num_layers(kNumLayers)
                                        .num_heads(options_.num_heads())
                                        .dropout(options_.dropout())
                                        .spatial_dims(dims)
                                        .qkv_bias(options_.qkv_bias())
                                        .classification(false)));
  encoder1_ = register_module(
      "encoder1",
      UnetrBasicBlock(UnetConvBlockOptions(dims, options_.in_channels(), f).norm_name(norm), options_.res_block()));
  auto pr_up = [&](int64_t out, int64_t num_layer) {
    return UnetrPrUpBlock(UnetrPrUpBlockOptions(dims, hidden, out, num_layer)
                              .norm_name(norm)
                              .conv_block(options_.conv_block())
                              .res_block(options_.res_block()));
  };
  encoder2_ = register_module("encoder2", pr_up(2 * f, 2));
  encoder3_ = register_module("encoder3", pr_up(4 * f, 1));
  encoder4_ = register_module("encoder4", pr_up(8 * f, 0));
  auto up = [&](int64_t in, int64_t out) {
    return UnetrUpBlock(UnetrUpBlockOptions(dims, in, out).norm_name(norm).res_block(options_.res_block()));
  };
  decoder5_ = register_module("decoder5", up(hidden, 8 * f));
  decoder4_ = register_module("decoder4", up(8 * f, 4 * f));
  decoder3_ = register_module("decoder3", up(4 * f, 2 * f));
  decoder2_ = register_module("decoder2", up(2 * f, f));
  out_ = register_module("out", UnetOutBlock(dims, f, options_.out_channels()));
}

torch::Tensor UNETRImpl::proj_feat(const torch::Tensor& tokens) const {
  return tokens_to_feature_map(tokens, vit_->grid());
}

torch::Tensor UNETRImpl::forward(const torch::Tensor& x) {
  auto encoded = vit_->forward(x);  // validates the input shape against in_channels / img_size
  const auto& hidden_states = encoded.hidden_states;
  auto enc1 = encoder1_(x);
  auto enc2 = encoder2_(proj_feat(hidden_states[3]));
  auto enc3 = encoder3_(proj_feat(hidden_states[6]));
  auto enc4 = encoder4_(proj_feat(hidden_states[9]));
  auto dec3 = decoder5_(proj_feat(encoded.x), enc4);
  auto dec2 = decoder4_(dec3, enc3);
  auto dec1 = decoder3_(dec2, enc2);
  return out_(decoder2_(dec1, enc1));
}

}  // namespace medssl::models
