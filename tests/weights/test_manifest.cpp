// The manifest travels with the weights: written into the file and next to it, read back by medssl (also from a
// sidecar Python wrote, and from a checkpoint), readable by Python's json and zipfile while torch.load(weights_only)
// still loads the tensors; and the preprocessing contract compares it with a run.
#include <gtest/gtest.h>

#include <filesystem>

#include "medssl/train/checkpoint.h"
#include "medssl/weights/contract.h"
#include "medssl/weights/manifest.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

using json = nlohmann::json;
using testkit::error_of;

json example_manifest() {
  json m = base_manifest("pretrain");
  m.update(input_contract(3, 1, 32, {{"spacing", {2.0, 1.5, 1.5}}, {"window", {-1000, 1000}}, {"normalize", "auto"},
                                     {"size", 32}}));
  m["architecture"] = "unet_encoder";
  m["encoder"] = "unet_encoder";
  m["tensor_prefix"] = "encoder.";
  m["pretext"] = {{"method", "rotation"}, {"config", {{"lr", 1e-4}}}};
  m["seed"] = 42;
  m["final_metrics"] = {{"val_acc", 0.75}};
  return m;
}

TEST(Manifest, RoundTripsThroughTheFileTheSidecarAndPython) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-manifest");
  const json manifest = example_manifest();
  save_weights({{"encoder.w", torch::randn({3, 2})}, {"encoder.n", torch::tensor(5, torch::kLong)}},
               dir.file("encoder.pt"), manifest);
  EXPECT_EQ(manifest_sidecar_path(dir.file("encoder.pt")), dir.file("encoder.manifest.json"));
  ASSERT_TRUE(std::filesystem::exists(dir.file("encoder.manifest.json")));

  WeightsFile file = read_weights_file(dir.file("encoder.pt"));
  EXPECT_EQ(file.manifest_source, "embedded");
  EXPECT_EQ(file.manifest, manifest);
  EXPECT_EQ(read_weights_manifest(dir.file("encoder.pt")), manifest);
  EXPECT_EQ(file.manifest["axis_convention"], "RAS+, C-D-H-W");
  EXPECT_EQ(file.manifest["target_spacing"], json({2.0, 1.5, 1.5}));
  EXPECT_EQ(file.manifest["patch_size"], json({32, 32, 32}));

  auto r = testkit::run_python(
      "import torch, json, zipfile\n"
      "d = '" + dir.path() + "'\n"
      "sd = torch.load(d + '/encoder.pt', weights_only=True)\n"
      "assert sorted(sd) == ['encoder.n', 'encoder.w'] and int(sd['encoder.n']) == 5\n"
      "side = json.load(open(d + '/encoder.manifest.json'))\n"
      "z = zipfile.ZipFile(d + '/encoder.pt')\n"
      "inside = json.loads(z.read([n for n in z.namelist() if n.endswith('/medssl_manifest.json')][0]))\n"
      "assert side == inside\n"
      "assert side['format'] == 'medssl-weights-manifest' and side['pretext']['method'] == 'rotation'\n"
      "assert side['intensity']['window'] == [-1000, 1000] and side['libtorch'].count('.') == 2\n"
      "print(side['medssl']['version'], side['seed'])\n"
      "# A Python user writes a sidecar for their own weights.\n"
      "torch.save({'features.w': torch.ones(2)}, d + '/theirs.pth')\n"
      "json.dump({'format': 'medssl-weights-manifest', 'in_channels': 3, 'target_spacing': None},\n"
      "          open(d + '/theirs.manifest.json', 'w'))\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" 42"), std::string::npos) << r.output;
  file = read_weights_file(dir.file("theirs.pth"));
  EXPECT_EQ(file.manifest_source, dir.file("theirs.manifest.json"));
  EXPECT_EQ(file.manifest["in_channels"], 3);

  // A checkpoint carries its run's manifest.
  torch::nn::Linear linear(2, 2);
  train::TrainingState state;
  state.manifest_json = manifest.dump();
  train::save_checkpoint(dir.file("last.pt"), *linear, nullptr, state);
  EXPECT_EQ(read_weights_file(dir.file("last.pt")).manifest, manifest);
  EXPECT_EQ(read_weights_file(dir.file("last.pt")).manifest_source, "checkpoint");

  testkit::write_text(dir.file("broken.manifest.json"), "{\"format\": ");
  save_tensors({{"w", torch::ones(1)}}, dir.file("broken.pt"));
  const auto msg = error_of([&] { read_weights_file(dir.file("broken.pt")); });
  EXPECT_NE(msg.find("broken.manifest.json"), std::string::npos) << msg;
}

TEST(Manifest, ContractNamesEachDifferenceAndStrictMakesItAnError) {
  const json weights = example_manifest();
  json run = input_contract(3, 1, 32, {{"spacing", {2.0, 1.5, 1.5}}, {"window", {-1000, 1000}}, {"normalize", "auto"}});
  EXPECT_TRUE(compare_contract(weights, run).empty());
  run = input_contract(3, 2, 64, {{"spacing", {3.0, 3.0, 3.0}}, {"window", {-1000, 1000}}, {"normalize", "zscore"}});
  const auto differences = compare_contract(weights, run);
  std::vector<std::string> keys;
  for (const auto& d : differences) keys.push_back(d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"in_channels", "patch_size", "target_spacing", "intensity.normalize"}));
  EXPECT_EQ(differences[2].text(), "target_spacing: the weights' [2.0,1.5,1.5] mm (D, H, W), this run's [3.0,3.0,3.0] "
                                   "mm (D, H, W)");
  EXPECT_NE(differences[0].text().find("adapted"), std::string::npos) << differences[0].text();
  EXPECT_NO_THROW(enforce_contract(differences, false, "test"));
  const auto msg = error_of([&] { enforce_contract(differences, true, "--init-weights w.pt"); });
  EXPECT_NE(msg.find("--init-weights w.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--strict-contract"), std::string::npos) << msg;
  EXPECT_NE(msg.find("intensity.normalize: the weights' auto, this run's zscore"), std::string::npos) << msg;
  // A foreign manifest without a key is not compared on it.
  EXPECT_TRUE(compare_contract(json{{"in_channels", 2}}, run).empty());
}

}  // namespace
}  // namespace medssl::weights
