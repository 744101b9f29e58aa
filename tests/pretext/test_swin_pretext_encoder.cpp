// The Swin encoder behind the pretext tasks' shared build_encoder / encode_flat: global average of the deepest,
// normalised map, width 16 * feature_size, gradients reach every Swin parameter.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/models/swin_transformer.h"
#include "medssl/pretext/task.h"

namespace {

using namespace medssl;

TEST(SwinPretextEncoder, EncodeFlatIsTheGlobalAverageOfTheDeepestMap) {
  pretext::TaskSpec spec;
  spec.spatial_dims = 2;
  spec.encoder = "swin_encoder";
  spec.encoder_options = {{"feature_size", 12}, {"num_heads", {1, 2, 2, 4}}, {"drop_path_rate", 0.1}};
  auto encoder = pretext::build_encoder(spec);
  auto* swin = dynamic_cast<models::SwinTransformerImpl*>(encoder.get());
  ASSERT_NE(swin, nullptr);
  encoder->eval();
  auto x = torch::randn({3, 1, 48, 40});
  auto flat = pretext::encode_flat(*encoder, x);
  ASSERT_EQ(flat.sizes(), (torch::IntArrayRef{3, 16 * 12}));
  EXPECT_TRUE(torch::allclose(flat, swin->forward(x, true).back().mean({2, 3}), 1e-5, 1e-6));
  EXPECT_EQ(pretext::encoded_width(*encoder, spec, 64), 192);

  encoder->train();
  pretext::encode_flat(*encoder, x).pow(2).sum().backward();
  for (const auto& p : encoder->named_parameters())
    EXPECT_TRUE(p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0) << p.key();
}

TEST(SwinPretextEncoder, ThreeDimensionalAndUnknownEncoders) {
  pretext::TaskSpec spec;
  spec.spatial_dims = 3;
  spec.encoder = "swin_encoder";
  spec.encoder_options = {{"feature_size", 6}, {"num_heads", {1, 1, 1, 1}}};
  auto encoder = pretext::build_encoder(spec);
  EXPECT_EQ(pretext::encode_flat(*encoder, torch::randn({2, 1, 20, 24, 18})).sizes(), (torch::IntArrayRef{2, 96}));
  spec.encoder = "swinunetr";
  EXPECT_THROW(pretext::build_encoder(spec), Error);
}

}  // namespace
