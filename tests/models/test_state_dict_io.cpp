// State dict files: round trip, Python torch.load compatibility (both directions), strict and partial loading.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/models/unet.h"
#include "medssl/weights/state_dict_io.h"
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

TEST(StateDictIO, RoundTripGivesIdenticalTensorsIncludingBuffers) {
  testkit::TempDir dir("medssl-sd");
  auto net = small_unet();
  {
    torch::NoGradGuard no_grad;
    for (auto& b : net->named_buffers())
      if (b.key().find("running_mean") != std::string::npos) b.value().normal_();
  }
  net->train();
  net->forward(torch::randn({2, 1, 16, 16}));  // num_batches_tracked becomes 1
  save_state_dict(*net, dir.file("unet.pt"));
  auto original = state_dict(*net);
  auto loaded = load_state_dict_file(dir.file("unet.pt"));
  ASSERT_EQ(loaded.size(), original.size());
  EXPECT_TRUE(loaded.count("encoder.down0.norm1.num_batches_tracked"));
  for (const auto& [name, t] : original) {
    ASSERT_TRUE(loaded.count(name)) << name;
    EXPECT_EQ(loaded.at(name).dtype(), t.dtype()) << name;
    EXPECT_TRUE(torch::equal(loaded.at(name), t)) << name;
  }
  EXPECT_EQ(loaded.at("encoder.down0.norm1.num_batches_tracked").item<int64_t>(), 1);

  // Loading into a fresh model reproduces the outputs exactly.
  auto copy = small_unet();
  auto report = load_into(*copy, loaded);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.loaded.size(), original.size());
  net->eval();
  copy->eval();
  auto x = torch::randn({1, 1, 16, 16});
  EXPECT_TRUE(torch::equal(net->forward(x), copy->forward(x)));
}

TEST(StateDictIO, PythonTorchLoadReadsItAndWritesWhatWeRead) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-sd-py");
  auto net = small_unet();
  save_state_dict(*net, dir.file("unet.pt"));
  auto sd = state_dict(*net);
  const double weight_sum = sd.at("decoder.head.weight").sum().item<double>();
  auto r = testkit::run_python(
      "import torch\n"
      "sd = torch.load('" + dir.file("unet.pt") + "')\n"
      "assert type(sd) is dict, type(sd)\n"
      "assert all(isinstance(v, torch.Tensor) for v in sd.values())\n"
      "print(len(sd), repr(float(sd['decoder.head.weight'].sum())), sd['encoder.down0.norm1.num_batches_tracked'].dtype)\n"
      "torch.save({'a': torch.arange(6, dtype=torch.float64).reshape(2, 3), 'b': torch.tensor([1, 2])}, '" +
      dir.file("from_python.pt") + "')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream out(r.output);
  size_t count = 0;
  double py_sum = 0.0;
  std::string dtype;
  out >> count >> py_sum >> dtype;
  EXPECT_EQ(count, sd.size());
  EXPECT_NEAR(py_sum, weight_sum, 1e-5);
  EXPECT_EQ(dtype, "torch.int64");
  auto from_python = load_state_dict_file(dir.file("from_python.pt"));
  ASSERT_EQ(from_python.size(), 2u);
  EXPECT_TRUE(torch::equal(from_python.at("a"), torch::arange(6, torch::kFloat64).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(from_python.at("b"), torch::tensor({1, 2}, torch::kLong)));
}

TEST(StateDictIO, LoadIntoFailsLoudlyNamingMissingKey) {
  auto net = small_unet();
  auto sd = state_dict(*net);
  sd.erase("decoder.head.bias");
  auto msg = error_of([&] { load_into(*net, sd); });
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder.head.bias"), std::string::npos) << msg;
}

TEST(StateDictIO, LoadIntoFailsLoudlyNamingUnexpectedKey) {
  auto net = small_unet();
  auto sd = state_dict(*net);
  sd["decoder.extra.weight"] = torch::zeros({2});
  auto msg = error_of([&] { load_into(*net, sd); });
  EXPECT_NE(msg.find("unexpected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("decoder.extra.weight"), std::string::npos) << msg;
}

TEST(StateDictIO, LoadIntoFailsLoudlyNamingMisShapedKeyAndChangesNothing) {
  auto net = small_unet(3);
  auto other = small_unet(5);  // different head width
  auto before = state_dict(*net);
  auto msg = error_of([&] { load_into(*net, state_dict(*other)); });
  EXPECT_NE(msg.find("decoder.head.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[5, 4, 1, 1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3, 4, 1, 1]"), std::string::npos) << msg;
  for (const auto& [name, t] : state_dict(*net)) EXPECT_TRUE(torch::equal(t, before.at(name))) << name;
}

TEST(StateDictIO, AllowPartialLoadsMatchingKeysAndListsSkipped) {
  // A pretext-trained encoder (saved under "encoder.") goes into a segmentation UNet with another head.
  auto source = small_unet(5);
  auto target = small_unet(3);
  auto report = load_into(*target, state_dict(*source), /*allow_partial=*/true);
  EXPECT_FALSE(report.complete());
  ASSERT_EQ(report.mismatched.size(), 2u);  // decoder.head.weight and decoder.head.bias
  EXPECT_NE(report.mismatched[0].find("decoder.head."), std::string::npos);
  EXPECT_EQ(report.skipped().size(), 2u);
  auto t = state_dict(*target), s = state_dict(*source);
  EXPECT_TRUE(torch::equal(t.at("encoder.down1.conv2.weight"), s.at("encoder.down1.conv2.weight")));
  EXPECT_TRUE(torch::equal(t.at("decoder.block1.conv1.weight"), s.at("decoder.block1.conv1.weight")));
  EXPECT_FALSE(torch::equal(t.at("decoder.head.weight").sum(), s.at("decoder.head.weight").sum()));

  // A bare encoder's names plus the prefix match the UNet's encoder; the decoder is reported missing.
  UNetEncoder encoder(UNetEncoderOptions().spatial_dims(2).enc_filters(4).num_layers(2));
  auto fresh = small_unet();
  auto partial = load_into(*fresh, add_prefix(state_dict(*encoder), "encoder."), true);
  EXPECT_TRUE(partial.unexpected.empty());
  EXPECT_FALSE(partial.missing.empty());
  for (const auto& k : partial.missing) EXPECT_EQ(k.rfind("decoder.", 0), 0u) << k;
  EXPECT_EQ(strip_prefix(state_dict(*fresh), "encoder.").size(), state_dict(*encoder).size());

  // Nothing matching at all is an error even when partial loads are allowed.
  EXPECT_THROW(load_into(*fresh, state_dict(*encoder), true), Error);
}

TEST(StateDictIO, UnreadableFilesNameThePath) {
  testkit::TempDir dir("medssl-sd-bad");
  auto msg = error_of([&] { load_state_dict_file(dir.file("absent.pt")); });
  EXPECT_NE(msg.find("absent.pt"), std::string::npos) << msg;
  testkit::write_text(dir.file("garbage.pt"), "this is not a zip file");
  msg = error_of([&] { load_state_dict_file(dir.file("garbage.pt")); });
  EXPECT_NE(msg.find("garbage.pt"), std::string::npos) << msg;
  // Unwritable destination.
  auto net = small_unet();
  EXPECT_THROW(save_state_dict(*net, dir.file("no/such/dir/unet.pt")), Error);
}

}  // namespace
}  // namespace medssl::weights
