// End-to-end: `medssl pretrain` with the shipped SimSiam / SimCLR IoU configs (tiny settings) on synthetic CT, and
// the encoder finetuning from it; bad interval keys are named.
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

std::string synth_ct(const testkit::TempDir& dir) { return testkit::synth_ct(dir, 6, 4, 32, 9); }

std::string tiny_contrastive(const std::string& ds) {
  return " --set data_dir=" + shell_quote(ds) + " --set data_dim=32 --set crop_size=16 --set enc_filters=4" +
         " --set num_layers=2 --set projection_dim=32 --set projection_hidden_dim=32 --set batch_size=4" +
         " --set workers=1 --set epochs=2 --threads 2";
}

}  // namespace

TEST(CliContrastive, SimSiam3DPretrainsFromTheShippedConfigAndItsEncoderFinetunes) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto run = dir.file("simsiam");
  auto r = run_cli("pretrain --config " + std::string(MEDSSL_SOURCE_DIR) + "/configs/pretrain/simsiam_iou_3d.json --out " +
                   shell_quote(run) + tiny_contrastive(ds) + " --set prediction_hidden_dim=8 --set iou_sampler=reference");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto summary = json::parse(testkit::read_text(run + "/pretrain.json"));
  EXPECT_EQ(summary["algorithm"], "simsiam");
  EXPECT_TRUE(summary["last_epoch"].contains("train_collapse")) << summary.dump();
  EXPECT_TRUE(summary["last_epoch"].contains("train_pair_fallback")) << summary.dump();
  EXPECT_TRUE(fs::exists(run + "/encoder.pt"));

  auto ft = dir.file("ft");
  r = run_cli("finetune --pretrained " + shell_quote(run) + " --fraction 100 --out " + shell_quote(ft) +
              " --set data_dir=" + shell_quote(run + "/cache") + " --set data_dim=32 --set enc_filters=4" +
              " --set num_layers=2 --set encoder_variant=modern --set dropout=0 --set epochs_initialized=1" +
              " --set epochs_warmup=0 --set batch_size=2 --set loss=dice --set hd95=false --set workers=1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto ft_summary = json::parse(testkit::read_text(ft + "/finetune.json"));
  EXPECT_EQ(ft_summary["mode"], "initialized");
}

TEST(CliContrastive, SimClr2DRunsAndBadIntervalsAreNamed) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto run = dir.file("simclr");
  auto base = "pretrain --config " + std::string(MEDSSL_SOURCE_DIR) + "/configs/pretrain/simclr_iou_2d.json" +
              tiny_contrastive(ds) + " --set encoder_architecture=unet_encoder --set min_foreground=0.05 --set 'prepare={}'";
  auto r = run_cli(base + " --out " + shell_quote(run));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto summary = json::parse(testkit::read_text(run + "/pretrain.json"));
  EXPECT_EQ(summary["algorithm"], "simclr");
  EXPECT_TRUE(summary["last_epoch"].contains("val_acc")) << summary.dump();

  r = run_cli(base + " --set min_iou=0.7 --set max_iou=0.2 --out " + shell_quote(dir.file("bad")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("min_iou"), std::string::npos) << r.output;
  r = run_cli(base + " --set max_iou=1.5 --out " + shell_quote(dir.file("bad2")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("max_iou"), std::string::npos) << r.output;
}
