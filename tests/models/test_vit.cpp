// ViT, ViTAutoEnc and their transformer block: shapes, MONAI parameter names and counts, attention layout, learning.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <set>
#include <string>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/models/transformer_block.h"
#include "medssl/models/vit.h"
#include "medssl/models/vit_autoenc.h"

namespace {

using namespace medssl::models;

std::set<std::string> parameter_names(const torch::nn::Module& module) {
  std::set<std::string> names;
  for (const auto& item : module.named_parameters()) names.insert(item.key());
  return names;
}

/// The state_dict names MONAI gives its ViT encoder (monai/networks/nets/vit.py; checked against MONAI 1.5.0 with
/// its unused cross-attention entries left out).
std::set<std::string> monai_vit_encoder_names(int64_t num_layers, const std::string& prefix = "") {
  std::set<std::string> names{prefix + "patch_embedding.position_embeddings",
                              prefix + "patch_embedding.patch_embeddings.weight",
                              prefix + "patch_embedding.patch_embeddings.bias", prefix + "norm.weight",
                              prefix + "norm.bias"};
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string b = prefix + "blocks." + std::to_string(i) + ".";
    for (const char* leaf : {"mlp.linear1.weight", "mlp.linear1.bias", "mlp.linear2.weight", "mlp.linear2.bias",
                             "norm1.weight", "norm1.bias", "attn.out_proj.weight", "attn.out_proj.bias",
                             "attn.qkv.weight", "norm2.weight", "norm2.bias"})
      names.insert(b + leaf);
  }
  return names;
}

/// Trainable parameters of MONAI's ViT encoder, counted by hand from the architecture (cubic patch, conv projection).
int64_t vit_encoder_param_formula(int64_t in, int64_t n_patches, int64_t patch_voxels, int64_t hidden, int64_t mlp,
                                  int64_t layers, bool qkv_bias) {
  const int64_t patch = hidden * in * patch_voxels + hidden;  // conv weight + bias
  const int64_t position = n_patches * hidden;
  const int64_t block = 2 * hidden                                 // norm1
                        + 3 * hidden * hidden + (qkv_bias ? 3 * hidden : 0)  // qkv
                        + hidden * hidden + hidden                 // out_proj
                        + 2 * hidden                               // norm2
                        + hidden * mlp + mlp                       // linear1
                        + mlp * hidden + hidden;                   // linear2
  return patch + position + layers * block + 2 * hidden;           // + final norm
}

TEST(VitTransformerBlock, MlpUsesExactGelu) {
  torch::manual_seed(1);
  MLPBlock mlp(6, 10, 0.0);
  auto x = torch::randn({2, 3, 6});
  auto params = mlp->named_parameters();
  auto h = torch::linear(x, params["linear1.weight"], params["linear1.bias"]);
  h = 0.5 * h * (1 + torch::erf(h / std::sqrt(2.0)));
  auto expected = torch::linear(h, params["linear2.weight"], params["linear2.bias"]);
  EXPECT_TRUE(torch::allclose(mlp(x), expected, 1e-5, 1e-6));
}

// The qkv output features are laid out (qkv=3, heads, head_dim) as in MONAI's "b h (qkv l d) -> qkv b l h d":
// compare against an explicit per-head computation that slices the weight rows by that layout.
TEST(VitTransformerBlock, QkvLayoutMatchesMonaiMultiHeadAttention) {
  torch::manual_seed(2);
  const int64_t hidden = 12, heads = 3, head_dim = 4, tokens = 5;
  SABlock attention(hidden, heads, 0.0, /*qkv_bias=*/false);
  auto params = attention->named_parameters();
  ASSERT_EQ(params["qkv.weight"].sizes(), torch::IntArrayRef({3 * hidden, hidden}));
  ASSERT_EQ(params.find("qkv.bias"), nullptr);
  // Recognisable rows: row r of the qkv weight gets an offset of r, so q, k, v and every head differ clearly.
  {
    torch::NoGradGuard no_grad;
    params["qkv.weight"].copy_(torch::randn({3 * hidden, hidden}) * 0.3 +
                               torch::arange(3 * hidden).unsqueeze(1).to(torch::kFloat) * 0.05);
  }
  auto x = torch::randn({2, tokens, hidden});
  const auto w = params["qkv.weight"];

  auto direct = [&](bool monai_layout) {
    std::vector<torch::Tensor> head_outputs;
    for (int64_t h = 0; h < heads; ++h) {
      // MONAI layout: row = which * hidden + h * head_dim + d. The alternative (heads, qkv, d) must NOT match.
      auto rows = [&](int64_t which) {
        const int64_t start = monai_layout ? which * hidden + h * head_dim : h * 3 * head_dim + which * head_dim;
        return w.slice(0, start, start + head_dim);
      };
      auto q = torch::matmul(x, rows(0).t()), k = torch::matmul(x, rows(1).t()), v = torch::matmul(x, rows(2).t());
      auto att = torch::softmax(torch::matmul(q, k.transpose(1, 2)) / std::sqrt(double(head_dim)), -1);
      head_outputs.push_back(torch::matmul(att, v));
    }
    return torch::linear(torch::cat(head_outputs, -1), params["out_proj.weight"], params["out_proj.bias"]);
  };
  auto actual = attention(x);
  EXPECT_TRUE(torch::allclose(actual, direct(true), 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(actual, direct(false), 1e-3, 1e-3));
}

TEST(VitTransformerBlock, UnusedMonaiCrossAttentionKeysAreRecognised) {
  EXPECT_TRUE(is_unused_monai_vit_key("vit.blocks.3.cross_attn.to_q.weight"));
  EXPECT_TRUE(is_unused_monai_vit_key("blocks.0.norm_cross_attn.bias"));
  EXPECT_FALSE(is_unused_monai_vit_key("blocks.0.attn.qkv.weight"));
  EXPECT_FALSE(is_unused_monai_vit_key("blocks.0.norm1.weight"));
}

TEST(Vit, TokensAndHiddenStatesShapes) {
  torch::manual_seed(3);
  ViT vit(ViTOptions(2, {32, 32, 32}, {16}).hidden_size(48).mlp_dim(96).num_layers(3).num_heads(4));
  vit->eval();
  auto out = vit(torch::randn({2, 2, 32, 32, 32}));
  EXPECT_EQ(out.x.sizes(), torch::IntArrayRef({2, 8, 48}));
  ASSERT_EQ(out.hidden_states.size(), 3u);
  for (const auto& h : out.hidden_states) EXPECT_EQ(h.sizes(), torch::IntArrayRef({2, 8, 48}));
  // x is the final LayerNorm of the last block's output; hidden states are un-normalised.
  auto params = vit->named_parameters();
  auto normed = torch::layer_norm(out.hidden_states.back(), {48}, params["norm.weight"], params["norm.bias"]);
  EXPECT_TRUE(torch::allclose(out.x, normed, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(out.hidden_states.back(), out.x, 1e-2, 1e-2));
  EXPECT_EQ(parameter_names(*vit), monai_vit_encoder_names(3));
}

TEST(Vit, PositionEmbeddingIsSmallTruncatedNormal) {
  torch::manual_seed(4);
  ViT vit(ViTOptions(1, {64}, {8}).hidden_size(64).mlp_dim(64).num_layers(1).num_heads(4));
  auto pos = vit->named_parameters()["patch_embedding.position_embeddings"];
  ASSERT_EQ(pos.sizes(), torch::IntArrayRef({1, 512, 64}));
  EXPECT_NEAR(pos.std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(pos.mean().item<double>(), 0.0, 0.002);
  EXPECT_LE(pos.abs().max().item<double>(), 2.0);
}

TEST(Vit, TwoDimensionalAndClassification) {
  torch::manual_seed(5);
  ViT vit2d(ViTOptions(3, {32, 48}, {8}).hidden_size(32).mlp_dim(64).num_layers(2).num_heads(2).spatial_dims(2));
  auto out = vit2d(torch::randn({1, 3, 32, 48}));
  EXPECT_EQ(out.x.sizes(), torch::IntArrayRef({1, 24, 32}));
  EXPECT_EQ(vit2d->named_parameters()["patch_embedding.patch_embeddings.weight"].sizes(),
            torch::IntArrayRef({32, 3, 8, 8}));

  ViT classifier(ViTOptions(1, {32}, {16}).hidden_size(32).mlp_dim(64).num_layers(2).num_heads(2).classification(true)
                     .num_classes(5));
  auto logits = classifier(torch::randn({3, 1, 32, 32, 32}));
  EXPECT_EQ(logits.x.sizes(), torch::IntArrayRef({3, 5}));
  EXPECT_LE(logits.x.abs().max().item<double>(), 1.0);  // Tanh post-activation
  EXPECT_EQ(logits.hidden_states[0].sizes(), torch::IntArrayRef({3, 9, 32}));  // cls token + 8 patches
  auto names = parameter_names(*classifier);
  EXPECT_TRUE(names.count("cls_token"));
  EXPECT_TRUE(names.count("classification_head.0.weight"));
  EXPECT_TRUE(names.count("classification_head.0.bias"));
}

TEST(Vit, RejectsBadConfigurationsAndInputs) {
  EXPECT_THROW(ViT(ViTOptions(1, {32}, {16}).hidden_size(50).num_heads(4)), medssl::Error);  // 50 % 4 != 0
  EXPECT_THROW(ViT(ViTOptions(1, {40}, {16}).hidden_size(32).num_heads(4)), medssl::Error);  // 40 % 16 != 0
  EXPECT_THROW(ViT(ViTOptions(1, {32, 32}, {16}).hidden_size(32).num_heads(4)), medssl::Error);  // 2 sizes in 3D
  ViT vit(ViTOptions(1, {32}, {16}).hidden_size(32).mlp_dim(32).num_layers(1).num_heads(4));
  EXPECT_THROW(vit(torch::randn({1, 1, 48, 32, 32})), medssl::Error);  // not the img_size it was built for
  EXPECT_THROW(vit(torch::randn({1, 2, 32, 32, 32})), medssl::Error);  // wrong channel count
  EXPECT_THROW(vit(torch::randn({1, 32, 32, 32})), medssl::Error);     // missing batch axis
}

TEST(VitAutoEnc, ReconstructionShapeAndNames) {
  torch::manual_seed(6);
  ViTAutoEnc model(ViTAutoEncOptions(1, {32}, {16}).hidden_size(96).mlp_dim(192).num_layers(2).num_heads(4));
  auto out = model(torch::randn({2, 1, 32, 32, 32}));
  EXPECT_EQ(out.reconstruction.sizes(), torch::IntArrayRef({2, 1, 32, 32, 32}));
  ASSERT_EQ(out.hidden_states.size(), 2u);
  EXPECT_EQ(out.hidden_states[1].sizes(), torch::IntArrayRef({2, 8, 96}));

  auto expected = monai_vit_encoder_names(2);
  for (const char* name : {"conv3d_transpose.weight", "conv3d_transpose.bias", "conv3d_transpose_1.weight",
                           "conv3d_transpose_1.bias"})
    expected.insert(name);
  EXPECT_EQ(parameter_names(*model), expected);
  auto params = model->named_parameters();
  EXPECT_EQ(params["conv3d_transpose.weight"].sizes(), torch::IntArrayRef({96, 16, 4, 4, 4}));
  EXPECT_EQ(params["conv3d_transpose_1.weight"].sizes(), torch::IntArrayRef({16, 1, 4, 4, 4}));
  EXPECT_EQ(params["patch_embedding.patch_embeddings.weight"].sizes(), torch::IntArrayRef({96, 1, 16, 16, 16}));
}

TEST(VitAutoEnc, SmallPatchesAndTwoDimensions) {
  torch::manual_seed(7);
  ViTAutoEnc patch4(ViTAutoEncOptions(2, {16}, {4}).out_channels(3).deconv_chns(8).hidden_size(32).mlp_dim(32)
                        .num_layers(1).num_heads(2));
  EXPECT_EQ(patch4(torch::randn({1, 2, 16, 16, 16})).reconstruction.sizes(), torch::IntArrayRef({1, 3, 16, 16, 16}));
  ViTAutoEnc flat(ViTAutoEncOptions(1, {32, 64}, {16}).hidden_size(32).mlp_dim(32).num_layers(1).num_heads(2)
                      .spatial_dims(2));
  EXPECT_EQ(flat(torch::randn({2, 1, 32, 64})).reconstruction.sizes(), torch::IntArrayRef({2, 1, 32, 64}));
}

TEST(VitAutoEnc, RejectsPatchSizesThatAreNotPerfectSquares) {
  try {
    ViTAutoEnc(ViTAutoEncOptions(1, {32}, {8}).hidden_size(32).mlp_dim(32).num_layers(1).num_heads(2));
    FAIL() << "patch 8 accepted";
  } catch (const medssl::Error& e) {
    EXPECT_NE(std::string(e.what()).find("perfect square"), std::string::npos) << e.what();
  }
}

// Full-size tutorial configuration (construct only). Reference: MONAI 1.5.0's ViTAutoEnc(in_channels=1,
// img_size=96, patch_size=16) has 117,467,409 trainable parameters, of which 28,339,200 belong to the unused
// per-block cross-attention modules (12 x (4 * 768^2 + 3 * 768)); without them (MONAI <= 1.3, and medssl):
// 89,128,209.
TEST(VitAutoEnc, FullSizeParameterCount) {
  ViTAutoEnc model(ViTAutoEncOptions(1, {96, 96, 96}, {16, 16, 16}));
  const int64_t count = count_parameters(*model);
  const int64_t encoder = vit_encoder_param_formula(1, 216, 16 * 16 * 16, 768, 3072, 12, false);
  const int64_t decoder = (768 * 16 * 64 + 16) + (16 * 1 * 64 + 1);
  std::cout << "[param count] ViTAutoEnc(in 1, img 96^3, patch 16): " << count << " trainable parameters\n";
  EXPECT_EQ(count, encoder + decoder);
  EXPECT_EQ(count, 89128209);
  EXPECT_EQ(count + 12 * (4 * 768 * 768 + 3 * 768), 117467409);
}

// Learning check: a tiny ViTAutoEnc reconstructs one fixed volume; the L1 loss must fall by more than half.
TEST(VitAutoEnc, OverfitsOneVolume) {
  torch::manual_seed(8);
  ViTAutoEnc model(ViTAutoEncOptions(1, {32}, {16}).hidden_size(64).mlp_dim(128).num_layers(2).num_heads(4));
  auto axis = torch::linspace(0, 1, 32);
  auto grid = torch::meshgrid({axis, axis, axis}, "ij");
  auto volume = (torch::sin(grid[0] * 6.0) * torch::cos(grid[1] * 4.0) + grid[2]).unsqueeze(0).unsqueeze(0);
  torch::optim::Adam optimiser(model->parameters(), torch::optim::AdamOptions(1e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    optimiser.zero_grad();
    auto loss = torch::l1_loss(model(volume).reconstruction, volume);
    loss.backward();
    optimiser.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  std::cout << "[overfit] ViTAutoEnc L1 " << first << " -> " << last << " in 30 Adam steps\n";
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, 0.5 * first);
}

}  // namespace
