// init_weights: models start from medssl checkpoints, exported files and Python state dicts; strict loading names
// every problem and changes nothing; partial loading reports what it skipped; prefixes map encoders into UNets.
#include <gtest/gtest.h>

#include <sstream>

#include "medssl/core/error.h"
#include "medssl/models/densenet.h"
#include "medssl/models/unet.h"
#include "medssl/models/vit.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/init_weights.h"
#include "medssl/weights/torch_save_format.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

using models::UNet;
using models::UNetEncoder;
using models::UNetEncoderOptions;
using models::UNetOptions;
using testkit::error_of;

UNet small_unet(int64_t classes = 3) {
  return UNet(UNetOptions().spatial_dims(2).enc_filters(4).num_layers(2).num_classes(classes));
}
UNetEncoder small_encoder() { return UNetEncoder(UNetEncoderOptions().spatial_dims(2).enc_filters(4).num_layers(2)); }

void expect_equal_state(const torch::nn::Module& a, const StateDict& b, const std::string& prefix = "") {
  for (const auto& [name, t] : state_dict(a)) {
    ASSERT_TRUE(b.count(prefix + name)) << prefix + name;
    EXPECT_TRUE(torch::equal(t, b.at(prefix + name))) << name;
  }
}

void save_model_checkpoint(const torch::nn::Module& model, const std::string& path) {
  train::save_checkpoint(path, model, /*optimizer=*/nullptr, train::TrainingState{});
}

TEST(InitWeights, StrictLoadFromMedsslCheckpointReproducesOutputs) {
  testkit::TempDir dir("medssl-init-ckpt");
  auto trained = small_unet();
  trained->train();
  trained->forward(torch::randn({2, 1, 16, 16}));  // moves the BatchNorm statistics away from their defaults
  save_model_checkpoint(*trained, dir.file("last.pt"));
  EXPECT_EQ(read_weights_file(dir.file("last.pt")).format, WeightsFormat::medssl_checkpoint);

  auto fresh = small_unet();
  auto report = init_weights(*fresh, dir.file("last.pt"));
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.loaded.size(), state_dict(*trained).size());
  expect_equal_state(*fresh, state_dict(*trained));
  trained->eval();
  fresh->eval();
  auto x = torch::randn({1, 1, 16, 16});
  EXPECT_TRUE(torch::equal(trained->forward(x), fresh->forward(x)));
}

TEST(InitWeights, StrictFailureNamesFileAndKeysWithShapesAndLeavesModelUntouched) {
  testkit::TempDir dir("medssl-init-strict");
  auto five = small_unet(5);
  StateDict file_tensors = state_dict(*five);
  file_tensors.erase("encoder.down0.conv1.bias");
  file_tensors["decoder.extra.weight"] = torch::zeros({2, 7});
  write_torch_save(file_tensors, dir.file("other.pt"));

  auto model = small_unet(3);
  const StateDict before = state_dict(*model);
  auto msg = error_of([&] { init_weights(*model, dir.file("other.pt")); });
  EXPECT_NE(msg.find(dir.file("other.pt")), std::string::npos) << msg;
  EXPECT_NE(msg.find("torch.save file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing from the file (1): encoder.down0.conv1.bias [4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not in the model (1): decoder.extra.weight [2, 7]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder.head.weight: file [5, 4, 1, 1] vs model [3, 4, 1, 1]"), std::string::npos) << msg;
  expect_equal_state(*model, before);

  // Many problems: the first 10 of each kind are named, with the total.
  write_torch_save(add_prefix(state_dict(*small_encoder()), "encoder."), dir.file("encoder_only.pt"));
  msg = error_of([&] { init_weights(*model, dir.file("encoder_only.pt")); });
  EXPECT_NE(msg.find("in all)"), std::string::npos) << msg;
  expect_equal_state(*model, before);
}

TEST(InitWeights, AllowPartialLoadsMatchingKeysAndReportsTheRest) {
  testkit::TempDir dir("medssl-init-partial");
  auto source = small_unet(5);
  save_model_checkpoint(*source, dir.file("best.pt"));
  auto target = small_unet(3);
  const StateDict before = state_dict(*target);
  auto report = init_weights(*target, dir.file("best.pt"), InitWeightsOptions().allow_partial(true));
  EXPECT_FALSE(report.complete());
  ASSERT_EQ(report.mismatched.size(), 2u);  // decoder.head.weight / .bias
  EXPECT_EQ(report.skipped().size(), 2u);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_TRUE(report.unexpected.empty());
  const StateDict after = state_dict(*target), src = state_dict(*source);
  EXPECT_TRUE(torch::equal(after.at("encoder.down1.conv2.weight"), src.at("encoder.down1.conv2.weight")));
  EXPECT_TRUE(torch::equal(after.at("decoder.head.weight"), before.at("decoder.head.weight")));  // kept
}

TEST(InitWeights, PrefixesMapAnEncoderFileIntoAUNetAndBack) {
  testkit::TempDir dir("medssl-init-prefix");
  // What `medssl export --part encoder` writes: the encoder's names without "encoder.".
  auto pretrained = small_unet();
  write_torch_save(strip_prefix(state_dict(*pretrained), "encoder."), dir.file("encoder.pt"));

  auto unet = small_unet();
  auto msg = error_of([&] { init_weights(*unet, dir.file("encoder.pt")); });  // no prefix: nothing matches
  EXPECT_NE(msg.find("none of the file's"), std::string::npos) << msg;
  EXPECT_NE(msg.find("down0."), std::string::npos) << msg;
  EXPECT_NE(msg.find("encoder."), std::string::npos) << msg;

  msg = error_of([&] { init_weights(*unet, dir.file("encoder.pt"), InitWeightsOptions().target_prefix("encoder.")); });
  EXPECT_NE(msg.find("missing from the file"), std::string::npos) << msg;  // strict: the decoder is not in the file

  auto report = init_weights(*unet, dir.file("encoder.pt"),
                             InitWeightsOptions().target_prefix("encoder.").allow_partial(true));
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(report.mismatched.empty());
  ASSERT_FALSE(report.missing.empty());
  for (const auto& k : report.missing) EXPECT_EQ(k.rfind("decoder.", 0), 0u) << k;
  for (const auto& [name, t] : strip_prefix(state_dict(*unet), "encoder."))
    EXPECT_TRUE(torch::equal(t, state_dict(*pretrained).at("encoder." + name))) << name;

  // The other way: a bare encoder from a whole-UNet checkpoint, strictly.
  save_model_checkpoint(*pretrained, dir.file("unet.pt"));
  auto encoder = small_encoder();
  auto strict = init_weights(*encoder, dir.file("unet.pt"), InitWeightsOptions().source_prefix("encoder."));
  EXPECT_TRUE(strict.complete());
  expect_equal_state(*encoder, state_dict(*pretrained), "encoder.");
  msg = error_of([&] { init_weights(*encoder, dir.file("unet.pt"), InitWeightsOptions().source_prefix("backbone.")); });
  EXPECT_NE(msg.find("no tensor name starts with \"backbone.\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder., encoder."), std::string::npos) << msg;
}

TEST(InitWeights, PythonStateDictLoadsAndGivesTorchvisionsOutputs) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "python3 torch/torchvision not available";
  testkit::TempDir dir("medssl-init-python");
  // A small torchvision DenseNet (same class as densenet121, fewer layers), saved the usual way: an OrderedDict with
  // _metadata, in both serialisation formats.
  auto r = testkit::run_python(
      "import torch, torchvision\n"
      "d = '" + dir.path() + "'\n"
      "torch.manual_seed(3)\n"
      "m = torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, bn_size=2,\n"
      "                                num_classes=3)\n"
      "with torch.no_grad():\n"
      "    for name, b in m.named_buffers():\n"
      "        if name.endswith('running_mean'): b.uniform_(-0.3, 0.3)\n"
      "        if name.endswith('running_var'): b.uniform_(0.5, 1.5)\n"
      "m.eval()\n"
      "x = torch.randn(2, 3, 32, 32)\n"
      "with torch.no_grad(): y = m(x)\n"
      "torch.save(m.state_dict(), d + '/densenet.pt')\n"
      "torch.save(m.state_dict(), d + '/densenet_legacy.pt', _use_new_zipfile_serialization=False)\n"
      "torch.save({'x': x, 'y': y}, d + '/io.pt')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto io = read_torch_save(dir.file("io.pt")).tensors;
  for (const auto* name : {"densenet.pt", "densenet_legacy.pt"}) {
    models::DenseNet net(models::DenseNetOptions()
                             .spatial_dims(2)
                             .in_channels(3)
                             .growth_rate(8)
                             .block_config({2, 2})
                             .num_init_features(16)
                             .bn_size(2)
                             .num_classes(3));
    auto report = init_weights(*net, dir.file(name));
    EXPECT_TRUE(report.complete()) << name;
    net->eval();
    torch::NoGradGuard no_grad;
    auto y = net->forward(io.at("x"));
    EXPECT_LT((y - io.at("y")).abs().max().item<double>(), 1e-5) << name;
  }
}

TEST(InitWeights, MonaiUnusedCrossAttentionKeysAreIgnored) {
  testkit::TempDir dir("medssl-init-monai");
  models::ViT vit(models::ViTOptions(1, {16, 16}, {8, 8}).spatial_dims(2).hidden_size(16).mlp_dim(32).num_layers(1)
                      .num_heads(2));
  StateDict file_tensors = state_dict(*vit);
  file_tensors["blocks.0.norm_cross_attn.weight"] = torch::ones({16});
  file_tensors["blocks.0.cross_attn.to_q.weight"] = torch::ones({16, 16});
  write_torch_save(file_tensors, dir.file("monai_vit.pt"));
  models::ViT fresh(models::ViTOptions(1, {16, 16}, {8, 8}).spatial_dims(2).hidden_size(16).mlp_dim(32).num_layers(1)
                        .num_heads(2));
  EXPECT_TRUE(init_weights(*fresh, dir.file("monai_vit.pt")).complete());
  expect_equal_state(*fresh, file_tensors);
}

TEST(InitWeights, BadFilesNameThePath) {
  testkit::TempDir dir("medssl-init-bad");
  auto model = small_unet();
  auto msg = error_of([&] { init_weights(*model, dir.file("absent.pt")); });
  EXPECT_NE(msg.find("absent.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;

  save_model_checkpoint(*model, dir.file("last.pt"));
  const std::string whole = testkit::read_text(dir.file("last.pt"));
  testkit::write_text(dir.file("cut.pt"), whole.substr(0, whole.size() * 2 / 3));
  msg = error_of([&] { init_weights(*model, dir.file("cut.pt")); });
  EXPECT_NE(msg.find("cut.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;

  testkit::write_text(dir.file("notes.txt"), "epoch 3: loss 0.5\n");
  msg = error_of([&] { init_weights(*model, dir.file("notes.txt")); });
  EXPECT_NE(msg.find("notes.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a PyTorch file"), std::string::npos) << msg;
}

}  // namespace
}  // namespace medssl::weights
