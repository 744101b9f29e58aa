// UNETR and its blocks: shapes (3D/2D), MONAI parameter names/shapes/counts, ViTAutoEnc -> UNETR weight transfer.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/models/unetr.h"
#include "medssl/models/unetr_blocks.h"
#include "medssl/models/vit_autoenc.h"
#include "medssl/models/vit_transfer.h"

namespace {

using namespace medssl::models;

UNETROptions tiny_unetr(int64_t out_channels, int dims = 3) {
  return UNETROptions(1, out_channels, {32}).feature_size(8).hidden_size(48).mlp_dim(96).num_heads(4).spatial_dims(
      dims);
}

int64_t pow_int(int64_t base, int exponent) {
  int64_t r = 1;
  for (int i = 0; i < exponent; ++i) r *= base;
  return r;
}

/// Hand count of UNETR's convolutional part (res_block and conv_block on, instance norm, bias-free convs except the
/// output block): kernel 3, upsampling kernel 2, in `dims` dimensions.
int64_t unetr_decoder_param_formula(int64_t in, int64_t out, int64_t f, int64_t hidden, int dims) {
  const int64_t k3 = pow_int(3, dims), k2 = pow_int(2, dims);
  auto res = [&](int64_t a, int64_t b) { return k3 * (a * b + b * b) + (a != b ? a * b : 0); };
  auto pr_up = [&](int64_t c, int64_t layers) { return hidden * c * k2 + layers * (c * c * k2 + res(c, c)); };
  auto up = [&](int64_t a, int64_t b) { return a * b * k2 + res(2 * b, b); };
  return res(in, f) + pr_up(2 * f, 2) + pr_up(4 * f, 1) + pr_up(8 * f, 0) + up(hidden, 8 * f) + up(8 * f, 4 * f) +
         up(4 * f, 2 * f) + up(2 * f, f) + (f * out + out);
}

int64_t vit_param_formula(int64_t in, int64_t n_patches, int64_t patch_voxels, int64_t hidden, int64_t mlp) {
  const int64_t block = 4 * hidden + 3 * hidden * hidden + hidden * hidden + hidden + 2 * hidden * mlp + mlp + hidden;
  return hidden * in * patch_voxels + hidden + n_patches * hidden + 12 * block + 2 * hidden;
}

TEST(Unetr, OutputShape3D) {
  torch::manual_seed(11);
  UNETR model(tiny_unetr(3));
  auto logits = model(torch::randn({2, 1, 32, 32, 32}));
  EXPECT_EQ(logits.sizes(), torch::IntArrayRef({2, 3, 32, 32, 32}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

TEST(Unetr, OutputShape2DAndAnisotropic) {
  torch::manual_seed(12);
  UNETR flat(UNETROptions(2, 4, {32, 64}).feature_size(8).hidden_size(32).mlp_dim(64).num_heads(4).spatial_dims(2));
  EXPECT_EQ(flat(torch::randn({2, 2, 32, 64})).sizes(), torch::IntArrayRef({2, 4, 32, 64}));
  EXPECT_EQ(flat->named_parameters()["decoder5.conv_block.conv1.conv.weight"].sizes(),
            torch::IntArrayRef({64, 128, 3, 3}));
  UNETR box(UNETROptions(1, 2, {16, 32, 48}).feature_size(4).hidden_size(32).mlp_dim(32).num_heads(2));
  EXPECT_EQ(box(torch::randn({1, 1, 16, 32, 48})).sizes(), torch::IntArrayRef({1, 2, 16, 32, 48}));
}

TEST(Unetr, GradientsReachEncoderAndDecoder) {
  torch::manual_seed(13);
  UNETR model(tiny_unetr(2));
  auto logits = model(torch::randn({1, 1, 32, 32, 32}));
  logits.pow(2).mean().backward();
  auto params = model->named_parameters();
  for (const char* name : {"vit.blocks.3.attn.qkv.weight", "vit.patch_embedding.position_embeddings",
                           "encoder1.layer.conv1.conv.weight", "encoder2.blocks.1.1.conv2.conv.weight",
                           "decoder5.transp_conv.conv.weight", "out.conv.conv.bias"}) {
    ASSERT_TRUE(params[name].grad().defined()) << name;
    EXPECT_GT(params[name].grad().abs().sum().item<double>(), 0.0) << name;
  }
  // Blocks 11 and 12 feed only the final x (decoder5), block 10 also feeds encoder4: all must get gradients.
  EXPECT_GT(params["vit.blocks.11.mlp.linear2.weight"].grad().abs().sum().item<double>(), 0.0);
}

TEST(Unetr, RejectsBadConfigurations) {
  EXPECT_THROW(UNETR(UNETROptions(1, 2, {40}).feature_size(4).hidden_size(32).mlp_dim(32).num_heads(2)),
               medssl::Error);
  EXPECT_THROW(UNETR(UNETROptions(1, 2, {32}).feature_size(4).hidden_size(32).mlp_dim(32).num_heads(2).norm_name(
                   "group")),
               medssl::Error);
  UNETR model(UNETROptions(1, 2, {32}).feature_size(4).hidden_size(32).mlp_dim(32).num_heads(2));
  EXPECT_THROW(model(torch::randn({1, 1, 64, 64, 64})), medssl::Error);
}

// Names and shapes of MONAI 1.5.0's UNETR(in_channels=1, out_channels=14, img_size=96) state_dict outside `vit.`
// (printed from MONAI's own module; every conv there is wrapped in a `Convolution` whose conv is the child "conv").
TEST(Unetr, FullSizeMonaiNamesShapesAndParameterCount) {
  UNETR model(UNETROptions(1, 14, {96, 96, 96}));
  using Shape = std::vector<int64_t>;
  const std::map<std::string, Shape> expected{
      {"encoder1.layer.conv1.conv.weight", {16, 1, 3, 3, 3}},
      {"encoder1.layer.conv2.conv.weight", {16, 16, 3, 3, 3}},
      {"encoder1.layer.conv3.conv.weight", {16, 1, 1, 1, 1}},
      {"encoder2.transp_conv_init.conv.weight", {768, 32, 2, 2, 2}},
      {"encoder2.blocks.0.0.conv.weight", {32, 32, 2, 2, 2}},
      {"encoder2.blocks.0.1.conv1.conv.weight", {32, 32, 3, 3, 3}},
      {"encoder2.blocks.0.1.conv2.conv.weight", {32, 32, 3, 3, 3}},
      {"encoder2.blocks.1.0.conv.weight", {32, 32, 2, 2, 2}},
      {"encoder2.blocks.1.1.conv1.conv.weight", {32, 32, 3, 3, 3}},
      {"encoder2.blocks.1.1.conv2.conv.weight", {32, 32, 3, 3, 3}},
      {"encoder3.transp_conv_init.conv.weight", {768, 64, 2, 2, 2}},
      {"encoder3.blocks.0.0.conv.weight", {64, 64, 2, 2, 2}},
      {"encoder3.blocks.0.1.conv1.conv.weight", {64, 64, 3, 3, 3}},
      {"encoder3.blocks.0.1.conv2.conv.weight", {64, 64, 3, 3, 3}},
      {"encoder4.transp_conv_init.conv.weight", {768, 128, 2, 2, 2}},
      {"decoder5.transp_conv.conv.weight", {768, 128, 2, 2, 2}},
      {"decoder5.conv_block.conv1.conv.weight", {128, 256, 3, 3, 3}},
      {"decoder5.conv_block.conv2.conv.weight", {128, 128, 3, 3, 3}},
      {"decoder5.conv_block.conv3.conv.weight", {128, 256, 1, 1, 1}},
      {"decoder4.transp_conv.conv.weight", {128, 64, 2, 2, 2}},
      {"decoder4.conv_block.conv1.conv.weight", {64, 128, 3, 3, 3}},
      {"decoder4.conv_block.conv2.conv.weight", {64, 64, 3, 3, 3}},
      {"decoder4.conv_block.conv3.conv.weight", {64, 128, 1, 1, 1}},
      {"decoder3.transp_conv.conv.weight", {64, 32, 2, 2, 2}},
      {"decoder3.conv_block.conv1.conv.weight", {32, 64, 3, 3, 3}},
      {"decoder3.conv_block.conv2.conv.weight", {32, 32, 3, 3, 3}},
      {"decoder3.conv_block.conv3.conv.weight", {32, 64, 1, 1, 1}},
      {"decoder2.transp_conv.conv.weight", {32, 16, 2, 2, 2}},
      {"decoder2.conv_block.conv1.conv.weight", {16, 32, 3, 3, 3}},
      {"decoder2.conv_block.conv2.conv.weight", {16, 16, 3, 3, 3}},
      {"decoder2.conv_block.conv3.conv.weight", {16, 32, 1, 1, 1}},
      {"out.conv.conv.weight", {14, 16, 1, 1, 1}},
      {"out.conv.conv.bias", {14}},
  };
  std::map<std::string, Shape> actual;
  int64_t vit_entries = 0;
  for (const auto& item : model->named_parameters()) {
    if (item.key().rfind("vit.", 0) == 0) {
      ++vit_entries;
      continue;
    }
    actual[item.key()] = item.value().sizes().vec();
  }
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(vit_entries, 3 + 12 * 11 + 2);
  EXPECT_EQ(model->named_parameters()["vit.blocks.11.attn.qkv.weight"].sizes(), torch::IntArrayRef({2304, 768}));
  EXPECT_TRUE(model->named_buffers().is_empty());  // instance norm: affine=False, no running statistics

  // MONAI 1.5.0 reports 121,123,246 trainable parameters for this configuration, 28,339,200 of them in the unused
  // per-block cross-attention modules; without those (MONAI <= 1.3 and medssl) 92,784,046.
  const int64_t count = count_parameters(*model);
  const int64_t formula =
      vit_param_formula(1, 216, 4096, 768, 3072) + unetr_decoder_param_formula(1, 14, 16, 768, /*dims=*/3);
  std::cout << "[param count] UNETR(in 1, out 14, img 96^3, feature 16): " << count << " trainable parameters\n";
  EXPECT_EQ(count, formula);
  EXPECT_EQ(count, 92784046);
  EXPECT_EQ(count + 12 * (4 * 768 * 768 + 3 * 768), 121123246);
}

TEST(Unetr, ParameterCountFormulaHoldsIn2D) {
  UNETR flat(UNETROptions(3, 5, {64}).feature_size(8).hidden_size(64).mlp_dim(128).num_heads(4).spatial_dims(2));
  const int64_t vit = 64 * 3 * 256 + 64 + 16 * 64 +
                      12 * (4 * 64 + 3 * 64 * 64 + 64 * 64 + 64 + 2 * 64 * 128 + 128 + 64) + 2 * 64;
  EXPECT_EQ(count_parameters(*flat), vit + unetr_decoder_param_formula(3, 5, 8, 64, 2));
}

TEST(Unetr, BasicBlockAndNoConvBlockVariantsUseMonaiNames) {
  UNETR model(tiny_unetr(2).res_block(false).conv_block(false));
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) names.insert(item.key());
  EXPECT_TRUE(names.count("encoder2.blocks.0.conv.weight"));  // bare transposed conv, no Sequential
  EXPECT_TRUE(names.count("encoder2.blocks.1.conv.weight"));
  EXPECT_TRUE(names.count("encoder1.layer.conv2.conv.weight"));
  EXPECT_FALSE(names.count("encoder1.layer.conv3.conv.weight"));  // UnetBasicBlock has no residual conv
  EXPECT_FALSE(names.count("decoder5.conv_block.conv3.conv.weight"));
  EXPECT_EQ(model(torch::randn({1, 1, 32, 32, 32})).sizes(), torch::IntArrayRef({1, 2, 32, 32, 32}));

  UNETR batch(tiny_unetr(2).norm_name("batch"));
  auto params = batch->named_parameters();
  EXPECT_EQ(params["decoder4.conv_block.norm1.weight"].sizes(), torch::IntArrayRef({32}));
  EXPECT_TRUE(batch->named_buffers().contains("decoder4.conv_block.norm3.running_mean"));
}

TEST(UnetrBlocks, ResBlockMatchesItsDefinition) {
  torch::manual_seed(14);
  UnetResBlock block(UnetConvBlockOptions(3, 2, 4));
  auto x = torch::randn({1, 2, 6, 6, 6});
  auto p = block->named_parameters();
  auto in = [](const torch::Tensor& t) { return torch::instance_norm(t, {}, {}, {}, {}, true, 0.1, 1e-5, false); };
  auto lrelu = [](const torch::Tensor& t) { return torch::leaky_relu(t, 0.01); };
  auto h = lrelu(in(torch::conv3d(x, p["conv1.conv.weight"], {}, 1, 1)));
  h = in(torch::conv3d(h, p["conv2.conv.weight"], {}, 1, 1));
  auto expected = lrelu(h + in(torch::conv3d(x, p["conv3.conv.weight"])));
  EXPECT_TRUE(torch::allclose(block(x), expected, 1e-4, 1e-5));
  EXPECT_EQ(p.size(), 3u);  // bias-free convs, parameter-free norms
}

// The tutorial's fine-tuning start: ViTAutoEnc weights into UNETR.vit, by name; conv3d_transpose* dropped; the
// decoder keeps its initialisation.
TEST(VitTransfer, ViTAutoEncWeightsLoadIntoUnetrEncoderOnly) {
  torch::manual_seed(15);
  ViTAutoEnc pretrained(ViTAutoEncOptions(1, {32}, {16}).hidden_size(48).mlp_dim(96).num_heads(4));
  UNETR model(tiny_unetr(3));
  std::map<std::string, torch::Tensor> decoder_before;
  for (const auto& item : model->named_parameters())
    if (item.key().rfind("vit.", 0) != 0) decoder_before[item.key()] = item.value().clone();

  auto report = load_vit_into_unetr(pretrained, model);
  EXPECT_EQ(report.copied.size(), 3u + 12 * 11 + 2);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(std::set<std::string>(report.skipped.begin(), report.skipped.end()),
            (std::set<std::string>{"conv3d_transpose.weight", "conv3d_transpose.bias", "conv3d_transpose_1.weight",
                                   "conv3d_transpose_1.bias"}));

  auto source = pretrained->named_parameters();
  auto target = model->named_parameters();
  for (const auto& name : report.copied)
    EXPECT_TRUE(torch::equal(source[name], target["vit." + name])) << name;
  for (const auto& [name, before] : decoder_before) EXPECT_TRUE(torch::equal(before, target[name])) << name;
  // Copies, not shared storage: training UNETR must not change the pretrained model.
  {
    torch::NoGradGuard no_grad;
    target["vit.norm.weight"].add_(1.0);
  }
  EXPECT_FALSE(torch::equal(source["norm.weight"], target["vit.norm.weight"]));
}

TEST(VitTransfer, ShapeMismatchFailsAndLeavesTargetUntouched) {
  torch::manual_seed(16);
  ViTAutoEnc wrong(ViTAutoEncOptions(1, {32}, {16}).hidden_size(32).mlp_dim(96).num_layers(2).num_heads(4));
  UNETR model(tiny_unetr(3));
  auto before = model->named_parameters()["vit.blocks.0.norm1.weight"].clone();
  {
    torch::NoGradGuard no_grad;
    wrong->named_parameters()["blocks.0.norm1.weight"].fill_(7.0);
  }
  try {
    load_vit_into_unetr(wrong, model);
    FAIL() << "hidden 32 -> 48 transfer accepted";
  } catch (const medssl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(before, model->named_parameters()["vit.blocks.0.norm1.weight"]));
}

TEST(VitTransfer, FewerSourceBlocksReportsMissingTargets) {
  ViTAutoEnc shallow(ViTAutoEncOptions(1, {32}, {16}).hidden_size(48).mlp_dim(96).num_layers(2).num_heads(4));
  UNETR model(tiny_unetr(3));
  auto report = load_vit_into_unetr(shallow, model);
  EXPECT_EQ(report.copied.size(), 3u + 2 * 11 + 2);
  EXPECT_EQ(report.missing.size(), 10u * 11);
}

}  // namespace
