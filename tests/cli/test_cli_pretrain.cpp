// End-to-end: `medssl pretrain` on synthetic MSD / APTOS data sets: run files, resume, encoder export, errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;

namespace {

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
  return n;
}

std::string synth_ct(const testkit::TempDir& dir, int cases = 6) {
  auto ds = dir.file("ct");
  auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases " + std::to_string(cases) +
                   " --unlabelled 2 --size 32 --seed 5");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return ds;
}

// Small, fast settings shared by the tests (tiny encoder, two loader threads).
std::string tiny(const std::string& ds, int data_dim = 32) {
  return " --set data_dir=" + shell_quote(ds) + " --set data_dim=" + std::to_string(data_dim) +
         " --set enc_filters=4 --set lr=0.001 --set workers=2 --threads 2";
}

}  // namespace

TEST(CliPretrain, Rotation3DWritesTheRunRefusesToOverwriteAndResumes) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto run = dir.file("run");
  auto args = "pretrain --out " + shell_quote(run) + " --set algorithm=rotation --set batch_size=4" + tiny(ds);
  auto r = run_cli(args + " --set epochs=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto f : {"config.json", "metrics.csv", "metrics.jsonl", "encoder.pt", "pretrain.json", "checkpoints/last.pt",
                 "cache/cache.json"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  EXPECT_EQ(count_lines(run + "/metrics.jsonl"), 1);
  auto summary = nlohmann::json::parse(testkit::read_text(run + "/pretrain.json"));
  EXPECT_EQ(summary["algorithm"], "rotation");
  EXPECT_EQ(summary["train_images"].get<int>() + summary["val_images"].get<int>(), 8);
  EXPECT_TRUE(summary["last_epoch"].contains("val_acc"));

  auto again = run_cli(args + " --set epochs=1");
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;

  auto changed = run_cli(args + " --set epochs=2 --set batch_size=2 --resume");
  EXPECT_NE(changed.exit_code, 0);
  EXPECT_NE(changed.output.find("batch_size"), std::string::npos) << changed.output;

  auto resumed = run_cli(args + " --set epochs=2 --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(count_lines(run + "/metrics.jsonl"), 2);

  if (testkit::python_has("torch")) {
    auto py = testkit::run_python("import torch\nsd = torch.load(" + shell_quote(run + "/encoder.pt") +
                                  ", weights_only=True)\n"
                                  "assert len(sd) > 10 and all(k.startswith('encoder.') for k in sd), list(sd)[:5]\n"
                                  "print('ok', len(sd))\n");
    EXPECT_EQ(py.exit_code, 0) << py.output;
  }
}

TEST(CliPretrain, Jigsaw2DOnSlicesOfVolumesAndExemplarOnFundus) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir, 4);
  auto r = run_cli("pretrain --out " + shell_quote(dir.file("jigsaw")) +
                   " --set algorithm=jigsaw --set data_is_3D=false --set num_layers=2 --set patches_per_side=3"
                   " --set patch_jitter=2 --set num_permutations=10 --set batch_size=16 --set epochs=1"
                   " --set min_foreground=0.05" + tiny(ds));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto summary = nlohmann::json::parse(testkit::read_text(dir.file("jigsaw/pretrain.json")));
  EXPECT_EQ(summary["spatial_dims"], 2);
  EXPECT_GT(summary["train_images"].get<int>(), 20);  // slices, not volumes

  auto fundus = dir.file("fundus");
  ASSERT_EQ(run_cli("synth fundus --out " + shell_quote(fundus) + " --images 8 --size 64 --seed 2").exit_code, 0);
  auto e = run_cli("pretrain --out " + shell_quote(dir.file("exemplar")) +
                   " --set algorithm=exemplar --set code_size=16 --set batch_size=4 --set epochs=1" + tiny(fundus));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  auto es = nlohmann::json::parse(testkit::read_text(dir.file("exemplar/pretrain.json")));
  EXPECT_EQ(es["spatial_dims"], 2);
  EXPECT_TRUE(es["last_epoch"].contains("val_loss"));
}

TEST(CliPretrain, ConfigErrorsNameTheKeyAndSuggest) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir, 3);
  auto out = " --out " + shell_quote(dir.file("run"));
  auto typo = run_cli("pretrain" + out + " --set algorithm=rpl --set patches_per_sid=3" + tiny(ds));
  EXPECT_NE(typo.exit_code, 0);
  EXPECT_NE(typo.output.find("patches_per_sid"), std::string::npos) << typo.output;
  EXPECT_NE(typo.output.find("patches_per_side"), std::string::npos) << typo.output;

  auto task = run_cli("pretrain" + out + " --set algorithm=rotate" + tiny(ds));
  EXPECT_NE(task.exit_code, 0);
  EXPECT_NE(task.output.find("rotation"), std::string::npos) << task.output;

  auto missing = run_cli("pretrain" + out + " --set algorithm=rotation --set data_dir=/no/such/data");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("/no/such/data"), std::string::npos) << missing.output;

  testkit::write_text(dir.file("bad.json"), "{\"algorithm\": \"rotation\",\n \"lr\": }\n");
  auto bad = run_cli("pretrain" + out + " --config " + shell_quote(dir.file("bad.json")));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("bad.json"), std::string::npos) << bad.output;

  // A prepared cache of another side than data_dim: say which and how to fix it.
  ASSERT_EQ(run_cli("prepare --dataset " + shell_quote(ds) + " --out " + shell_quote(dir.file("c48")) + " --size 48")
                .exit_code,
            0);
  auto side = run_cli("pretrain" + out + " --set algorithm=rotation" + tiny(dir.file("c48")));
  EXPECT_NE(side.exit_code, 0);
  EXPECT_NE(side.output.find("data_dim"), std::string::npos) << side.output;

  // exclude_cases: a name that is no case of the data set is an error (a typo must not keep a test case in).
  auto unknown = run_cli("pretrain" + out + " --set algorithm=rotation --set exclude_cases='[\"pancreas_077\"]'" + tiny(ds));
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("exclude_cases"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("pancreas_077"), std::string::npos) << unknown.output;
}

// exclude_cases keeps the named cases out of the pretraining: 3 labelled + 2 unlabelled phantoms minus one.
TEST(CliPretrain, ExcludedCasesAreNotPretrainedOn) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir, 3);
  auto r = run_cli("pretrain --out " + shell_quote(dir.file("run")) + " --set algorithm=rotation --set epochs=1" +
                   " --set batch_size=2 --set exclude_cases='[\"pancreas_003\"]'" + tiny(ds));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 case(s) excluded (exclude_cases): 4 of 5 images remain"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pretrain data: 4 3D images"), std::string::npos) << r.output;
}

TEST(CliPretrain, ShippedConfigsValidate) {
  // Every shipped config passes validation (the run itself is cut short by pointing at a missing data set).
 testkit::TempDir dir;
  for (const auto& entry : fs::directory_iterator(std::string(MEDSSL_SOURCE_DIR) + "/configs/pretrain")) {
    auto r = run_cli("pretrain --out " + shell_quote(dir.file("run")) + " --config " + shell_quote(entry.path().string()) +
                     " --set data_dir=/no/such/data");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("/no/such/data"), std::string::npos) << entry.path() << ": " << r.output;
  }
}
