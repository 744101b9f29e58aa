// Weights exported from MONAI's own ViTAutoEnc (3D) and UNETR (2D) load by name into medssl's models and reproduce
// MONAI's outputs. Fixture: tests/models/fixtures/monai_vit_reference.bin, written by make_monai_reference.py (next
// to it; MONAI 1.5.0, torch 1.13, CPU).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "medssl/models/unetr.h"
#include "medssl/models/vit_autoenc.h"
#include "monai_fixture.h"

namespace {

using namespace medssl::models;

std::map<std::string, torch::Tensor> read_fixture() {
  return medssl::testing::read_monai_fixture("monai_vit_reference.bin");
}

TEST(VitMonaiReference, ViTAutoEnc3DReproducesMonai) {
  const auto fixture = read_fixture();
  ViTAutoEnc model(ViTAutoEncOptions(1, {8, 8, 8}, {4, 4, 4}).out_channels(2).deconv_chns(4).hidden_size(8)
                       .mlp_dim(12).num_layers(2).num_heads(2));
  medssl::testing::load_monai_fixture(*model, fixture, "autoenc");
  model->eval();
  auto output = model(fixture.at("autoenc/__input__")).reconstruction;
  const auto& expected = fixture.at("autoenc/__output__");
  ASSERT_EQ(output.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(output, expected, 1e-4, 1e-5))
      << "max |diff| " << (output - expected).abs().max().item<double>();
}

TEST(VitMonaiReference, Unetr2DReproducesMonai) {
  const auto fixture = read_fixture();
  UNETR model(UNETROptions(1, 2, {16, 32}).feature_size(2).hidden_size(8).mlp_dim(8).num_heads(2).spatial_dims(2));
  medssl::testing::load_monai_fixture(*model, fixture, "unetr");
  model->eval();
  auto output = model(fixture.at("unetr/__input__"));
  const auto& expected = fixture.at("unetr/__output__");
  ASSERT_EQ(output.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(output, expected, 1e-4, 1e-5))
      << "max |diff| " << (output - expected).abs().max().item<double>();
}

}  // namespace
