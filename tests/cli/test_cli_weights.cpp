// Weights that travel, end to end: `medssl weights inspect` on Python's files (torchvision's DenseNet-121, a hostile
// pickle, a teacher/student checkpoint), a finetune started from torchvision's weights (transfer.json), and the
// preprocessing contract between a pretrain run's manifest and the finetune that uses it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(CliWeights, InspectTorchvisionDenseNetThenFinetuneFromItMatchesEveryFeatureTensor) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "python3 torch/torchvision not available";
  testkit::TempDir dir("medssl-cli-weights");
  auto py = testkit::run_python(
      "import torch, torchvision, os, collections\n"
      "d = '" + dir.path() + "'\n"
      "torch.save(torchvision.models.densenet121().state_dict(), d + '/dn.pt')\n"
      "class Payload:\n"
      "    def __reduce__(self): return (os.system, ('touch ' + d + '/ran',))\n"
      "torch.save({'state_dict': {'w': torch.ones(2)}, 'x': Payload()}, d + '/evil.pt')\n"
      "sd = collections.OrderedDict(w=torch.ones(2), b=torch.zeros(1))\n"
      "torch.save({'teacher': sd, 'student': sd, 'epoch': 9}, d + '/dino.pt')\n");
  ASSERT_EQ(py.exit_code, 0) << py.output;

  auto r = run_cli("weights inspect " + shell_quote(dir.file("dn.pt")) + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json inspection = json::parse(r.output);
  EXPECT_EQ(inspection["tensor_count"], 727);
  ASSERT_EQ(inspection["tensors"].size(), 727u);
  std::map<std::string, json> by_name;
  for (const auto& t : inspection["tensors"]) by_name[t["name"].get<std::string>()] = t;
  EXPECT_EQ(by_name["features.conv0.weight"]["shape"], json({64, 3, 7, 7}));
  EXPECT_EQ(by_name["features.conv0.weight"]["dtype"], "float32");
  EXPECT_EQ(by_name["features.norm5.num_batches_tracked"]["dtype"], "int64");
  EXPECT_EQ(by_name["classifier.weight"]["shape"], json({1000, 1024}));
  EXPECT_EQ(inspection["nesting"][0]["entry"], "");
  EXPECT_NE(inspection["torchvision"].get<std::string>().find("loadable"), std::string::npos);
  EXPECT_TRUE(inspection["manifest"].is_null());

  r = run_cli("weights inspect " + shell_quote(dir.file("evil.pt")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(dir.file("evil.pt")), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("posix.system"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("ran")));
  r = run_cli("weights inspect " + shell_quote(dir.file("dino.pt")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("several state dicts: \"teacher\" (2 tensors), \"student\" (2 tensors)"), std::string::npos)
      << r.output;
  r = run_cli("weights inspect " + shell_quote(dir.file("dino.pt")) + " --entry teacher");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"teacher\" (2 tensors)  <- read"), std::string::npos) << r.output;

  // A DenseNet-121 classifier of 5 grades on synthetic fundus photographs, started from torchvision's weights.
  r = run_cli("synth fundus --out " + shell_quote(dir.file("fundus")) + " --images 10 --size 32 --seed 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string run = dir.file("ft");
  r = run_cli("--threads 2 finetune --config " + shell_quote(std::string(MEDSSL_SOURCE_DIR) +
              "/configs/finetune/densenet_fundus2d.json") + " --init-weights " + shell_quote(dir.file("dn.pt")) +
              " --out " + shell_quote(run) + " --set data_dir=" + shell_quote(dir.file("fundus")) +
              " --set data_dim=32 --set epochs_initialized=1 --set epochs_warmup=0 --set batch_size=2"
              " --set steps_per_epoch=1 --set workers=0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("725 matched, 0 adapted, 2 skipped, 2 missing"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("has no manifest"), std::string::npos) << r.output;
  const json transfer = json::parse(testkit::read_text(run + "/transfer.json"));
  EXPECT_EQ(transfer["counts"]["matched"], 725);
  EXPECT_EQ(transfer["counts"]["pretrained_loaded"], transfer["counts"]["pretrained_tensors"]);
  size_t features = 0;
  for (const auto& m : transfer["matched"]) {
    const std::string source = m["source"];
    if (source.rfind("features.", 0) != 0) continue;
    ++features;
    EXPECT_EQ(m["target"], "encoder." + source);
  }
  size_t features_in_file = 0;
  for (const auto& [name, t] : by_name) features_in_file += name.rfind("features.", 0) == 0 ? 1 : 0;
  EXPECT_EQ(features, features_in_file);
  EXPECT_EQ(features, 725u);
  ASSERT_EQ(transfer["skipped"].size(), 2u);
  for (const auto& s : transfer["skipped"]) EXPECT_EQ(s["source"].get<std::string>().rfind("classifier.", 0), 0u);
  // The finetuned model carries its own manifest.
  const json manifest = json::parse(testkit::read_text(run + "/model.manifest.json"));
  EXPECT_EQ(manifest["architecture"], "densenet121_classifier");
  EXPECT_EQ(manifest["initial_weights"]["file"], dir.file("dn.pt"));
  EXPECT_TRUE(manifest["final_metrics"].contains("test_final"));
}

TEST(CliWeights, FinetuneUsesThePretrainManifestsPreprocessingAndNamesEveryDifference) {
  testkit::TempDir dir("medssl-cli-contract");
  const std::string ds = dir.file("ct");
  auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 6 --unlabelled 2 --size 32 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string tiny = " --set data_dir=" + shell_quote(ds) +
                           " --set data_dim=32 --set enc_filters=4 --set num_layers=2 --set workers=0 --threads 2";
  const std::string pre = dir.file("pre");
  r = run_cli("pretrain --out " + shell_quote(pre) + " --set algorithm=rotation --set batch_size=4 --set epochs=1 " +
              shell_quote("--set=prepare.spacing=[2.5,2.5,2.5]") + tiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json manifest = json::parse(testkit::read_text(pre + "/encoder.manifest.json"));
  EXPECT_EQ(manifest["format"], "medssl-weights-manifest");
  EXPECT_EQ(manifest["architecture"], "unet_encoder");
  EXPECT_EQ(manifest["in_channels"], 1);
  EXPECT_EQ(manifest["patch_size"], json({32, 32, 32}));
  EXPECT_EQ(manifest["target_spacing"], json({2.5, 2.5, 2.5}));
  EXPECT_EQ(manifest["axis_convention"], "RAS+, C-D-H-W");
  EXPECT_EQ(manifest["pretext"]["method"], "rotation");
  EXPECT_EQ(manifest["training_data"]["cases"], 8);
  EXPECT_TRUE(manifest["seed"].is_number());
  EXPECT_TRUE(manifest["medssl"].contains("commit"));
  EXPECT_TRUE(manifest["libtorch"].is_string());
  EXPECT_TRUE(manifest["final_metrics"].contains("best_metric"));
  r = run_cli("weights inspect " + shell_quote(pre + "/encoder.pt") + " --json -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["manifest_source"], "embedded");

  // A second pretraining starts from the first one's encoder: all of it loads, the task head starts fresh.
  r = run_cli("pretrain --out " + shell_quote(dir.file("again")) + " --init-weights " + shell_quote(pre + "/encoder.pt") +
              " --set algorithm=rotation --set batch_size=4 --set epochs=1 --set data_dir=" + shell_quote(pre + "/cache") +
              " --set data_dim=32 --set enc_filters=4 --set num_layers=2 --set workers=0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json again = json::parse(testkit::read_text(dir.file("again") + "/transfer.json"));
  EXPECT_GT(again["counts"]["pretrained_tensors"].get<int>(), 0);
  EXPECT_EQ(again["counts"]["pretrained_loaded"], again["counts"]["pretrained_tensors"]);
  EXPECT_GT(again["counts"]["missing"].get<int>(), 0);  // the rotation head
  for (const auto& m : again["missing"]) EXPECT_NE(m["target"].get<std::string>().rfind("encoder.", 0), 0u) << m;

  // By default the finetune prepares the raw data set with the weights' spacing.
  const std::string finetune = "finetune --pretrained " + shell_quote(pre) + " --set epochs_initialized=1" +
                               " --set epochs_warmup=0 --set batch_size=2 --set loss=dice --set hd95=false" + tiny;
  r = run_cli(finetune + " --out " + shell_quote(dir.file("same")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("prepare.spacing = [2.5,2.5,2.5] from the weights' manifest"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("matches the weights' preprocessing contract"), std::string::npos) << r.output;
  const json cache = json::parse(testkit::read_text(dir.file("same") + "/cache/cache.json"));
  EXPECT_EQ(cache["preprocessing"]["spacing"], json({2.5, 2.5, 2.5}));
  EXPECT_TRUE(json::parse(testkit::read_text(dir.file("same") + "/transfer.json"))["contract_differences"].empty());

  // Another spacing: said, with both values; the run goes on.
  const std::string other = " " + shell_quote("--set=prepare.spacing=[4,4,4]");
  r = run_cli(finetune + other + " --out " + shell_quote(dir.file("other")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("target_spacing: the weights' [2.5,2.5,2.5] mm (D, H, W), this run's [4,4,4] mm"),
            std::string::npos) << r.output;
  const json transfer = json::parse(testkit::read_text(dir.file("other") + "/transfer.json"));
  ASSERT_EQ(transfer["contract_differences"].size(), 1u);
  EXPECT_EQ(transfer["contract_differences"][0]["key"], "target_spacing");

  // --strict-contract: an error before anything is prepared.
  r = run_cli(finetune + other + " --strict-contract --out " + shell_quote(dir.file("strict")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--strict-contract"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("target_spacing: the weights' [2.5,2.5,2.5]"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("strict") + "/cache"));
}
