#include "medssl/models/swin_unetr.h"

#include <fmt/ranges.h>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"

namespace medssl::models {

SwinTransformerOptions swin_encoder_options(const SwinUNETROptions& o) {
  return SwinTransformerOptions(o.in_channels())
      .embed_dim(o.feature_size())
      .window_size(o.window_size())
      .patch_size({2})
      .depths(o.depths())
      .num_heads(o.num_heads())
      .mlp_ratio(4.0)
      .qkv_bias(true)
      .drop_rate(o.drop_rate())
      .attn_drop_rate(o.attn_drop_rate())
      .drop_path_rate(o.drop_path_rate())
      .spatial_dims(o.spatial_dims())
      .merge_order(o.merge_order());
}

SwinUNETRImpl::SwinUNETRImpl(SwinUNETROptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "SwinUNETR");
  check(options_.in_channels() > 0 && options_.out_channels() > 0,
        "SwinUNETR: in_channels ({}) and out_channels ({}) must be positive", options_.in_channels(),
        options_.out_channels());
  // MONAI requires feature_size % 12 == 0; medssl only needs the stage widths to split into their heads (checked by
  // the encoder), so tiny test models can use smaller sizes.
  check(options_.feature_size() > 0, "SwinUNETR: feature_size must be positive, got {}", options_.feature_size());
  check_unetr_norm_name(options_.norm_name());
  const int64_t f = options_.feature_size();
  const auto& norm = options_.norm_name();
  swin_ = register_module("swinViT", SwinTransformer(swin_encoder_options(options_)));
  auto basic = [&](int64_t in, int64_t out) {
    return UnetrBasicBlock(UnetConvBlockOptions(dims, in, out).norm_name(norm), /*res_block=*/true);
  };
  auto up = [&](int64_t in, int64_t out) {
    return UnetrUpBlock(UnetrUpBlockOptions(dims, in, out).norm_name(norm).res_block(true));
  };
  encoder1_ = register_module("encoder1", basic(options_.in_channels(), f));
  encoder2_ = register_module("encoder2", basic(f, f));
  encoder3_ = register_module("encoder3", basic(2 * f, 2 * f));
  encoder4_ = register_module("encoder4", basic(4 * f, 4 * f));
  encoder10_ = register_module("encoder10", basic(16 * f, 16 * f));
  decoder5_ = register_module("decoder5", up(16 * f, 8 * f));
  decoder4_ = register_module("decoder4", up(8 * f, 4 * f));
  decoder3_ = register_module("decoder3", up(4 * f, 2 * f));
  decoder2_ = register_module("decoder2", up(2 * f, f));
  decoder1_ = register_module("decoder1", up(f, f));
  out_ = register_module("out", UnetOutBlock(dims, f, options_.out_channels()));
}

torch::Tensor SwinUNETRImpl::forward(const torch::Tensor& x) {
  const int dims = options_.spatial_dims();
  check(x.dim() == dims + 2 && x.size(1) == options_.in_channels(), "SwinUNETR: expected input (B, {}, {} sizes), got {}",
        options_.in_channels(), dims, shape_string(x));
  for (int i = 0; i < dims; ++i)
    check(x.size(2 + i) % kSizeMultiple == 0,
          "SwinUNETR: every spatial size must be a multiple of {} (patch 2 over 5 levels), got input {}", kSizeMultiple,
          shape_string(x));
  auto hs = swin_->forward(x, options_.normalize());
  auto enc0 = encoder1_(x);
  auto enc1 = encoder2_(hs[0]);
  auto enc2 = encoder3_(hs[1]);
  auto enc3 = encoder4_(hs[2]);
  auto dec4 = encoder10_(hs[4]);
  auto dec3 = decoder5_(dec4, hs[3]);
  auto dec2 = decoder4_(dec3, enc3);
  auto dec1 = decoder3_(dec2, enc2);
  auto dec0 = decoder2_(dec1, enc1);
  return out_(decoder1_(dec0, enc0));
}

}  // namespace medssl::models
