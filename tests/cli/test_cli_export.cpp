// `medssl export`: checkpoints become state dicts that Python reads with torch.load(weights_only=True), a DenseNet-121
// loads into torchvision strictly with the same logits, --part encoder drops the prefix, and mistakes are named.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "medssl/models/densenet.h"
#include "medssl/models/unet.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/init_weights.h"
#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/torch_save_format.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;

namespace {

models::UNet small_unet() {
  return models::UNet(models::UNetOptions().spatial_dims(2).enc_filters(4).num_layers(2).num_classes(3));
}

/// A weights-only checkpoint, as the trainer's last.pt / best.pt store the model.
void save_model_checkpoint(const torch::nn::Module& model, const std::string& path) {
  train::TrainingState state;
  state.global_step = 12;
  train::save_checkpoint(path, model, /*optimizer=*/nullptr, state);
}

}  // namespace

TEST(CliExport, CheckpointBecomesAStateDictPythonLoadsWithWeightsOnly) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-export");
  auto net = small_unet();
  net->train();
  net->forward(torch::randn({2, 1, 16, 16}));  // non-default BatchNorm statistics
  save_model_checkpoint(*net, dir.file("last.pt"));

  auto r = run_cli("export --checkpoint " + shell_quote(dir.file("last.pt")) + " --out " +
                   shell_quote(dir.file("unet.pt")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto expected = weights::state_dict(*net);
  EXPECT_NE(r.output.find("exported " + std::to_string(expected.size()) + " tensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("medssl checkpoint, after 12 optimiser steps"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("torchvision"), std::string::npos) << r.output;  // not a DenseNet

  // Python reads it with the safe loader and writes back what it read; LibTorch's own reader compares.
  auto py = testkit::run_python(
      "import torch\n"
      "sd = torch.load('" + dir.file("unet.pt") + "', weights_only=True)\n"
      "assert type(sd) is dict, type(sd)\n"
      "assert all(type(k) is str and type(v) is torch.Tensor for k, v in sd.items())\n"
      "assert sd['encoder.down0.norm1.num_batches_tracked'].dtype == torch.int64\n"
      "torch.save(dict(sd), '" + dir.file("python_copy.pt") + "')\n"
      "print(len(sd))\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  EXPECT_EQ(std::stoul(py.output), expected.size());
  const auto copy = weights::load_state_dict_file(dir.file("python_copy.pt"));
  ASSERT_EQ(copy.size(), expected.size());
  for (const auto& [name, t] : expected) {
    ASSERT_TRUE(copy.count(name)) << name;
    EXPECT_TRUE(torch::equal(copy.at(name), t)) << name;
  }
}

TEST(CliExport, DenseNet121LoadsIntoTorchvisionStrictlyWithTheSameLogits) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "python3 torch/torchvision not available";
  testkit::TempDir dir("medssl-export-densenet");
  models::DenseNet net(models::DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(5));
  {
    // Non-trivial BN statistics and affine parameters, so eval-mode BatchNorm really transforms (as test_densenet).
    torch::NoGradGuard no_grad;
    for (auto& item : net->named_buffers()) {
      if (item.key().find("running_mean") != std::string::npos) item.value().uniform_(-0.3, 0.3);
      if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 1.5);
    }
    for (auto& item : net->named_parameters())
      if (item.key().find("norm") != std::string::npos && item.key().find(".bias") != std::string::npos)
        item.value().uniform_(-0.2, 0.2);
  }
  net->eval();
  auto x = torch::randn({2, 3, 64, 64});
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    ours = net->forward(x);
  }
  save_model_checkpoint(*net, dir.file("best.pt"));
  weights::write_torch_save({{"x", x}}, dir.file("input.pt"));

  auto r = run_cli("export " + shell_quote(dir.file("best.pt")) + " --part model --out " +
                   shell_quote(dir.file("densenet121.pt")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("loadable: torchvision.models.densenet121(num_classes=5)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("parameters  6958981 "), std::string::npos) << r.output;  // torchvision's count, 5 classes

  auto py = testkit::run_python(
      "import torch, torchvision\n"
      "d = '" + dir.path() + "'\n"
      "m = torchvision.models.densenet121(num_classes=5)\n"
      "m.load_state_dict(torch.load(d + '/densenet121.pt', weights_only=True), strict=True)\n"
      "m.eval()\n"
      "with torch.no_grad():\n"
      "    y = m(torch.load(d + '/input.pt', weights_only=True)['x'])\n"
      "torch.save({'y': y}, d + '/logits.pt')\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;
  auto theirs = weights::read_torch_save(dir.file("logits.pt")).tensors.at("y");
  ASSERT_EQ(theirs.sizes(), ours.sizes());
  EXPECT_LT((theirs - ours).abs().max().item<double>(), 1e-4);
  EXPECT_GT(ours.std().item<double>(), 1e-3);  // a meaningful output was compared
}

TEST(CliExport, EncoderPartDropsThePrefixAndListWritesNothing) {
  testkit::TempDir dir("medssl-export-encoder");
  auto net = small_unet();
  save_model_checkpoint(*net, dir.file("last.pt"));
  const auto encoder_tensors = weights::strip_prefix(weights::state_dict(*net), "encoder.");

  auto listed = run_cli("export " + shell_quote(dir.file("last.pt")) + " --part encoder --list");
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find("down0.conv1.weight"), std::string::npos) << listed.output;
  EXPECT_EQ(listed.output.find("encoder.down0"), std::string::npos) << listed.output;
  EXPECT_EQ(listed.output.find("decoder."), std::string::npos) << listed.output;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // only last.pt

  auto r = run_cli("export --checkpoint " + shell_quote(dir.file("last.pt")) + " --part encoder --out " +
                   shell_quote(dir.file("encoder.pt")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto written = weights::read_torch_save(dir.file("encoder.pt")).tensors;
  ASSERT_EQ(written.size(), encoder_tensors.size());
  for (const auto& [name, t] : written) {
    EXPECT_NE(name.rfind("encoder.", 0), 0u) << name;
    EXPECT_TRUE(torch::equal(t, encoder_tensors.at(name))) << name;
  }
  // It initialises a bare encoder strictly.
  models::UNetEncoder encoder(models::UNetEncoderOptions().spatial_dims(2).enc_filters(4).num_layers(2));
  EXPECT_TRUE(weights::init_weights(*encoder, dir.file("encoder.pt")).complete());
  // It carries a manifest (inside, and next to it for Python) saying it is an export without the prefix.
  const auto manifest = weights::read_weights_file(dir.file("encoder.pt")).manifest;
  EXPECT_EQ(manifest["kind"], "export");
  EXPECT_EQ(manifest["tensor_prefix"], "");
  EXPECT_EQ(manifest["exported_from"]["part"], "encoder");
  EXPECT_TRUE(fs::exists(dir.file("encoder.manifest.json")));
}

TEST(CliExport, MistakesAreNamed) {
  testkit::TempDir dir("medssl-export-errors");
  auto missing = run_cli("export --checkpoint " + shell_quote(dir.file("nope.pt")) + " --out " +
                         shell_quote(dir.file("out.pt")));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("nope.pt"), std::string::npos) << missing.output;

  auto net = small_unet();
  save_model_checkpoint(*net, dir.file("last.pt"));
  auto bad_part = run_cli("export " + shell_quote(dir.file("last.pt")) + " --part decoder --out " +
                          shell_quote(dir.file("out.pt")));
  EXPECT_NE(bad_part.exit_code, 0);
  EXPECT_NE(bad_part.output.find("--part"), std::string::npos) << bad_part.output;

  auto no_out = run_cli("export " + shell_quote(dir.file("last.pt")));
  EXPECT_NE(no_out.exit_code, 0);
  EXPECT_NE(no_out.output.find("--out"), std::string::npos) << no_out.output;

  auto onto_itself =
      run_cli("export " + shell_quote(dir.file("last.pt")) + " --out " + shell_quote(dir.file("last.pt")));
  EXPECT_NE(onto_itself.exit_code, 0);
  EXPECT_NE(onto_itself.output.find("checkpoint itself"), std::string::npos) << onto_itself.output;

  weights::write_torch_save({{"features.conv0.weight", torch::zeros({2, 1, 3, 3})}}, dir.file("no_encoder.pt"));
  auto no_encoder = run_cli("export " + shell_quote(dir.file("no_encoder.pt")) + " --part encoder --out " +
                            shell_quote(dir.file("out.pt")));
  EXPECT_NE(no_encoder.exit_code, 0);
  EXPECT_NE(no_encoder.output.find("no tensors under \"encoder.\""), std::string::npos) << no_encoder.output;
  EXPECT_NE(no_encoder.output.find("features."), std::string::npos) << no_encoder.output;
  EXPECT_FALSE(fs::exists(dir.file("out.pt")));
}
