// Swin Transformer and SwinUNETR: window clamp, shifted-window masks, relative position index, shapes for odd and
// non-window-multiple sizes (2D/3D), MONAI parameter names and counts (62,187,296 for MONAI's 3D example), registry.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/models/registry.h"
#include "medssl/models/swin_transformer.h"
#include "medssl/models/swin_unetr.h"

namespace {

using namespace medssl::models;
using Sizes = std::vector<int64_t>;

int64_t pow_int(int64_t base, int exponent) {
  int64_t r = 1;
  for (int i = 0; i < exponent; ++i) r *= base;
  return r;
}

/// Hand count of SwinUNETR's trainable parameters (window 7, patch 2, mlp ratio 4, qkv bias, residual decoder with
/// bias-free convs and InstanceNorm without affine), written from the architecture, not from the code.
int64_t swin_unetr_param_formula(int64_t in, int64_t out, int64_t f, const Sizes& depths, const Sizes& heads, int dims) {
  const int64_t k3 = pow_int(3, dims), k2 = pow_int(2, dims), table = pow_int(13, dims);
  int64_t swin = in * f * k2 + f;  // patch_embed.proj
  for (int s = 0; s < 4; ++s) {
    const int64_t d = f << s;
    const int64_t block = 2 * d + table * heads[s] + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (8 * d * d + 5 * d);
    swin += depths[s] * block + 2 * k2 * d + k2 * d * 2 * d;  // blocks + merging (norm, reduction)
  }
  auto res = [&](int64_t a, int64_t b) { return k3 * (a * b + b * b) + (a != b ? a * b : 0); };
  auto up = [&](int64_t a, int64_t b) { return a * b * k2 + res(2 * b, b); };
  const int64_t decoder = res(in, f) + res(f, f) + res(2 * f, 2 * f) + res(4 * f, 4 * f) + res(16 * f, 16 * f) +
                          up(16 * f, 8 * f) + up(8 * f, 4 * f) + up(4 * f, 2 * f) + up(2 * f, f) + up(f, f) +
                          (f * out + out);
  return swin + decoder;
}

TEST(SwinHelpers, WindowClampsToSmallAxesAndDropsTheirShift) {
  auto [window, shift] = swin_window_and_shift({6, 10}, {7, 7}, {3, 3});
  EXPECT_EQ(window, (Sizes{6, 7}));
  EXPECT_EQ(shift, (Sizes{0, 3}));
  std::tie(window, shift) = swin_window_and_shift({7, 8, 3}, {7, 7, 7}, {3, 3, 3});
  EXPECT_EQ(window, (Sizes{7, 7, 3}));  // size == window also clamps (MONAI: <=)
  EXPECT_EQ(shift, (Sizes{0, 3, 0}));
}

int64_t zeros_in(const torch::Tensor& m) { return (m == 0).sum().item<int64_t>(); }

TEST(SwinHelpers, ShiftedWindowMaskHasMonaiRegions) {
  // 14x14 padded map, window 7, shift 3: regions along each axis [0:7], [7:11], [11:14].
  auto mask = swin_attention_mask({14, 14}, {7, 7}, {3, 3});
  ASSERT_EQ(mask.sizes(), (torch::IntArrayRef{4, 49, 49}));
  EXPECT_EQ(((mask == 0) | (mask == -100)).all().item<bool>(), true);  // only 0 and -100
  EXPECT_GT((mask == -100).sum().item<int64_t>(), 0);
  EXPECT_EQ(zeros_in(mask[0]), 49 * 49);                                     // one region
  EXPECT_EQ(zeros_in(mask[1]), 28 * 28 + 21 * 21);                           // columns split 4 | 3
  EXPECT_EQ(zeros_in(mask[2]), 28 * 28 + 21 * 21);                           // rows split 4 | 3
  EXPECT_EQ(zeros_in(mask[3]), 16 * 16 + 12 * 12 + 12 * 12 + 9 * 9);       // 4 regions
  EXPECT_TRUE(torch::equal(mask, mask.transpose(1, 2)));
  EXPECT_EQ(zeros_in(mask.diagonal(0, 1, 2)), 4 * 49);
  // An axis without shift is not split at all (MONAI's slice(-0, None) covers the whole axis).
  auto partial = swin_attention_mask({14, 6}, {7, 6}, {3, 0});
  ASSERT_EQ(partial.sizes(), (torch::IntArrayRef{2, 42, 42}));
  EXPECT_EQ(zeros_in(partial[0]), 42 * 42);
  EXPECT_EQ(zeros_in(partial[1]), 24 * 24 + 18 * 18);
  // 3D: the last of 8 windows of a 14^3 map has 8 regions of sizes 4 or 3 per axis.
  auto mask3 = swin_attention_mask({14, 14, 14}, {7, 7, 7}, {3, 3, 3});
  ASSERT_EQ(mask3.sizes(), (torch::IntArrayRef{8, 343, 343}));
  int64_t expected = 0;
  for (int64_t a : {4, 3})
    for (int64_t b : {4, 3})
      for (int64_t c : {4, 3}) expected += (a * b * c) * (a * b * c);
  EXPECT_EQ(zeros_in(mask3[7]), expected);
}

TEST(SwinHelpers, RelativePositionIndexMatchesOffsets) {
  auto index = swin_relative_position_index({7, 7});
  ASSERT_EQ(index.sizes(), (torch::IntArrayRef{49, 49}));
  EXPECT_EQ(index[0][0].item<int64_t>(), 6 * 13 + 6);  // zero offset
  EXPECT_EQ(index.max().item<int64_t>(), 13 * 13 - 1);
  EXPECT_TRUE(torch::equal(index + index.t(), torch::full({49, 49}, 168, torch::kLong)));  // (a-b) and (b-a)
  // token 8 = (1, 1), token 0 = (0, 0): offset (1, 1) -> (1+6)*13 + (1+6)
  EXPECT_EQ(index[8][0].item<int64_t>(), 7 * 13 + 7);
  auto index3 = swin_relative_position_index({7, 7, 7});
  EXPECT_EQ(index3[5][5].item<int64_t>(), 6 * 169 + 6 * 13 + 6);
  EXPECT_EQ(index3.max().item<int64_t>(), 13 * 13 * 13 - 1);
}

TEST(SwinHelpers, WindowPartitionAndReverseAreInverse) {
  auto x = torch::randn({2, 14, 21, 5});
  auto windows = swin_window_partition(x, {7, 7});
  ASSERT_EQ(windows.sizes(), (torch::IntArrayRef{2 * 2 * 3, 49, 5}));
  EXPECT_TRUE(torch::equal(windows[1], x[0].slice(0, 0, 7).slice(1, 7, 14).reshape({49, 5})));  // row-major windows
  EXPECT_TRUE(torch::equal(swin_window_reverse(windows, {7, 7}, 2, {14, 21}), x));
  auto y = torch::randn({1, 14, 7, 7, 3});
  EXPECT_TRUE(torch::equal(swin_window_reverse(swin_window_partition(y, {7, 7, 7}), {7, 7, 7}, 1, {14, 7, 7}), y));
}

TEST(SwinTransformer, OutputShapes2DOddSizes) {
  SwinTransformer swin(SwinTransformerOptions(1).embed_dim(6).num_heads({1, 2, 3, 4}).spatial_dims(2));
  auto outputs = swin->forward(torch::randn({2, 1, 45, 37}));
  const std::vector<Sizes> expected = {{2, 6, 23, 19}, {2, 12, 12, 10}, {2, 24, 6, 5}, {2, 48, 3, 3}, {2, 96, 2, 2}};
  ASSERT_EQ(outputs.size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(outputs[k].sizes(), torch::IntArrayRef(expected[k])) << k;
  // normalize: every position's channel vector has mean 0 and (biased) variance 1
  auto deepest = outputs[4].movedim(1, -1);
  EXPECT_LT(deepest.mean(-1).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(deepest.var(-1, /*unbiased=*/false).mean().item<double>(), 1.0, 1e-3);
  EXPECT_EQ(swin->pooled_features(torch::randn({3, 1, 45, 37})).sizes(), (torch::IntArrayRef{3, 96}));
  EXPECT_EQ(swin->out_features(), 96);
}

TEST(SwinTransformer, OutputShapes3DOddSizes) {
  SwinTransformer swin(SwinTransformerOptions(1).embed_dim(3).num_heads({1, 1, 1, 1}).spatial_dims(3));
  auto outputs = swin->forward(torch::randn({1, 1, 19, 23, 17}), /*normalize=*/false);
  const std::vector<Sizes> expected = {
      {1, 3, 10, 12, 9}, {1, 6, 5, 6, 5}, {1, 12, 3, 3, 3}, {1, 24, 2, 2, 2}, {1, 48, 1, 1, 1}};
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(outputs[k].sizes(), torch::IntArrayRef(expected[k])) << k;
}

TEST(SwinTransformer, DropPathIsRandomOnlyInTraining) {
  SwinTransformer swin(
      SwinTransformerOptions(1).embed_dim(6).num_heads({1, 1, 1, 1}).spatial_dims(2).drop_path_rate(0.5));
  auto x = torch::randn({4, 1, 32, 32});
  swin->train();
  EXPECT_FALSE(torch::allclose(swin->pooled_features(x), swin->pooled_features(x)));
  swin->eval();
  EXPECT_TRUE(torch::equal(swin->pooled_features(x), swin->pooled_features(x)));
}

TEST(SwinTransformer, RejectsBadOptions) {
  EXPECT_THROW(SwinTransformer(SwinTransformerOptions(1).embed_dim(6).num_heads({4, 4, 4, 4})), medssl::Error);
  EXPECT_THROW(SwinTransformer(SwinTransformerOptions(1).depths({2, 2, 2})), medssl::Error);
  EXPECT_THROW(SwinTransformer(SwinTransformerOptions(1).embed_dim(6).num_heads({1, 1, 1, 1}).merge_order("v3")),
               medssl::Error);
}

TEST(SwinUnetr, ShapesAndSizeCheck2D3D) {
  SwinUNETR net2(SwinUNETROptions(1, 3).feature_size(6).num_heads({1, 2, 3, 4}).spatial_dims(2));
  EXPECT_EQ(net2(torch::randn({2, 1, 64, 96})).sizes(), (torch::IntArrayRef{2, 3, 64, 96}));
  SwinUNETR net3(SwinUNETROptions(2, 4).feature_size(3).num_heads({1, 1, 1, 1}).spatial_dims(3));
  EXPECT_EQ(net3(torch::randn({1, 2, 32, 32, 64})).sizes(), (torch::IntArrayRef{1, 4, 32, 32, 64}));
  try {
    net2(torch::randn({1, 1, 64, 48}));
    FAIL() << "expected an error for a size that is not a multiple of 32";
  } catch (const medssl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 32"), std::string::npos) << e.what();
  }
}

TEST(SwinUnetr, ParameterCountsMatchMonaiAndHandFormula) {
  SwinUNETR net3(SwinUNETROptions(1, 14).feature_size(48).spatial_dims(3));
  EXPECT_EQ(count_parameters(*net3), 62187296);  // MONAI SwinUNETR(img 96, in 1, out 14, feature 48) 3D
  EXPECT_EQ(count_parameters(*net3), swin_unetr_param_formula(1, 14, 48, {2, 2, 2, 2}, {3, 6, 12, 24}, 3));
  SwinUNETR net2(SwinUNETROptions(1, 14).feature_size(48).spatial_dims(2));
  EXPECT_EQ(count_parameters(*net2), 25138568);  // MONAI 1.5 count for the same options, spatial_dims 2
  EXPECT_EQ(count_parameters(*net2), swin_unetr_param_formula(1, 14, 48, {2, 2, 2, 2}, {3, 6, 12, 24}, 2));
}

TEST(SwinUnetr, ParameterNamesAreMonais) {
  SwinUNETR net(SwinUNETROptions(1, 2).feature_size(6).num_heads({1, 1, 1, 1}).spatial_dims(3));
  std::set<std::string> names;
  for (const auto& item : net->named_parameters()) names.insert(item.key());
  for (const auto& item : net->named_buffers()) names.insert(item.key());
  for (const std::string key :
       {"swinViT.patch_embed.proj.weight", "swinViT.patch_embed.proj.bias",
        "swinViT.layers1.0.blocks.0.attn.relative_position_bias_table",
        "swinViT.layers1.0.blocks.1.attn.relative_position_index", "swinViT.layers1.0.blocks.0.attn.qkv.weight",
        "swinViT.layers2.0.blocks.1.attn.proj.bias", "swinViT.layers3.0.blocks.0.mlp.linear1.weight",
        "swinViT.layers4.0.blocks.1.norm2.weight", "swinViT.layers4.0.downsample.reduction.weight",
        "swinViT.layers4.0.downsample.norm.bias", "encoder1.layer.conv1.conv.weight", "encoder1.layer.conv3.conv.weight",
        "encoder10.layer.conv2.conv.weight", "decoder5.transp_conv.conv.weight", "decoder1.conv_block.conv3.conv.weight",
        "out.conv.conv.weight", "out.conv.conv.bias"})
    EXPECT_TRUE(names.count(key)) << key;
  EXPECT_FALSE(names.count("swinViT.layers4.0.downsample.reduction.bias"));
}

TEST(SwinRegistry, BuildsEncoderAndSwinUnetr) {
  auto encoder = build_model("swin_encoder", {{"spatial_dims", 2}, {"feature_size", 12}, {"num_heads", {1, 2, 2, 4}}});
  EXPECT_EQ(encoder.kind, "encoder");
  EXPECT_EQ(encoder.out_features, 16 * 12);
  auto swin = encoder.as<SwinTransformerImpl>();
  EXPECT_EQ(swin->pooled_features(torch::randn({2, 1, 40, 40})).sizes(), (torch::IntArrayRef{2, 192}));
  auto model = build_model("swinunetr", {{"spatial_dims", 2}, {"out_channels", 3}, {"feature_size", 12},
                                         {"img_size", {64, 32}}, {"drop_path_rate", 0.1}});
  EXPECT_EQ(model.kind, "model");
  EXPECT_EQ(model.out_features, 3);
  EXPECT_EQ(model.options["window_size"], 7);
  EXPECT_EQ(model.as<SwinUNETRImpl>()->forward(torch::randn({1, 1, 64, 32})).sizes(),
            (torch::IntArrayRef{1, 3, 64, 32}));
  EXPECT_THROW(build_model("swinunetr", {{"img_size", {100}}}), medssl::Error);
  EXPECT_THROW(build_model("swin_encoder", {{"windows", 7}}), medssl::Error);
}

}  // namespace
