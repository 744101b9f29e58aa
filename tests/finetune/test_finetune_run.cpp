// One finetuning run end to end on tiny synthetic data: learning from scratch, strict pretrained-encoder loading,
// the frozen warm-up, evaluate reproducing the run's test numbers, classification with qw kappa.
#include <gtest/gtest.h>

#include <filesystem>

#include "medssl/config/config.h"
#include "medssl/core/atomic_file.h"
#include "medssl/data/synth/synth.h"
#include "medssl/finetune/evaluate_run.h"
#include "medssl/finetune/finetune.h"
#include "medssl/finetune/finetune_schema.h"
#include "medssl/models/registry.h"
#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/torch_save_format.h"
#include "testkit/testkit.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace medssl;

namespace {

std::string synth_ct(const testkit::TempDir& dir, int cases = 8) {
  synth::Ct3dOptions o;
  o.out = dir.file("ct");
  o.cases = cases;
  o.size = 32;
  o.seed = 5;
  synth::write_ct3d(o);
  return o.out;
}

// Tiny and fast: a shallow instance-norm UNet, whole 32^3 volumes.
config::Config tiny_config(const std::string& data_dir, json extra = json::object()) {
  json c = {{"data_dir", data_dir}, {"data_dim", 32},   {"enc_filters", 4},  {"num_layers", 2},
            {"encoder_variant", "modern"}, {"batch_size", 2}, {"lr", 0.02}, {"loss", "dice"},
            {"workers", 1},        {"hd95", false},     {"prepare", {{"crop_foreground", 0.05}}}};
  for (const auto& [k, v] : extra.items()) c[k] = v;
  return config::validate(c, finetune::finetune_schema(), "test config");
}

// A stand-in for a `medssl pretrain` run folder: encoder.pt ("encoder.*") plus the checkpoints/last.json manifest.
std::string fake_pretrain_run(const testkit::TempDir& dir, int64_t enc_filters) {
  const std::string run = dir.file("pretrain");
  make_dirs(run + "/checkpoints");
  json options = {{"enc_filters", enc_filters}, {"num_layers", 2}, {"variant", "modern"}, {"dropout", 0.5},
                  {"pooling", "max"}};
  json build = options;
  build["spatial_dims"] = 3;
  build["in_channels"] = 1;
  auto encoder = models::build_model("unet_encoder", build);
  weights::write_torch_save(weights::add_prefix(weights::state_dict(*encoder.module), "encoder."), run + "/encoder.pt");
  json manifest = {{"kind", "pretrain"}, {"spatial_dims", 3}, {"in_channels", 1}, {"data_dim", 32},
                   {"encoder", "unet_encoder"}, {"encoder_options", options}};
  write_file_atomic(run + "/checkpoints/last.json", manifest.dump());
  return run;
}

std::map<std::string, torch::Tensor> encoder_state(const finetune::FinetuneModel& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [k, v] : weights::state_dict(model.encoder())) out[k] = v.clone();
  return out;
}

bool same_state(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [k, v] : a)
    if (!b.count(k) || !torch::equal(v, b.at(k))) return false;
  return true;
}

}  // namespace

TEST(FinetuneRun, FromScratchOnSyntheticCtLearnsForegroundAndEvaluateReproducesTheTestScores) {
  testkit::TempDir dir;
  finetune::FinetuneRequest request;
  // From-scratch 3D segmentation of 6 tiny cases is seed-sensitive (measured: config seeds 0 and 2 reach test Dice
  // 0.31 / 0.14, seed 1 stays at 0 within 15 epochs), so this test pins the seed; the run is deterministic for it.
  request.config = tiny_config(synth_ct(dir), {{"epochs_random", 15}, {"enc_filters", 8}, {"num_layers", 3},
                                               {"dropout", 0.0}, {"lr", 0.01}, {"seed", 0}});
  request.pretrained = "none";
  request.out_dir = dir.file("run");
  auto summary = finetune::run_finetuning(request);
  EXPECT_EQ(summary["mode"], "random");
  EXPECT_EQ(summary["n_test"].get<int>(), 1);
  EXPECT_EQ(summary["n_val"].get<int>(), 1);
  EXPECT_EQ(summary["n_train"].get<int>(), 6);
  for (auto f : {"model.pt", "model.json", "finetune.json", "metrics.csv", "checkpoints/last.pt"})
    EXPECT_TRUE(fs::exists(request.out_dir + "/" + f)) << f;
  // An empty prediction scores 0 foreground Dice; the run must be clearly above that on validation and test.
  EXPECT_GT(summary["best_val_metric"].get<double>(), 0.02) << summary.dump(1);
  EXPECT_GT(summary["test_score_final"].get<double>(), 0.02) << summary["test_final"].dump(1);
  EXPECT_TRUE(summary["learning_curve_mean"]["value"].is_number());
  EXPECT_EQ(summary["learning_curve_mean"]["epochs"].get<int>(), 15);

  finetune::EvaluateRequest evaluate;
  evaluate.model_dir = request.out_dir;
  evaluate.dataset = request.out_dir + "/cache";
  evaluate.hd95 = false;
  auto result = finetune::run_evaluation(evaluate);
  EXPECT_NEAR(result["summary"]["mean_dice"].get<double>(),
              summary["test_final"]["summary"]["mean_dice"].get<double>(), 1e-9);
  EXPECT_NEAR(result["summary"]["reference_dice"].get<double>(),
              summary["test_final"]["summary"]["reference_dice"].get<double>(), 1e-9);
}

TEST(FinetuneRun, FrozenWarmupKeepsThePretrainedEncoderThenTrainsIt) {
  testkit::TempDir dir;
  const std::string pretrained = fake_pretrain_run(dir, 4);
  auto loaded = weights::load_state_dict_file(pretrained + "/encoder.pt");
  finetune::FinetuneRequest request;
  request.config = tiny_config(synth_ct(dir, 6), {{"epochs_initialized", 3}, {"epochs_warmup", 2}});
  request.config.raw().erase("enc_filters");  // taken from the pretrain manifest
  request.config.raw().erase("num_layers");
  request.config.raw().erase("encoder_variant");
  request.pretrained = pretrained;
  request.out_dir = dir.file("run");
  std::vector<std::map<std::string, torch::Tensor>> at_epoch_start;
  request.on_epoch_start = [&](int64_t, const finetune::FinetuneModel& m) { at_epoch_start.push_back(encoder_state(m)); };
  auto summary = finetune::run_finetuning(request);
  EXPECT_EQ(summary["mode"], "initialized");
  ASSERT_EQ(at_epoch_start.size(), 3u);
  // The pretrained weights were loaded ...
  for (const auto& [k, v] : at_epoch_start[0]) {
    ASSERT_TRUE(loaded.count("encoder." + k)) << k;
    EXPECT_TRUE(torch::equal(v, loaded.at("encoder." + k))) << k;
  }
  // ... left unchanged (parameters and BatchNorm/InstanceNorm statistics) by the two warm-up epochs ...
  EXPECT_TRUE(same_state(at_epoch_start[0], at_epoch_start[1]));
  EXPECT_TRUE(same_state(at_epoch_start[0], at_epoch_start[2]));
  // ... and trained in the last epoch.
  auto final_weights = weights::load_state_dict_file(request.out_dir + "/model.pt");
  bool changed = false;
  for (const auto& [k, v] : at_epoch_start[0]) changed = changed || !torch::equal(v, final_weights.at("encoder." + k));
  EXPECT_TRUE(changed);
}

TEST(FinetuneRun, AMismatchingPretrainedEncoderIsAClearError) {
  testkit::TempDir dir;
  const std::string pretrained = fake_pretrain_run(dir, 4);
  finetune::FinetuneRequest request;
  request.config = tiny_config(synth_ct(dir, 6), {{"enc_filters", 8}, {"epochs_initialized", 2}, {"epochs_warmup", 1}});
  request.pretrained = pretrained;
  request.out_dir = dir.file("run");
  auto error = testkit::error_of([&] { finetune::run_finetuning(request); });
  EXPECT_NE(error.find("encoder.pt"), std::string::npos) << error;
  EXPECT_NE(error.find("enc_filters"), std::string::npos) << error;
  EXPECT_NE(error.find("weight"), std::string::npos) << error;  // names a mis-shaped key

  request.pretrained = dir.file("no-such-run");
  EXPECT_NE(testkit::error_of([&] { finetune::run_finetuning(request); }).find("no such directory"), std::string::npos);
  request.pretrained = "none";
  request.mode = "frozen";
  EXPECT_NE(testkit::error_of([&] { finetune::run_finetuning(request); }).find("needs a pretrained encoder"),
            std::string::npos);
}

TEST(FinetuneRun, ClassificationOnSyntheticFundusReportsQuadraticKappa) {
  testkit::TempDir dir;
  synth::FundusOptions f;
  f.out = dir.file("fundus");
  f.images = 12;
  f.size = 48;
  f.seed = 3;
  synth::write_fundus(f);
  finetune::FinetuneRequest request;
  request.config = tiny_config(f.out, {{"loss", "ce"}, {"epochs_random", 2}, {"batch_size", 4}, {"lr", 0.001}});
  request.pretrained = "none";
  request.out_dir = dir.file("run");
  auto summary = finetune::run_finetuning(request);
  EXPECT_EQ(summary["task"], "classification");
  EXPECT_EQ(summary["validation_metric"], "val_qw_kappa");
  const auto& s = summary["test_final"]["summary"];
  EXPECT_TRUE(s.contains("qw_kappa"));
  EXPECT_GE(s["accuracy"].get<double>(), 0.0);
  EXPECT_EQ(s["confusion_matrix"].size(), 5u);
  json model = json::parse(testkit::read_text(request.out_dir + "/model.json"));
  EXPECT_EQ(model["model"]["architecture"], "unet_encoder_classifier");
  // pooling unset: the UNet encoder's own max pooling (not the reference's null = none).
  EXPECT_EQ(model["model"]["encoder_options"]["pooling"], "max") << model.dump(1);
}
