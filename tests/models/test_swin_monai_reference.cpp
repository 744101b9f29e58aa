// Weights exported from MONAI's own SwinTransformer (2D, 3D) and SwinUNETR (2D) load by name into medssl's models and
// reproduce MONAI's outputs, for odd, non-window-multiple sizes (padding, shifted windows, clamped windows with the
// [:n, :n] bias slice) and for both 3D patch-merging orders. Fixture: fixtures/swin_monai_reference.bin, written by
// fixtures/make_swin_monai_reference.py from the MONAI 1.5.0 sources (torch 1.13, CPU).
#include <gtest/gtest.h>

#include <string>

#include "medssl/models/swin_transformer.h"
#include "medssl/models/swin_unetr.h"
#include "monai_fixture.h"

namespace {

using namespace medssl::models;
using medssl::testing::load_monai_fixture;
using medssl::testing::read_monai_fixture;

const std::map<std::string, torch::Tensor>& fixture() {
  static const auto entries = read_monai_fixture("swin_monai_reference.bin");
  return entries;
}

void expect_close(const torch::Tensor& output, const torch::Tensor& expected, const std::string& what) {
  ASSERT_EQ(output.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(torch::allclose(output, expected, 1e-4, 1e-5))
      << what << ": max |diff| " << (output - expected).abs().max().item<double>();
}

void expect_encoder_matches(SwinTransformer& model, const std::string& tag, const std::string& output_prefix,
                            int first_output) {
  model->eval();
  torch::NoGradGuard no_grad;
  auto outputs = model->forward(fixture().at(tag + "/__input__"), /*normalize=*/true);
  ASSERT_EQ(outputs.size(), 5u);
  for (int k = first_output; k < 5; ++k)
    expect_close(outputs[static_cast<size_t>(k)], fixture().at(tag + "/" + output_prefix + std::to_string(k) + "__"),
                 tag + " output " + std::to_string(k));
}

TEST(SwinMonaiReference, Encoder2DOddSizesReproducesMonai) {
  SwinTransformer model(SwinTransformerOptions(1).embed_dim(3).num_heads({1, 2, 3, 4}).spatial_dims(2));
  load_monai_fixture(*model, fixture(), "enc2d");
  expect_encoder_matches(model, "enc2d", "__output", 0);
}

TEST(SwinMonaiReference, Encoder3DReproducesMonai12MergingQuirk) {
  SwinTransformer model(SwinTransformerOptions(1).embed_dim(3).num_heads({1, 2, 2, 4}).spatial_dims(3));
  load_monai_fixture(*model, fixture(), "enc3d");
  expect_encoder_matches(model, "enc3d", "__output", 0);
}

TEST(SwinMonaiReference, Encoder3DReproducesMonai15Merging) {
  SwinTransformer model(
      SwinTransformerOptions(1).embed_dim(3).num_heads({1, 2, 2, 4}).spatial_dims(3).merge_order("monai_1.5"));
  load_monai_fixture(*model, fixture(), "enc3d");
  expect_encoder_matches(model, "enc3d", "__output15_", 1);
  // The two orders really give different features (so each test above can tell them apart).
  EXPECT_FALSE(torch::allclose(fixture().at("enc3d/__output15_1__"), fixture().at("enc3d/__output1__"), 1e-3, 1e-3));
}

TEST(SwinMonaiReference, SwinUnetr2DReproducesMonai) {
  SwinUNETR model(SwinUNETROptions(1, 3).feature_size(3).num_heads({1, 2, 3, 4}).spatial_dims(2));
  load_monai_fixture(*model, fixture(), "swinunetr2d");
  model->eval();
  torch::NoGradGuard no_grad;
  expect_close(model(fixture().at("swinunetr2d/__input__")), fixture().at("swinunetr2d/__output0__"), "swinunetr2d");
}

}  // namespace
