// End-to-end: `medssl pretrain` with the shipped vit_masked config (a tiny ViTAutoEnc: 12 layers and 16-voxel
// patches as UNETR needs, narrow) on synthetic CT, then `medssl finetune` as UNETR from it, which must copy every ViT
// tensor of the pretraining; bad keys are named.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "medssl/weights/state_dict_io.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string vit_masked_args(const std::string& ds) {
  return "pretrain --config " + std::string(MEDSSL_SOURCE_DIR) + "/configs/pretrain/vit_masked_3d.json --set data_dir=" +
         shell_quote(ds) + " --set data_dim=32 --set crop_size=32 --set 'prepare={}' --set hidden_size=24" +
         " --set num_heads=2 --set mlp_dim=48 --set batch_size=4 --set lr=0.001 --set epochs=6 --set validate_every=1" +
         " --set workers=1 --threads 2";
}

}  // namespace

TEST(CliVitMasked, PretrainsFromTheShippedConfigAndUnetrFinetunesFromIt) {
  testkit::TempDir dir;
  const auto ds = dir.file("ct");
  auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 6 --unlabelled 4 --size 32 --seed 9");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const auto run = dir.file("vit");
  r = run_cli(vit_masked_args(ds) + " --out " + shell_quote(run));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto summary = json::parse(testkit::read_text(run + "/pretrain.json"));
  EXPECT_EQ(summary["algorithm"], "vit_masked");
  EXPECT_EQ(summary["monitor"], "val_l1");
  EXPECT_EQ(summary["samples_per_image"], 2);  // two crops per volume
  for (const auto* key : {"train_l1", "train_contrastive", "val_l1", "val_contrastive"})
    EXPECT_TRUE(summary["last_epoch"].contains(key)) << key << ": " << summary.dump();
  const double first = summary["first_epoch"]["train_loss"], last = summary["last_epoch"]["train_loss"];
  std::cout << "vit_masked CLI train_loss " << first << " -> " << last << ", val_l1 "
            << summary["first_epoch"]["val_l1"] << " -> " << summary["last_epoch"]["val_l1"] << "\n";
  EXPECT_LT(last, first);

  // The manifest describes the ViT so that UNETR can be built to match.
  const auto manifest = json::parse(testkit::read_text(run + "/checkpoints/last.json"));
  EXPECT_EQ(manifest["encoder"], "vit_autoenc");
  EXPECT_EQ(manifest["encoder_options"]["num_layers"], 12);
  EXPECT_EQ(manifest["encoder_options"]["patch_size"], json({16, 16, 16}));
  EXPECT_EQ(manifest["encoder_options"]["hidden_size"], 24);
  EXPECT_EQ(manifest["encoder_options"]["img_size"], json({32, 32, 32}));

  // encoder.pt: MONAI's ViTAutoEnc names under "encoder.".
  const auto weights = weights::load_state_dict_file(run + "/encoder.pt");
  for (const std::string name :
       {"encoder.patch_embedding.position_embeddings", "encoder.patch_embedding.patch_embeddings.weight",
        "encoder.blocks.11.attn.qkv.weight", "encoder.norm.bias", "encoder.conv3d_transpose.weight",
        "encoder.conv3d_transpose_1.weight"})
    EXPECT_TRUE(weights.count(name)) << name;
  EXPECT_EQ(weights.at("encoder.patch_embedding.position_embeddings").sizes(), (std::vector<int64_t>{1, 8, 24}));
  size_t decoder = 0;
  for (const auto& [name, t] : weights) decoder += name.rfind("encoder.conv3d_transpose", 0) == 0;
  EXPECT_EQ(decoder, 4u);

  const auto ft = dir.file("ft");
  r = run_cli("finetune --pretrained " + shell_quote(run) + " --fraction 100 --out " + shell_quote(ft) +
              " --set data_dir=" + shell_quote(run + "/cache") + " --set data_dim=32 --set prediction_architecture=unetr" +
              " --set patch_size=32 --set feature_size=8 --set epochs_initialized=1 --set epochs_warmup=0" +
              " --set batch_size=2 --set loss=dice --set hd95=false --set workers=1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Every ViT tensor of UNETR comes from the pretraining; only ViTAutoEnc's decoder is left out.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(copied (\d+) ViT tensors \((\d+) of the ViT's left)")))
      << r.output;
  EXPECT_EQ(std::stoul(m[1].str()), weights.size() - decoder) << r.output;
  EXPECT_EQ(m[2].str(), "0") << r.output;
  EXPECT_NE(r.output.find("conv3d_transpose_1.weight"), std::string::npos) << r.output;
  EXPECT_EQ(json::parse(testkit::read_text(ft + "/finetune.json"))["mode"], "initialized");
}

TEST(CliVitMasked, BadKeysAreNamed) {
  testkit::TempDir dir;
  const auto ds = dir.file("ct");
  ASSERT_EQ(run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 3 --size 32 --seed 2").exit_code, 0);
  const auto base = vit_masked_args(ds) + " --set cache_dir=" + shell_quote(dir.file("cache"));
  auto r = run_cli(base + " --set vit_patch_size=9 --out " + shell_quote(dir.file("a")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("vit_patch_size"), std::string::npos) << r.output;
  r = run_cli(base + " --set crop_size=24 --out " + shell_quote(dir.file("b")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("multiple of vit_patch_size"), std::string::npos) << r.output;
  r = run_cli(base + " --set encoder_architecture=swin_encoder --out " + shell_quote(dir.file("c")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("encoder_architecture"), std::string::npos) << r.output;
}
