// The torch.save format without Python: every common way Python saves a state dict is read (the reference values come
// from LibTorch's own reader on the one variant it can read), and what we write is read back by Python's
// torch.load(weights_only=True).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "medssl/core/error.h"
#include "medssl/weights/torch_save_format.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

using testkit::error_of;

void expect_same_tensors(const StateDict& actual, const StateDict& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (const auto& [name, t] : expected) {
    ASSERT_TRUE(actual.count(name)) << what << ": " << name;
    EXPECT_EQ(actual.at(name).scalar_type(), t.scalar_type()) << what << ": " << name;
    EXPECT_TRUE(torch::equal(actual.at(name), t)) << what << ": " << name;
  }
}

TEST(TorchSaveFormat, ReadsEveryPythonStateDictVariant) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-tsf-py");
  auto r = testkit::run_python(
      "import torch, argparse\n"
      "d = '" + dir.path() + "'\n"
      "torch.manual_seed(0)\n"
      "m = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(),\n"
      "                        torch.nn.Linear(12, 2))\n"
      "m(torch.randn(4, 2, 4, 4))  # running statistics and num_batches_tracked\n"
      "sd = m.state_dict()\n"
      "torch.save(dict(sd), d + '/reference.pt')  # the only variant LibTorch 1.13's pickle_load reads\n"
      "torch.save(sd, d + '/ordered_dict.pt')\n"
      "torch.save(sd, d + '/legacy.pt', _use_new_zipfile_serialization=False)\n"
      "torch.save(m.state_dict(keep_vars=True), d + '/parameters.pt')\n"
      "torch.save(sd, d + '/protocol4.pt', pickle_protocol=4)\n"
      "torch.save({'epoch': 7, 'args': argparse.Namespace(lr=0.1), 'state_dict': sd,\n"
      "            'optimizer': {'lr': [0.1, 2 ** 40], 'betas': (0.9, 0.999)}}, d + '/training_checkpoint.pt')\n"
      "torch.save({'only': torch.arange(5)}, d + '/single_entry.pt')\n"
      "torch.save(m, d + '/module.pt')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const StateDict reference = load_state_dict_file(dir.file("reference.pt"));
  ASSERT_EQ(reference.size(), 9u);  // conv weight/bias, 5 BatchNorm tensors, linear weight/bias
  ASSERT_TRUE(reference.count("1.num_batches_tracked"));

  for (const auto* name : {"reference.pt", "ordered_dict.pt", "parameters.pt", "protocol4.pt"}) {
    auto contents = read_torch_save(dir.file(name));
    EXPECT_FALSE(contents.legacy_format) << name;
    EXPECT_EQ(contents.entry, "") << name;
    expect_same_tensors(contents.tensors, reference, name);
  }
  auto legacy = read_torch_save(dir.file("legacy.pt"));
  EXPECT_TRUE(legacy.legacy_format);
  expect_same_tensors(legacy.tensors, reference, "legacy.pt");
  auto nested = read_torch_save(dir.file("training_checkpoint.pt"));
  EXPECT_EQ(nested.entry, "state_dict");
  expect_same_tensors(nested.tensors, reference, "training_checkpoint.pt");
  auto single = read_torch_save(dir.file("single_entry.pt"));
  ASSERT_EQ(single.tensors.size(), 1u);
  EXPECT_TRUE(torch::equal(single.tensors.at("only"), torch::arange(5)));

  auto msg = error_of([&] { read_torch_save(dir.file("module.pt")); });
  EXPECT_NE(msg.find("module.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("state_dict()"), std::string::npos) << msg;
}

TEST(TorchSaveFormat, ViewsDtypesAndEmptyTensorsInBothFormats) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-tsf-views");
  auto r = testkit::run_python(
      "import torch\n"
      "d = '" + dir.path() + "'\n"
      "base = torch.arange(24, dtype=torch.float64).reshape(4, 6)\n"
      "t = {'transposed': base.t(), 'row': base[1], 'strided': base[:, ::2],\n"
      "     'half': torch.full((3,), 1.5, dtype=torch.float16), 'bf16': torch.full((2,), -2.0, dtype=torch.bfloat16),\n"
      "     'flags': torch.tensor([True, False, True]), 'int8': torch.tensor([-3, 7], dtype=torch.int8),\n"
      "     'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3), 'big': torch.tensor([2 ** 40, -5])}\n"
      "torch.save(t, d + '/zip.pt')\n"
      "torch.save(t, d + '/legacy.pt', _use_new_zipfile_serialization=False)\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto base = torch::arange(24, torch::kFloat64).reshape({4, 6});
  for (const auto* name : {"zip.pt", "legacy.pt"}) {
    auto t = read_torch_save(dir.file(name)).tensors;
    ASSERT_EQ(t.size(), 10u) << name;
    EXPECT_TRUE(torch::equal(t.at("transposed"), base.t())) << name;
    EXPECT_TRUE(torch::equal(t.at("row"), base[1])) << name;
    EXPECT_TRUE(torch::equal(t.at("strided"), base.slice(1, 0, 6, 2))) << name;
    EXPECT_TRUE(torch::equal(t.at("half"), torch::full({3}, 1.5, torch::kHalf))) << name;
    EXPECT_TRUE(torch::equal(t.at("bf16"), torch::full({2}, -2.0, torch::kBFloat16))) << name;
    EXPECT_TRUE(torch::equal(t.at("flags"), torch::tensor({true, false, true}))) << name;
    EXPECT_TRUE(torch::equal(t.at("int8"), torch::tensor({-3, 7}, torch::kInt8))) << name;
    EXPECT_EQ(t.at("scalar").dim(), 0) << name;
    EXPECT_EQ(t.at("scalar").item<float>(), 2.5f) << name;
    EXPECT_EQ(t.at("empty").sizes(), (std::vector<int64_t>{0, 3})) << name;
    EXPECT_EQ(t.at("big")[0].item<int64_t>(), int64_t(1) << 40) << name;
  }
}

TEST(TorchSaveFormat, PythonLoadsWhatWeWriteWithWeightsOnly) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-tsf-write");
  StateDict tensors = {{"features.conv0.weight", torch::randn({4, 3, 3, 3})},
                       {"transposed", torch::arange(6, torch::kFloat64).reshape({2, 3}).t()},  // non-contiguous
                       {"norm.num_batches_tracked", torch::tensor(17, torch::kLong)},
                       {"half", torch::full({2}, 0.25, torch::kHalf)},
                       {"flags", torch::tensor({true, false})},
                       {"empty", torch::zeros({0, 2})},
                       {"large", torch::tensor({int64_t(1) << 40, int64_t(-70000)})}};
  write_torch_save(tensors, dir.file("out.pt"));
  auto r = testkit::run_python(
      "import torch\n"
      "sd = torch.load('" + dir.file("out.pt") + "', weights_only=True)\n"
      "assert type(sd) is dict, type(sd)\n"
      "assert all(type(k) is str and type(v) is torch.Tensor for k, v in sd.items())\n"
      "assert sd['transposed'].tolist() == [[0, 3], [1, 4], [2, 5]], sd['transposed']\n"
      "assert sd['norm.num_batches_tracked'].dtype == torch.int64 and int(sd['norm.num_batches_tracked']) == 17\n"
      "assert sd['norm.num_batches_tracked'].dim() == 0\n"
      "assert sd['half'].dtype == torch.float16 and sd['flags'].tolist() == [True, False]\n"
      "assert sd['empty'].shape == (0, 2) and sd['large'].tolist() == [2 ** 40, -70000]\n"
      "print(len(sd), repr(float(sd['features.conv0.weight'].double().sum())))\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream out(r.output);
  size_t count = 0;
  double sum = 0.0;
  out >> count >> sum;
  EXPECT_EQ(count, tensors.size());
  EXPECT_NEAR(sum, tensors.at("features.conv0.weight").to(torch::kFloat64).sum().item<double>(), 1e-9);

  // Our reader and LibTorch's own read it too.
  expect_same_tensors(read_torch_save(dir.file("out.pt")).tensors, tensors, "read_torch_save");
  expect_same_tensors(load_state_dict_file(dir.file("out.pt")), tensors, "load_state_dict_file");
}

TEST(TorchSaveFormat, BadFilesNameThePath) {
  testkit::TempDir dir("medssl-tsf-bad");
  auto msg = error_of([&] { read_torch_save(dir.file("absent.pt")); });
  EXPECT_NE(msg.find("absent.pt"), std::string::npos) << msg;

  testkit::write_text(dir.file("text.pt"), "this is not a PyTorch file");
  msg = error_of([&] { read_torch_save(dir.file("text.pt")); });
  EXPECT_NE(msg.find("text.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a PyTorch file"), std::string::npos) << msg;

  testkit::write_text(dir.file("empty.pt"), "");
  msg = error_of([&] { read_torch_save(dir.file("empty.pt")); });
  EXPECT_NE(msg.find("empty.pt"), std::string::npos) << msg;

  // A zip cut in half (a copy interrupted mid-way).
  write_torch_save({{"a", torch::randn({64, 64})}, {"b", torch::randn({8})}}, dir.file("whole.pt"));
  const std::string whole = testkit::read_text(dir.file("whole.pt"));
  testkit::write_text(dir.file("truncated.pt"), whole.substr(0, whole.size() / 2));
  msg = error_of([&] { read_torch_save(dir.file("truncated.pt")); });
  EXPECT_NE(msg.find("truncated.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;
}

TEST(TorchSaveFormat, TruncatedLegacyFileAndUnsupportedTensorsAreNamed) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-tsf-legacy-bad");
  auto r = testkit::run_python(
      "import torch\n"
      "d = '" + dir.path() + "'\n"
      "torch.save({'a': torch.randn(100), 'b': torch.randn(3)}, d + '/legacy.pt', "
      "_use_new_zipfile_serialization=False)\n"
      "q = torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.quint8)\n"
      "torch.save({'q': q, 'x': torch.randn(2)}, d + '/quantised.pt')\n"
      "torch.save([torch.randn(2), torch.randn(2)], d + '/list.pt')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string whole = testkit::read_text(dir.file("legacy.pt"));
  testkit::write_text(dir.file("legacy_cut.pt"), whole.substr(0, whole.size() - 100));
  auto msg = error_of([&] { read_torch_save(dir.file("legacy_cut.pt")); });
  EXPECT_NE(msg.find("legacy_cut.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  msg = error_of([&] { read_torch_save(dir.file("quantised.pt")); });
  EXPECT_NE(msg.find("quantised.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("QUInt8"), std::string::npos) << msg;

  msg = error_of([&] { read_torch_save(dir.file("list.pt")); });
  EXPECT_NE(msg.find("list.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a list of 2"), std::string::npos) << msg;
}

}  // namespace
}  // namespace medssl::weights
