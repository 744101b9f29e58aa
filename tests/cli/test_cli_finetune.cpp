// End-to-end: `medssl pretrain` -> `medssl finetune` -> `medssl evaluate` on a tiny synthetic CT, and bad inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string synth_ct(const testkit::TempDir& dir) { return testkit::synth_ct(dir, 6, 2, 32, 5); }

std::string tiny(const std::string& data) {
  return " --set data_dir=" + shell_quote(data) +
         " --set data_dim=32 --set enc_filters=4 --set num_layers=2 --set workers=1 --threads 2";
}

}  // namespace

TEST(CliFinetune, PretrainThenFinetuneInitializedThenEvaluateReproducesTheTestScores) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto pre = dir.file("pre");
  auto r = run_cli("pretrain --out " + shell_quote(pre) + " --set algorithm=rotation --set batch_size=4 --set epochs=1" +
                   tiny(ds));
  ASSERT_EQ(r.exit_code, 0) << r.output;

  auto run = dir.file("ft");
  r = run_cli("finetune --pretrained " + shell_quote(pre) + " --fraction 50 --repetition 1 --out " + shell_quote(run) +
              " --set epochs_initialized=2 --set epochs_warmup=1 --set batch_size=2 --set loss=dice --set hd95=false" +
              tiny(pre + "/cache"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto summary = json::parse(testkit::read_text(run + "/finetune.json"));
  EXPECT_EQ(summary["mode"], "initialized");
  EXPECT_EQ(summary["fraction"].get<double>(), 50.0);
  EXPECT_EQ(summary["repetition"].get<int>(), 1);
  EXPECT_EQ(summary["n_train"].get<int>(), 2);  // 6 cases: 1 test, 1 val, 4 in the pool, 50 % of them
  EXPECT_NE(summary["pretrained_encoder"].get<std::string>().find("encoder"), std::string::npos);
  EXPECT_TRUE(summary["learning_curve_mean"].contains("value"));
  EXPECT_NE(testkit::read_text(run + "/metrics.csv").find("val_dice"), std::string::npos);

  auto out = dir.file("eval.json");
  r = run_cli("evaluate --model " + shell_quote(run) + " --dataset " + shell_quote(pre + "/cache") + " --out " +
              shell_quote(out) + " --no-hd95");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("mean_dice"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir.file("eval.csv")));
  auto result = json::parse(testkit::read_text(out));
  for (auto key : {"mean_dice", "mean_dice_with_background", "reference_dice"})
    EXPECT_NEAR(result["summary"][key].get<double>(), summary["test_final"]["summary"][key].get<double>(), 1e-9) << key;

  // The raw data set is prepared again with the model's preprocessing and gives the same numbers.
  r = run_cli("evaluate --model " + shell_quote(run) + " --dataset " + shell_quote(ds) + " --out " +
              shell_quote(dir.file("eval_raw.json")) + " --no-hd95");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto raw = json::parse(testkit::read_text(dir.file("eval_raw.json")));
  EXPECT_NEAR(raw["summary"]["mean_dice_with_background"].get<double>(),
              result["summary"]["mean_dice_with_background"].get<double>(), 1e-6);
}

TEST(CliFinetune, BadInputsGiveClearErrors) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto base = "finetune --out " + shell_quote(dir.file("ft")) + tiny(ds);
  auto r = run_cli(base + " --pretrained " + shell_quote(dir.file("missing")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no such directory"), std::string::npos) << r.output;
  r = run_cli(base + " --pretrained none --fraction 150");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--fraction 150"), std::string::npos) << r.output;
  r = run_cli(base + " --pretrained none --set epochs_randon=3");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("epochs_randon"), std::string::npos) << r.output;
  r = run_cli(base);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--pretrained"), std::string::npos) << r.output;
}
