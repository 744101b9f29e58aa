// UNet encoder/decoder of Taleb et al.: shapes (2D, 3D, odd sizes), the reference's parameter counts, stable names,
// both variants, and that it can learn (tiny overfit).
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/models/unet.h"

namespace medssl::models {
namespace {

std::vector<int64_t> cube(int dims, int64_t n, int64_t batch, int64_t channels) {
  std::vector<int64_t> s{batch, channels};
  for (int d = 0; d < dims; ++d) s.push_back(n);
  return s;
}

TEST(UNet, Encoder3DShapesAndSkipsDeepestFirst) {
  torch::NoGradGuard no_grad;
  UNetEncoder encoder(UNetEncoderOptions().spatial_dims(3));
  encoder->eval();
  auto f = encoder->forward(torch::randn({1, 1, 32, 32, 32}));
  EXPECT_EQ(f.bottleneck.sizes(), torch::IntArrayRef({1, 256, 2, 2, 2}));
  EXPECT_EQ(f.output.sizes(), torch::IntArrayRef({1, 256, 1, 1, 1}));
  ASSERT_EQ(f.skips.size(), 4u);
  EXPECT_EQ(f.skips[0].sizes(), torch::IntArrayRef({1, 128, 4, 4, 4}));
  EXPECT_EQ(f.skips[3].sizes(), torch::IntArrayRef({1, 16, 32, 32, 32}));
}

TEST(UNet, Encoder3DOddSizeFloorsLikeKeras) {
  torch::NoGradGuard no_grad;
  UNetEncoder encoder(UNetEncoderOptions().spatial_dims(3));
  encoder->eval();
  auto f = encoder->forward(torch::randn({1, 1, 39, 39, 39}));
  EXPECT_EQ(f.output.sizes(), torch::IntArrayRef({1, 256, 1, 1, 1}));
  EXPECT_EQ(f.bottleneck.size(2), 2);
  std::vector<int64_t> expected_skip_sizes{4, 9, 19, 39};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(f.skips[i].size(2), expected_skip_sizes[i]);
}

// global_max / global_avg pool the whole bottleneck map (contrastive embeddings): no extra halving, so a 3^3 map
// (24^3 input, 3 levels) gives the maximum / mean over all 27 cells where the reference's 2x pool sees 8 of them.
TEST(UNet, EncoderGlobalPoolingsCoverTheWholeBottleneck) {
  torch::NoGradGuard no_grad;
  for (std::string pooling : {"global_max", "global_avg"}) {
    UNetEncoder encoder(UNetEncoderOptions().spatial_dims(3).enc_filters(4).num_layers(3).pooling(pooling));
    encoder->eval();
    auto f = encoder->forward(torch::randn({2, 1, 24, 24, 24}));
    ASSERT_EQ(f.bottleneck.sizes(), torch::IntArrayRef({2, 32, 3, 3, 3})) << pooling;
    ASSERT_EQ(f.output.sizes(), torch::IntArrayRef({2, 32, 1, 1, 1})) << pooling;
    const auto expected = pooling == "global_max" ? f.bottleneck.amax({2, 3, 4}, true) : f.bottleneck.mean({2, 3, 4}, true);
    EXPECT_TRUE(torch::allclose(f.output, expected)) << pooling;
    // 8^3 input: 1^3 bottleneck, which a 2x pool could not halve again.
    EXPECT_EQ(encoder->forward(torch::randn({1, 1, 8, 8, 8})).output.sizes(), torch::IntArrayRef({1, 32, 1, 1, 1}));
  }
  UNetEncoder reference(UNetEncoderOptions().spatial_dims(3).enc_filters(4).num_layers(3).pooling("max"));
  EXPECT_THROW(reference->forward(torch::randn({1, 1, 8, 8, 8})), Error);
}

TEST(UNet, Full3DOutputMatchesInputAtOddSize) {
  torch::NoGradGuard no_grad;
  UNet unet(UNetOptions().spatial_dims(3).num_classes(3).enc_filters(4));
  unet->eval();
  auto y = unet->forward(torch::randn({1, 1, 39, 37, 33}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({1, 3, 39, 37, 33}));
}

TEST(UNet, Full3DShapeDefaultFilters) {
  torch::NoGradGuard no_grad;
  UNet unet(UNetOptions().spatial_dims(3).num_classes(3));
  unet->eval();
  auto y = unet->forward(torch::randn({1, 1, 32, 32, 32}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({1, 3, 32, 32, 32}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST(UNet, Full2DShapesBothVariantsAndPoolings) {
  torch::NoGradGuard no_grad;
  for (std::string variant : {"taleb", "modern", "modern_gn"}) {
    for (std::string pooling : {"max", "avg", "none", "global_max", "global_avg"}) {
      UNet unet(UNetOptions().spatial_dims(2).in_channels(2).num_classes(4).pooling(pooling).variant(variant));
      unet->eval();
      auto y = unet->forward(torch::randn({2, 2, 42, 38}));
      EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 4, 42, 38})) << variant << " " << pooling;
    }
  }
  UNetEncoder encoder(UNetEncoderOptions().spatial_dims(2));
  encoder->eval();
  EXPECT_EQ(encoder->forward(torch::randn({1, 1, 128, 128})).output.sizes(), torch::IntArrayRef({1, 256, 4, 4}));
}

TEST(UNet, ReferenceParameterCounts3D) {
  UNet unet(UNetOptions().spatial_dims(3).in_channels(1).num_classes(3).enc_filters(16).num_layers(4));
  const int64_t total = count_parameters(*unet);
  const int64_t encoder = count_parameters(*unet->encoder());
  std::cout << "UNet 3D trainable parameters: " << total << " (encoder " << encoder << ")\n";
  EXPECT_EQ(total, 5647891);
  EXPECT_EQ(encoder, 3535440);
  // Keras' non-trainable count (BN moving mean + variance): 1,984 encoder, 2,944 total.
  int64_t moving = 0;
  for (const auto& b : unet->named_buffers())
    if (b.key().find("running_") != std::string::npos) moving += b.value().numel();
  EXPECT_EQ(moving, 2944);
}

// Closed form of the Taleb UNet's trainable parameters, for any dims/filters: conv k^d kernels + bias, BN gamma/beta.
int64_t expected_unet_params(int dims, int64_t in, int64_t classes, int64_t f0, int64_t layers) {
  const int64_t k3 = dims == 3 ? 27 : 9, k2 = dims == 3 ? 8 : 4;
  auto block = [&](int64_t i, int64_t o) { return i * o * k3 + o + 2 * o + o * o * k3 + o + 2 * o; };
  int64_t total = 0, c = in;
  for (int64_t l = 0; l < layers; ++l) total += block(c, f0 << l), c = f0 << l;
  total += block(c, f0 << layers);
  c = f0 << layers;
  for (int64_t l = 0; l < layers; ++l) total += c * (c / 2) * k2 + c / 2 + block(c, c / 2), c /= 2;
  return total + c * classes + classes;
}

TEST(UNet, ParameterCountsMatchClosedForm2DAnd3D) {
  EXPECT_EQ(expected_unet_params(3, 1, 3, 16, 4), 5647891);  // the formula itself reproduces the reference count
  for (int dims : {2, 3}) {
    UNet unet(UNetOptions().spatial_dims(dims).in_channels(2).num_classes(5).enc_filters(8).num_layers(3));
    EXPECT_EQ(count_parameters(*unet), expected_unet_params(dims, 2, 5, 8, 3)) << dims << "D";
  }
}

TEST(UNet, StableNamesEncoderLoadsIntoSegmentationModel) {
  UNetEncoder pretext_encoder(UNetEncoderOptions().spatial_dims(3).enc_filters(4));
  UNet unet(UNetOptions().spatial_dims(3).enc_filters(4));
  std::set<std::string> unet_names;
  for (const auto& p : unet->named_parameters()) unet_names.insert(p.key());
  for (const auto& p : unet->named_buffers()) unet_names.insert(p.key());
  int64_t matched = 0;
  for (const auto& p : pretext_encoder->named_parameters()) {
    EXPECT_TRUE(unet_names.count("encoder." + p.key())) << p.key();
    ++matched;
  }
  EXPECT_GT(matched, 0);
  EXPECT_TRUE(unet_names.count("encoder.down0.conv1.weight"));
  EXPECT_TRUE(unet_names.count("encoder.bottleneck.norm2.running_var"));
  EXPECT_TRUE(unet_names.count("decoder.upconv0.weight"));
  EXPECT_TRUE(unet_names.count("decoder.block3.conv2.weight"));
  EXPECT_TRUE(unet_names.count("decoder.head.weight"));
  for (const auto& n : unet_names)
    EXPECT_TRUE(n.rfind("encoder.", 0) == 0 || n.rfind("decoder.", 0) == 0) << n;
}

TEST(UNet, KerasDefaultsBatchNormAndInit) {
  UNet unet(UNetOptions().spatial_dims(3));
  auto* bn = unet->encoder()->named_modules()["down0.norm1"]->as<torch::nn::BatchNorm3d>();
  ASSERT_NE(bn, nullptr);
  EXPECT_DOUBLE_EQ(bn->options.eps(), 1e-3);
  EXPECT_DOUBLE_EQ(bn->options.momentum().value(), 0.01);
  // he_normal (truncated at 2 std): weights within 2 * sqrt(2/fan_in)/0.8796, std close to sqrt(2/fan_in).
  auto w = unet->named_parameters()["encoder.down1.conv2.weight"];  // 32 x 32 x 27
  const double std = std::sqrt(2.0 / (32.0 * 27.0));
  EXPECT_LE(w.abs().max().item<double>(), 2.0 * std / 0.87962566103423978 + 1e-6);
  EXPECT_NEAR(w.std().item<double>(), std, 0.05 * std);
  EXPECT_EQ(unet->named_parameters()["encoder.down1.conv2.bias"].abs().sum().item<double>(), 0.0);
  // glorot_uniform on the transposed convs and the output conv.
  auto up = unet->named_parameters()["decoder.upconv0.weight"];  // 256 x 128 x 2x2x2
  const double limit = std::sqrt(6.0 / ((256.0 + 128.0) * 8.0));
  EXPECT_LE(up.abs().max().item<double>(), limit * (1 + 1e-6));  // float32 rounding of the bound
  EXPECT_GT(up.abs().max().item<double>(), 0.9 * limit);
}

TEST(UNet, ModernVariantHasNoDropoutNoBatchNorm) {
  UNet unet(UNetOptions().spatial_dims(2).variant("modern"));
  for (const auto& m : unet->modules(false)) {
    EXPECT_EQ(m->as<torch::nn::Dropout>(), nullptr);
    EXPECT_EQ(m->as<torch::nn::BatchNorm2d>(), nullptr);
  }
  EXPECT_NE(unet->named_modules()["encoder.down0.norm1"]->as<torch::nn::InstanceNorm2d>(), nullptr);
  // Deterministic in train mode (no dropout) for a fixed input.
  auto x = torch::randn({2, 1, 32, 32});
  EXPECT_TRUE(torch::allclose(unet->forward(x), unet->forward(x)));
}

TEST(UNet, ModernGnVariantUsesGroupNormWithTheModernNames) {
  UNet gn(UNetOptions().spatial_dims(3).enc_filters(4).num_layers(3).variant("modern_gn"));
  UNet in(UNetOptions().spatial_dims(3).enc_filters(4).num_layers(3).variant("modern"));
  auto level0 = gn->named_modules()["encoder.down0.norm1"]->as<torch::nn::GroupNorm>();
  auto bottleneck = gn->named_modules()["encoder.bottleneck.norm2"]->as<torch::nn::GroupNorm>();
  ASSERT_NE(level0, nullptr);
  ASSERT_NE(bottleneck, nullptr);
  EXPECT_EQ(level0->options.num_groups(), 4);      // gcd(8, 4 channels): one channel per group, as instance norm
  EXPECT_EQ(bottleneck->options.num_groups(), 8);  // 32 channels in 8 groups of 4
  // Same parameter names and shapes as "modern", no buffers: weights move between the two variants by name.
  auto a = gn->named_parameters(), b = in->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) {
    ASSERT_TRUE(b.contains(item.key())) << item.key();
    EXPECT_EQ(item.value().sizes(), b[item.key()].sizes()) << item.key();
  }
  EXPECT_EQ(gn->named_buffers().size(), 0u);
  EXPECT_EQ(models::unet_norm_groups(6), 2);
  EXPECT_EQ(models::unet_norm_groups(64), 8);
}

// The reason for modern_gn: two different patches must stay apart at a 1-voxel bottleneck (a 9^3 patch through 3
// poolings). Instance norm maps every such bottleneck to the same values, so "modern" refuses the input.
TEST(UNet, OneVoxelBottleneckKeepsIntensityWithGroupNormAndIsRefusedWithInstanceNorm) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  UNetEncoder gn(UNetEncoderOptions().spatial_dims(3).enc_filters(8).num_layers(3).variant("modern_gn").pooling("none"));
  gn->eval();
  auto first = torch::randn({1, 1, 9, 9, 9}), second = torch::randn({1, 1, 9, 9, 9});
  auto a = gn->forward(first).output, b = gn->forward(second).output;
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({1, 64, 1, 1, 1}));
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-3);
  UNetEncoder in(UNetEncoderOptions().spatial_dims(3).enc_filters(8).num_layers(3).variant("modern").pooling("none"));
  try {
    in->forward(first);
    FAIL() << "instance norm of a one-voxel map was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modern_gn"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(in->forward(torch::randn({1, 1, 16, 16, 16})));  // a 2^3 bottleneck is still normalisable
}

TEST(UNet, BadOptionsAndInputsThrow) {
  EXPECT_THROW(UNet(UNetOptions().spatial_dims(4)), Error);
  EXPECT_THROW(UNet(UNetOptions().variant("fancy")), Error);
  EXPECT_THROW(UNet(UNetOptions().pooling("median")), Error);
  UNet unet(UNetOptions().spatial_dims(2).enc_filters(4));
  EXPECT_THROW(unet->forward(torch::randn({1, 1, 8, 8, 8})), Error);   // 3D input to a 2D net
  EXPECT_THROW(unet->forward(torch::randn({1, 2, 32, 32})), Error);    // wrong channel count
  EXPECT_THROW(unet->forward(torch::randn({1, 1, 16, 16})), Error);    // too small for 5 halvings
}

// Four 32x32 images with a bright square each (random place); the UNet must learn to segment the square.
void expect_unet_overfits(int dims, const std::string& variant, int64_t size, int steps, double threshold) {
  torch::manual_seed(7);
  const int64_t n = 4;
  auto x = torch::randn(cube(dims, size, n, 1)) * 0.3;
  auto y = torch::zeros(cube(dims, size, n, 1), torch::kLong).squeeze(1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t lo = 1 + 2 * i, hi = lo + size / 2;
    auto xi = x[i][0], yi = y[i];
    for (int d = 0; d < dims; ++d) xi = xi.narrow(d, lo, hi - lo), yi = yi.narrow(d, lo, hi - lo);
    xi.add_(1.0);
    yi.fill_(1);
  }
  UNet unet(UNetOptions().spatial_dims(dims).num_classes(2).enc_filters(4).num_layers(3).variant(variant));
  unet->train();
  torch::optim::Adam opt(unet->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < steps; ++step) {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(unet->forward(x), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  std::cout << dims << "D " << variant << " UNet overfit: loss " << first << " -> " << last << "\n";
  EXPECT_LT(last, threshold);
  EXPECT_LT(last, 0.5 * first);
}

TEST(UNet, Overfits2DSquareSegmentation) { expect_unet_overfits(2, "taleb", 32, 60, 0.25); }
TEST(UNet, Overfits2DSquareSegmentationModern) { expect_unet_overfits(2, "modern", 32, 60, 0.25); }
TEST(UNet, Overfits2DSquareSegmentationModernGn) { expect_unet_overfits(2, "modern_gn", 32, 60, 0.25); }
TEST(UNet, Overfits3DCubeSegmentation) { expect_unet_overfits(3, "taleb", 16, 40, 0.3); }

}  // namespace
}  // namespace medssl::models
