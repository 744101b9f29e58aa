// Finetuning MONAI's transformers end to end on tiny synthetic data: SwinUNETR (2D slices) from a Swin pretraining
// (strict load into swinViT, frozen warm-up of swinViT) and from scratch, UNETR (3D) from a ViTAutoEnc pretraining
// (the tutorial's matching-names transfer), and clear errors for encoders that do not fit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "medssl/config/config.h"
#include "medssl/core/atomic_file.h"
#include "medssl/data/synth/synth.h"
#include "medssl/finetune/finetune.h"
#include "medssl/finetune/finetune_schema.h"
#include "medssl/models/registry.h"
#include "medssl/models/vit_autoenc.h"
#include "medssl/weights/state_dict_io.h"
#include "testkit/testkit.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace medssl;

namespace {

std::string synth_ct(const testkit::TempDir& dir, int cases) {
  synth::Ct3dOptions o;
  o.out = dir.file("ct");
  o.cases = cases;
  o.size = 32;
  o.seed = 5;
  synth::write_ct3d(o);
  return o.out;
}

config::Config transformer_config(const std::string& data_dir, json extra) {
  json c = {{"data_dir", data_dir}, {"data_dim", 32},     {"patch_size", 32},     {"batch_size", 4},
            {"lr", 1e-3},           {"optimizer", "adamw"}, {"weight_decay", 1e-5}, {"loss", "dice_ce"},
            {"workers", 1},         {"hd95", false},      {"prepare", {{"crop_foreground", 0.05}}}};
  for (const auto& [k, v] : extra.items()) c[k] = v;
  return config::validate(c, finetune::finetune_schema(), "test config");
}

// A stand-in for a `medssl pretrain` run folder: encoder.pt ("encoder.*") plus the checkpoints/last.json manifest.
std::string fake_pretrain_run(const testkit::TempDir& dir, const std::string& encoder, int dims, const json& options,
                              const weights::StateDict& encoder_state) {
  const std::string run = dir.file("pretrain-" + encoder);
  make_dirs(run + "/checkpoints");
  weights::save_tensors(weights::add_prefix(encoder_state, "encoder."), run + "/encoder.pt");
  json manifest = {{"kind", "pretrain"}, {"spatial_dims", dims}, {"in_channels", 1}, {"data_dim", 32},
                   {"encoder", encoder}, {"encoder_options", options}};
  write_file_atomic(run + "/checkpoints/last.json", manifest.dump());
  return run;
}

std::string swin_pretrain_run(const testkit::TempDir& dir, int64_t feature_size) {
  json options = {{"feature_size", feature_size}, {"num_heads", {1, 2, 2, 4}}, {"drop_path_rate", 0.1}};
  json build = options;
  build["spatial_dims"] = 2;
  build["in_channels"] = 1;
  auto encoder = models::build_model("swin_encoder", build);
  return fake_pretrain_run(dir, "swin_encoder", 2, options, weights::state_dict(*encoder.module));
}

std::vector<double> column(const std::string& run, const std::string& name) {
  std::vector<double> values;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json row = json::parse(line);
    if (row.contains(name) && row.at(name).is_number()) values.push_back(row.at(name).get<double>());
  }
  return values;
}

std::map<std::string, torch::Tensor> snapshot(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [k, v] : weights::state_dict(module)) out[k] = v.clone();
  return out;
}

void expect_learned(const json& summary, const std::string& run) {
  const auto loss = column(run, "train_loss");
  ASSERT_GE(loss.size(), 2u) << "metrics.jsonl of " << run;
  EXPECT_LT(loss.back(), loss.front()) << "training loss did not fall";
  // An empty (all-background) prediction scores 0 foreground Dice, an all-foreground one about 0.01 (the pancreas is
  // 50-75 voxels of a 32^3 phantom). These tiny models reach 0.1-0.2 in 100-200 steps on phantoms whose pancreas
  // moves by up to a quarter of the volume between cases, so 0.05 marks "found the organ", not a quality bar.
  EXPECT_GT(summary["best_val_metric"].get<double>(), 0.05) << summary.dump(1);
  EXPECT_GT(summary["test_score_final"].get<double>(), 0.05) << summary["test_final"].dump(1);
}

}  // namespace

TEST(FinetuneTransformers, SwinUnetr2DFromASwinPretrainingLoadsStrictlyFreezesThenLearns) {
  testkit::TempDir dir;
  const std::string pretrained = swin_pretrain_run(dir, 12);
  auto file = weights::load_state_dict_file(pretrained + "/encoder.pt");
  finetune::FinetuneRequest request;
  request.config = transformer_config(
      synth_ct(dir, 12), {{"data_is_3D", false}, {"prediction_architecture", "swinunetr"}, {"batch_size", 8},
                         {"lr", 5e-3}, {"loss", "dice"}, {"epochs_initialized", 20}, {"epochs_warmup", 1},
                         {"steps_per_epoch", 10}});
  request.pretrained = pretrained;
  request.out_dir = dir.file("run");
  std::vector<std::map<std::string, torch::Tensor>> at_start;
  request.on_epoch_start = [&](int64_t, const finetune::FinetuneModel& m) {
    EXPECT_EQ(m.encoder_prefix(), "swinViT");
    at_start.push_back(snapshot(m.encoder()));
  };
  auto summary = finetune::run_finetuning(request);
  ASSERT_EQ(at_start.size(), 20u);
  ASSERT_EQ(at_start[0].size(), file.size());
  for (const auto& [k, v] : at_start[0]) {
    ASSERT_TRUE(file.count("encoder." + k)) << k;
    EXPECT_TRUE(torch::equal(v, file.at("encoder." + k))) << k;  // strict load of every Swin tensor
  }
  for (const auto& [k, v] : at_start[0]) EXPECT_TRUE(torch::equal(v, at_start[1].at(k))) << "warm-up changed " << k;
  json model = json::parse(testkit::read_text(request.out_dir + "/model.json"));
  EXPECT_EQ(model["model"]["architecture"], "swinunetr");
  EXPECT_EQ(model["model"]["encoder_options"]["feature_size"], 12);
  EXPECT_FALSE(model["model"]["encoder_options"].contains("drop_path_rate"));  // SSL stochastic depth not inherited
  expect_learned(summary, request.out_dir);
}

TEST(FinetuneTransformers, SwinUnetr2DFromScratchLearns) {
  testkit::TempDir dir;
  finetune::FinetuneRequest request;
  request.config = transformer_config(synth_ct(dir, 12), {{"data_is_3D", false},
                                                         {"prediction_architecture", "swinunetr"},
                                                         {"feature_size", 12},
                                                         {"batch_size", 8},
                                                         {"lr", 5e-3},
                                                         {"loss", "dice"},
                                                         {"epochs_random", 20},
                                                         {"steps_per_epoch", 10}});
  request.pretrained = "none";
  request.out_dir = dir.file("run");
  expect_learned(finetune::run_finetuning(request), request.out_dir);
}

TEST(FinetuneTransformers, AMismatchingSwinEncoderIsAnErrorNamingTheKeys) {
  testkit::TempDir dir;
  finetune::FinetuneRequest request;
  request.config = transformer_config(synth_ct(dir, 4), {{"data_is_3D", false},
                                                         {"prediction_architecture", "swinunetr"},
                                                         {"feature_size", 24},  // the pretraining used 12
                                                         {"epochs_initialized", 1},
                                                         {"epochs_warmup", 0}});
  request.pretrained = swin_pretrain_run(dir, 12);
  request.out_dir = dir.file("run");
  const auto error = testkit::error_of([&] { finetune::run_finetuning(request); });
  EXPECT_NE(error.find("encoder.pt"), std::string::npos) << error;
  EXPECT_NE(error.find("attn.qkv.weight: file [36, 12] vs model [72, 24]"), std::string::npos) << error;
  EXPECT_NE(error.find("feature_size"), std::string::npos) << error;

  request.config = transformer_config(request.config.get<std::string>("data_dir"),
                                      {{"data_is_3D", false}, {"prediction_architecture", "unetr"},
                                       {"epochs_initialized", 1}, {"epochs_warmup", 0}});
  EXPECT_NE(testkit::error_of([&] { finetune::run_finetuning(request); }).find("needs a ViT pretraining"),
            std::string::npos);
}

TEST(FinetuneTransformers, Unetr3DFromAViTAutoEncCopiesMatchingNamesAndLearns) {
  testkit::TempDir dir;
  const json vit_options = {{"hidden_size", 48}, {"mlp_dim", 96}, {"num_heads", 4}, {"num_layers", 12},
                            {"patch_size", 16}};
  models::ViTAutoEnc autoenc(models::ViTAutoEncOptions(1, {32}, {16}).hidden_size(48).mlp_dim(96).num_heads(4));
  const auto autoenc_state = weights::state_dict(*autoenc);
  const std::string pretrained = fake_pretrain_run(dir, "vit_autoenc", 3, vit_options, autoenc_state);
  finetune::FinetuneRequest request;
  request.config = transformer_config(synth_ct(dir, 12), {{"prediction_architecture", "unetr"},
                                                         {"feature_size", 8},
                                                         {"batch_size", 1},
                                                         {"lr", 1e-2},
                                                         {"loss", "dice"},
                                                         {"epochs_initialized", 12},
                                                         {"steps_per_epoch", 6},
                                                         {"epochs_warmup", 0}});
  request.pretrained = pretrained;
  request.out_dir = dir.file("run");
  std::map<std::string, torch::Tensor> vit_at_start;
  request.on_epoch_start = [&](int64_t epoch, const finetune::FinetuneModel& m) {
    if (epoch == 0) vit_at_start = snapshot(m.encoder());
  };
  auto summary = finetune::run_finetuning(request);
  size_t copied = 0;
  for (const auto& [k, v] : autoenc_state) {
    if (!vit_at_start.count(k)) {
      EXPECT_EQ(k.rfind("conv3d_transpose", 0), 0u) << k << " was not copied";  // ViTAutoEnc's own decoder
      continue;
    }
    EXPECT_TRUE(torch::equal(vit_at_start.at(k), v)) << k;
    ++copied;
  }
  EXPECT_EQ(copied, vit_at_start.size());  // every ViT tensor came from the pretraining
  expect_learned(summary, request.out_dir);
}

TEST(FinetuneTransformers, AMismatchingViTIsAnErrorNamingTheKeys) {
  testkit::TempDir dir;
  models::ViTAutoEnc autoenc(models::ViTAutoEncOptions(1, {32}, {16}).hidden_size(24).mlp_dim(48).num_heads(4));
  // The manifest claims hidden 48, the file holds hidden 24.
  const std::string pretrained = fake_pretrain_run(dir, "vit_autoenc", 3, {{"hidden_size", 48}, {"mlp_dim", 96}, {"num_heads", 4}},
                                                   weights::state_dict(*autoenc));
  finetune::FinetuneRequest request;
  request.config = transformer_config(synth_ct(dir, 4), {{"prediction_architecture", "unetr"}, {"feature_size", 8},
                                                         {"epochs_initialized", 1}, {"epochs_warmup", 0}});
  request.pretrained = pretrained;
  request.out_dir = dir.file("run");
  const auto error = testkit::error_of([&] { finetune::run_finetuning(request); });
  EXPECT_NE(error.find("encoder.pt"), std::string::npos) << error;
  EXPECT_NE(error.find("patch_embedding.position_embeddings: file [1, 8, 24] vs model [1, 8, 48]"), std::string::npos)
      << error;
}

TEST(FinetuneTransformers, ShippedTransformerConfigsValidate) {
  for (const std::string name : {"swinunetr_flare2d", "unetr_btcv3d"}) {
    const std::string path = std::string(MEDSSL_SOURCE_DIR) + "/configs/finetune/" + name + ".json";
    auto c = config::validate(config::read_json_file(path), finetune::finetune_schema(), path);
    EXPECT_EQ(c.get<std::string>("prediction_architecture"), name.substr(0, name.find('_'))) << path;
    EXPECT_EQ(c.get<std::string>("optimizer"), "adamw") << path;
    EXPECT_EQ(c.get<std::string>("loss"), "dice_ce") << path;
    EXPECT_EQ(c.get<int64_t>("patch_size"), 96) << path;
  }
}
