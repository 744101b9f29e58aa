// End-to-end: `medssl probe` on a tiny rotation pretraining and on the same encoder randomly initialised.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;

namespace {

void expect_sane_probe(const std::string& out) {
  ASSERT_TRUE(fs::exists(out + "/probe.json")) << out;
  const auto j = nlohmann::json::parse(testkit::read_text(out + "/probe.json"));
  const double acc = j["test_accuracy"].get<double>(), balanced = j["test_balanced_accuracy"].get<double>();
  const double majority = j["majority_rate"].get<double>();
  EXPECT_GE(acc, 0.0);
  EXPECT_LE(acc, 1.0);
  EXPECT_GE(balanced, 0.0);
  EXPECT_LE(balanced, 1.0);
  EXPECT_GT(majority, 0.0);
  // Crop centres on the phantoms (air / body / organ / lesion intensities differ) are easy to tell apart even from
  // random features; what must not happen is a probe worse than answering the majority class.
  EXPECT_GE(acc, majority - 0.05) << j.dump(2);
  EXPECT_GT(balanced, 1.0 / 3.0) << j.dump(2);
  EXPECT_EQ(j["classes"].size(), 3u);
  EXPECT_EQ(j["train_crops"].get<int>() + j["test_crops"].get<int>(), 120);
  // Split by case: no case on both sides.
  for (const auto& id : j["test_cases"])
    EXPECT_EQ(std::find(j["train_cases"].begin(), j["train_cases"].end(), id), j["train_cases"].end()) << id;
}

}  // namespace

TEST(CliProbe, PretrainedAndRandomEncodersWriteProbeJsonAndBadRunsFail) {
  testkit::TempDir dir;
  const auto ds = dir.file("ct"), run = dir.file("run");
  auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 8 --size 32 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("pretrain --out " + shell_quote(run) + " --set algorithm=rotation --set batch_size=4 --set data_dir=" +
              shell_quote(ds) + " --set data_dim=32 --set enc_filters=4 --set lr=0.001 --set workers=2 --set epochs=1"
              " --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::string common = " --dataset " + shell_quote(ds) + " --crops 120 --threads 2";
  r = run_cli("probe --pretrained " + shell_quote(run) + " --out " + shell_quote(dir.file("p_run")) + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("test balanced accuracy"), std::string::npos) << r.output;
  expect_sane_probe(dir.file("p_run"));
  const auto pretrained = nlohmann::json::parse(testkit::read_text(dir.file("p_run") + "/probe.json"));
  EXPECT_EQ(pretrained["encoder_file"], run + "/encoder.pt");

  r = run_cli("probe --pretrained none --config " + shell_quote(run + "/config.json") + " --out " +
              shell_quote(dir.file("p_none")) + " --cache " + shell_quote(dir.file("p_run") + "/cache") + common);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_sane_probe(dir.file("p_none"));
  const auto random = nlohmann::json::parse(testkit::read_text(dir.file("p_none") + "/probe.json"));
  EXPECT_EQ(random["encoder_file"], "");
  // Same seed, same data: the same crops and split, so the two probes differ only in the encoder's weights.
  EXPECT_EQ(random["test_cases"], pretrained["test_cases"]);
  EXPECT_EQ(random["test"]["counts"], pretrained["test"]["counts"]);

  r = run_cli("probe --pretrained " + shell_quote(dir.file("missing")) + " --out " + shell_quote(dir.file("p_bad")) +
              common);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--pretrained"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
  r = run_cli("probe --pretrained " + shell_quote(ds) + " --out " + shell_quote(dir.file("p_bad")) + common);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no encoder.pt"), std::string::npos) << r.output;
  r = run_cli("probe --pretrained none --out " + shell_quote(dir.file("p_bad")) + common);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--config"), std::string::npos) << r.output;
}
