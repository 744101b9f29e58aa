// The weights transfer: other names (wrappers, user maps, built-in rules), another input-channel count, 2D kernels
// for a 3D model, another head, encoder-only files; what it reports (transfer.json) and when it refuses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "medssl/models/unet.h"
#include "medssl/weights/transfer.h"
#include "medssl/weights/transfer_adapt.h"
#include "medssl/weights/transfer_names.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

using models::UNet;
using models::UNetEncoder;
using models::UNetEncoderOptions;
using models::UNetOptions;
using testkit::error_of;

UNetEncoder encoder(int dims = 2, int64_t in_channels = 1) {
  return UNetEncoder(UNetEncoderOptions().spatial_dims(dims).in_channels(in_channels).enc_filters(4).num_layers(2));
}
UNet unet(int64_t classes, int64_t in_channels = 1) {
  return UNet(UNetOptions().spatial_dims(2).in_channels(in_channels).enc_filters(4).num_layers(2).num_classes(classes));
}

/// Moves the BatchNorm statistics away from their defaults, so that copying them is visible.
template <typename Module>
void train_a_little(Module& m, const torch::Tensor& x) {
  m->train();
  m->forward(x);
  m->eval();
}

WeightsFile in_memory(StateDict tensors) {
  WeightsFile f;
  f.path = "memory.pt";
  f.tensors = std::move(tensors);
  return f;
}

TEST(Transfer, OneChannelEncoderInTwoChannelModelGivesTheSameResponseOnEqualChannels) {
  auto one = encoder(2, 1);
  train_a_little(one, torch::rand({2, 1, 16, 16}));
  auto two = encoder(2, 2);
  TransferOptions options;
  options.in_channels = 2;
  const auto report = transfer_weights(*two, in_memory(state_dict(*one)), options);
  ASSERT_EQ(report.adapted.size(), 1u);
  EXPECT_EQ(report.adapted[0].target, "down0.conv1.weight");
  EXPECT_NE(report.adapted[0].how.find("input channels 1 -> 2"), std::string::npos) << report.adapted[0].how;
  EXPECT_EQ(report.matched.size() + 1, state_dict(*two).size());
  EXPECT_TRUE(report.missing.empty());
  const auto w1 = state_dict(*one).at("down0.conv1.weight"), w2 = state_dict(*two).at("down0.conv1.weight");
  EXPECT_TRUE(torch::allclose(w2.select(1, 0), w1.select(1, 0) / 2));
  EXPECT_TRUE(torch::allclose(w2.select(1, 1), w1.select(1, 0) / 2));

  torch::NoGradGuard no_grad;
  two->eval();
  const auto x = torch::rand({1, 1, 16, 16});
  EXPECT_TRUE(torch::allclose(two->forward(torch::cat({x, x}, 1)).output, one->forward(x).output, 1e-5, 1e-6));

  // And back: two channels into one sum the kernels, a grey image gives the two-channel response.
  auto back = encoder(2, 1);
  options.in_channels = 1;
  transfer_weights(*back, in_memory(state_dict(*two)), options);
  back->eval();
  EXPECT_TRUE(torch::allclose(back->forward(x).output, two->forward(torch::cat({x, x}, 1)).output, 1e-5, 1e-6));
}

TEST(Transfer, TwoDimensionalKernelsInflateToThreeDimensions) {
  // The rule on one convolution: a volume constant along depth gives the 2D response on every interior slice.
  auto conv2d = torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 3, 3).padding(1));
  auto conv3d = torch::nn::Conv3d(torch::nn::Conv3dOptions(2, 3, 3).padding(1));
  auto adapted = adapt_tensor(conv2d->weight.detach(), conv3d->weight.sizes(), -1);
  ASSERT_TRUE(adapted.has_value());
  EXPECT_NE(adapted->how.find("inflated"), std::string::npos) << adapted->how;
  torch::NoGradGuard no_grad;
  conv3d->weight.copy_(adapted->tensor);
  conv3d->bias.copy_(conv2d->bias);
  const auto slice = torch::rand({1, 2, 8, 8});
  const auto volume = slice.unsqueeze(2).expand({1, 2, 5, 8, 8}).contiguous();
  const auto out = conv3d->forward(volume);
  for (int64_t d = 1; d < 4; ++d)
    EXPECT_TRUE(torch::allclose(out.select(2, d), conv2d->forward(slice), 1e-5, 1e-6)) << "slice " << d;

  // A whole 2D UNet encoder into a 3D one: every kernel inflated, everything else matched, nothing missing.
  auto flat = encoder(2, 1), deep = encoder(3, 1);
  const auto report = transfer_weights(*deep, in_memory(state_dict(*flat)), TransferOptions());
  EXPECT_EQ(report.adapted.size(), 6u);  // conv1 / conv2 of down0, down1 and the bottleneck
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(report.pretrained_loaded, report.pretrained_tensors);
}

TEST(Transfer, EncoderOnlyFileIntoUNetAndAnotherHeadIsReinitialised) {
  testkit::TempDir dir("medssl-transfer-head");
  auto source = unet(3);
  train_a_little(source, torch::rand({2, 1, 16, 16}));
  // The whole UNet of 3 classes into one of 5: the encoder and decoder blocks load, the head keeps its init.
  auto five = unet(5);
  const StateDict fresh_head = state_dict(*five);
  TransferOptions options;
  options.pretrained_prefix = "encoder.";
  options.label = "--init-weights";
  auto report = transfer_weights(*five, in_memory(state_dict(*source)), options);
  EXPECT_EQ(report.pretrained_loaded, report.pretrained_tensors);
  ASSERT_EQ(report.skipped.size(), 2u);
  EXPECT_EQ(report.skipped[0].source, "decoder.head.bias");
  EXPECT_NE(report.skipped[0].why.find("keeps its fresh initialisation"), std::string::npos) << report.skipped[0].why;
  ASSERT_EQ(report.missing.size(), 2u);
  EXPECT_NE(report.missing[0].why.find("re-initialised"), std::string::npos);
  const auto now = state_dict(*five);
  EXPECT_TRUE(torch::equal(now.at("decoder.head.weight"), fresh_head.at("decoder.head.weight")));
  EXPECT_TRUE(torch::equal(now.at("encoder.down0.conv1.weight"), state_dict(*source).at("encoder.down0.conv1.weight")));

  // A bare exported encoder (no prefix): the built-in rule puts it under "encoder.", the decoder is missing.
  auto bare = state_dict(*source->encoder());
  auto fresh = unet(3);
  report = transfer_weights(*fresh, in_memory(bare), options);
  EXPECT_EQ(report.matched.size(), bare.size());
  EXPECT_NE(report.matched[0].renamed.find("built-in \"\" -> \"encoder.\""), std::string::npos)
      << report.matched[0].renamed;
  EXPECT_FALSE(report.missing.empty());
  for (const auto& m : report.missing) EXPECT_EQ(m.target.rfind("decoder.", 0), 0u) << m.target;

  // transfer.json says all of it.
  write_transfer_json(report, dir.file("transfer.json"), {{"run", "test"}});
  const auto j = nlohmann::json::parse(testkit::read_text(dir.file("transfer.json")));
  EXPECT_EQ(j["counts"]["matched"].get<size_t>(), bare.size());
  EXPECT_EQ(j["counts"]["missing"].get<size_t>(), report.missing.size());
  EXPECT_EQ(j["pretrained_part"], "encoder.");
  EXPECT_EQ(j["run"], "test");
  EXPECT_EQ(j["matched"][0]["target"].get<std::string>().rfind("encoder.", 0), 0u);
}

TEST(Transfer, WrapperPrefixesUserMapsAndMinMatch) {
  auto source = encoder();
  StateDict wrapped, renamed, half;
  size_t i = 0;
  for (const auto& [name, t] : state_dict(*source)) {
    wrapped["module._orig_mod." + name] = t;  // DataParallel around torch.compile
    renamed["net.enc." + name] = t;
    if (i++ % 2 == 0) half[name] = t;
  }
  auto target = encoder();
  auto report = transfer_weights(*target, in_memory(wrapped), TransferOptions());
  EXPECT_EQ(report.matched.size(), wrapped.size());
  EXPECT_NE(report.matched[0].renamed.find("removed \"module.\"; removed \"_orig_mod.\""), std::string::npos)
      << report.matched[0].renamed;

  // Unknown names: nothing fits, and the error shows both sides' leading names.
  auto msg = error_of([&] { transfer_weights(*target, in_memory(renamed), TransferOptions()); });
  EXPECT_NE(msg.find("not one of the file's"), std::string::npos) << msg;
  EXPECT_NE(msg.find("net."), std::string::npos) << msg;
  TransferOptions mapped;
  mapped.maps = {"net.enc.="};
  report = transfer_weights(*target, in_memory(renamed), mapped);
  EXPECT_EQ(report.matched.size(), renamed.size());
  EXPECT_EQ(parse_name_map("swinViT.=encoder.").to, "encoder.");
  EXPECT_NE(error_of([] { parse_name_map("swinViT.encoder."); }).find("expected OLD=NEW"), std::string::npos);

  // Half the encoder: below the default min-match (all), enough for 0.4.
  msg = error_of([&] { transfer_weights(*target, in_memory(half), TransferOptions()); });
  EXPECT_NE(msg.find("fewer than --min-match 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing:"), std::string::npos) << msg;
  TransferOptions lenient;
  lenient.min_match = 0.4;
  report = transfer_weights(*target, in_memory(half), lenient);
  EXPECT_EQ(report.matched.size(), half.size());
  EXPECT_EQ(report.missing.size(), state_dict(*target).size() - half.size());
  EXPECT_NE(report.summary().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace medssl::weights
