// End-to-end: `medssl study` on a tiny synthetic CT — every output file and its columns, --only subsets, a killed
// and restarted study giving the same results.csv as an uninterrupted one, and config errors naming the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "medssl_test_paths.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A miniature study: baseline + rotation, fractions 50/100 %, one repetition, one epoch each, 24^3 phantoms.
std::string write_study(const testkit::TempDir& dir) {
  const auto ds = dir.file("ct");
  if (!fs::exists(ds)) {
    auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 6 --unlabelled 2 --size 32 --seed 3");
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  const json model = {{"data_dim", 24}, {"enc_filters", 4}, {"num_layers", 2}, {"workers", 1}};
  json pre = model, fin = model;
  pre.update({{"batch_size", 4}, {"epochs", 1}, {"save_checkpoint_every_n_epochs", 0}});
  fin.update({{"epochs_initialized", 2}, {"epochs_warmup", 1}, {"epochs_random", 2}, {"batch_size", 2},
              {"loss", "dice"}, {"hd95", false}});
  const json study = {{"name", "mini"}, {"data_dir", ds}, {"methods", {"baseline", "rotation"}},
                      {"fractions", {50, 100}}, {"repetitions", 1}, {"pretrain_config", pre},
                      {"finetune_config", fin}};
  const auto path = dir.file("study.json");
  std::ofstream(path) << study.dump(2);
  return path;
}

std::string study_cmd(const std::string& config, const std::string& out) {
  return "--threads 1 study --config " + shell_quote(config) + " --out " + shell_quote(out);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST(CliStudy, MiniatureStudyWritesEveryOutputAndResumesToTheSameResults) {
  testkit::TempDir dir;
  const auto config = write_study(dir);
  const auto full = dir.file("full");
  auto r = run_cli(study_cmd(config, full));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("report"), std::string::npos) << r.output;

  // results.csv: header, and per run the test metric, its best-val twin and the learning-curve mean.
  const auto results = lines_of(full + "/results.csv");
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0], "method,fraction,repetition,metric,value");
  EXPECT_EQ(results.size(), 1u + 2 * 2 * 3) << testkit::read_text(full + "/results.csv");
  const std::string text = testkit::read_text(full + "/results.csv");
  for (auto needle : {"baseline,50,0,dice,", "rotation,100,0,dice,", "dice_best_val", "val_dice_curve_mean"})
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  const auto summary = lines_of(full + "/summary.csv");
  ASSERT_FALSE(summary.empty());
  EXPECT_EQ(summary[0], "method,fraction,metric,n,mean,std,min,max");
  EXPECT_EQ(summary.size(), results.size());  // one repetition: one summary row per result row
  const std::string report = testkit::read_text(full + "/report.md");
  EXPECT_NE(report.find("baseline"), std::string::npos);
  EXPECT_NE(report.find("rotation"), std::string::npos);
  EXPECT_TRUE(fs::exists(full + "/pretrain/rotation/encoder.pt"));
  EXPECT_FALSE(fs::exists(full + "/pretrain/baseline"));
  // The test cases are held out of the pretraining as well (both stages read the same data set), and the report
  // says so.
  const json tested = json::parse(testkit::read_text(full + "/finetune/rotation/f50_r0/finetune.json"))["test_cases"];
  ASSERT_EQ(tested, json({"pancreas_006"}));
  EXPECT_EQ(json::parse(testkit::read_text(full + "/pretrain/rotation/config.json"))["exclude_cases"], tested);
  EXPECT_NE(report.find("used neither for pretraining nor for finetuning"), std::string::npos) << report;
  for (auto cell : {"baseline/f50_r0", "baseline/f100_r0", "rotation/f50_r0", "rotation/f100_r0"})
    EXPECT_TRUE(fs::exists(full + "/finetune/" + std::string(cell) + "/finetune.json")) << cell;
  // The plot: a PNG (signature + non-zero IHDR size) and an SVG.
  std::ifstream png(full + "/efficiency.png", std::ios::binary);
  std::string head(24, '\0');
  png.read(head.data(), 24);
  ASSERT_EQ(head.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(head.substr(12, 4), "IHDR");
  EXPECT_GT((static_cast<unsigned char>(head[18]) << 8) | static_cast<unsigned char>(head[19]), 0);
  EXPECT_NE(testkit::read_text(full + "/efficiency.svg").find("<svg"), std::string::npos);

  // A second invocation has nothing left to do and rewrites identical results.
  r = run_cli(study_cmd(config, full));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testkit::read_text(full + "/results.csv"), text);

  // Subset first (--only), then killed in the middle of the rest, then restarted: the same results.csv.
  const auto parts = dir.file("parts");
  r = run_cli(study_cmd(config, parts) + " --only method=baseline,fraction=50");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(lines_of(parts + "/results.csv").size(), 1u + 3);
  EXPECT_NE(r.output.find("not run yet"), std::string::npos) << r.output;
  const std::string kill_after_first_new_cell =
      "bash -c " + shell_quote(std::string(MEDSSL_CLI) + " " + study_cmd(config, parts) + " > " + shell_quote(dir.file("killed.log")) +
                               " 2>&1 & pid=$!; for i in $(seq 1 600); do [ -f " +
                               shell_quote(parts + "/finetune/baseline/f100_r0/finetune.json") +
                               " ] && break; sleep 0.1; done; kill -9 $pid; wait $pid; exit 0");
  ASSERT_EQ(std::system(kill_after_first_new_cell.c_str()), 0);
  EXPECT_FALSE(fs::exists(parts + "/finetune/rotation/f100_r0/finetune.json"));
  r = run_cli(study_cmd(config, parts));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testkit::read_text(parts + "/results.csv"), text);
}

TEST(CliStudy, ConfigErrorsNameTheKey) {
  testkit::TempDir dir;
  const auto config = write_study(dir);
  auto r = run_cli(study_cmd(config, dir.file("a")) + " --set methods='[\"baseline\",\"rotaton\"]'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("rotaton"), std::string::npos) << r.output;
  r = run_cli(study_cmd(config, dir.file("b")) + " --set fractoins=[10]");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("fractoins"), std::string::npos) << r.output;
  r = run_cli(study_cmd(config, dir.file("c")) + " --set finetune.epochs_randon=2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("epochs_randon"), std::string::npos) << r.output;
  r = run_cli(study_cmd(config, dir.file("d")) + " --only method=nosuch");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--only"), std::string::npos) << r.output;
  r = run_cli(study_cmd(config, dir.file("e")) + " --set metrics='[\"dcie\"]'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("dcie"), std::string::npos) << r.output;
}

TEST(CliStudy, DemoRunsTheEmbeddedStudyOnItsOwnPhantoms) {
  testkit::TempDir dir;
  const auto out = dir.file("demo");
  const std::string tiny =
      " --set repetitions=1 --set fractions=[50,100] --set pretrain.epochs=1"
      " --set pretrain.enc_filters=4 --set finetune.data_dim=24 --set finetune.enc_filters=4"
      " --set finetune.epochs_random=1 --set finetune.epochs_initialized=2 --set finetune.epochs_warmup=1";
  auto r = run_cli("--threads 1 demo --out " + shell_quote(out) + " --labelled 10 --unlabelled 2 --size 32" + tiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(out + "/data/SynthPancreas/dataset.json"));
  const std::string results = testkit::read_text(out + "/study/results.csv");
  for (auto method : {"baseline,", "rotation,", "rpl,"}) EXPECT_NE(results.find(method), std::string::npos) << results;
  EXPECT_TRUE(fs::exists(out + "/study/report.md"));
  EXPECT_TRUE(fs::exists(out + "/study/efficiency.png"));
  EXPECT_NE(r.output.find("medssl demo finished"), std::string::npos) << r.output;
}

// The reference's finetune configs carry the study loop (exp_splits x repetitions): a study without its own fractions
// / repetitions runs exactly those cells.
TEST(CliStudy, FinetuneConfigExpSplitsAndRepetitionsDriveAStudyWithoutItsOwn) {
  testkit::TempDir dir;
  json study = json::parse(testkit::read_text(write_study(dir)));
  study.erase("fractions");
  study.erase("repetitions");
  study["methods"] = {"baseline"};
  study["finetune_config"]["exp_splits"] = {50};
  study["finetune_config"]["repetitions"] = 2;
  const auto config = dir.file("reference_loop.json");
  std::ofstream(config) << study.dump(2);
  const auto out = dir.file("out");
  auto r = run_cli(study_cmd(config, out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (auto cell : {"f50_r0", "f50_r1"})
    EXPECT_TRUE(fs::exists(out + "/finetune/baseline/" + std::string(cell) + "/finetune.json")) << cell;
  EXPECT_FALSE(fs::exists(out + "/finetune/baseline/f100_r0"));
  EXPECT_EQ(lines_of(out + "/results.csv").size(), 1u + 2 * 3) << testkit::read_text(out + "/results.csv");
  // An out-of-range split names where it came from.
  r = run_cli(study_cmd(config, dir.file("bad")) + " --set finetune.exp_splits=[150]");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("exp_splits"), std::string::npos) << r.output;
}

// A data_dir that already is a `medssl prepare` cache is used as it is, also to find the test cases that the
// pretraining must leave out (they were once looked up in the study's own, here never written, cache folder).
TEST(CliStudy, AStudyOnAPreparedCacheKeepsItsTestCasesOutOfThePretraining) {
  testkit::TempDir dir;
  auto r = run_cli("synth ct3d --out " + shell_quote(dir.file("ct")) + " --cases 6 --unlabelled 2 --size 32 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("prepare --dataset " + shell_quote(dir.file("ct")) + " --out " + shell_quote(dir.file("cache")) +
              " --size 24");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json model = {{"data_dim", 24}, {"enc_filters", 4}, {"num_layers", 2}, {"workers", 1}};
  json pre = model, fin = model;
  pre.update({{"batch_size", 4}, {"epochs", 1}, {"save_checkpoint_every_n_epochs", 0}});
  fin.update({{"epochs_initialized", 1}, {"epochs_warmup", 0}, {"epochs_random", 1}, {"batch_size", 2},
              {"loss", "dice"}, {"hd95", false}});
  const json study = {{"name", "cached"}, {"data_dir", dir.file("cache")}, {"methods", {"baseline", "rotation"}},
                      {"fractions", {100}}, {"repetitions", 1}, {"pretrain_config", pre}, {"finetune_config", fin}};
  std::ofstream(dir.file("study.json")) << study.dump(2);
  const auto out = dir.file("out");
  r = run_cli(study_cmd(dir.file("study.json"), out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json tested = json::parse(testkit::read_text(out + "/finetune/rotation/f100_r0/finetune.json"))["test_cases"];
  ASSERT_FALSE(tested.empty());
  EXPECT_EQ(json::parse(testkit::read_text(out + "/pretrain/rotation/config.json"))["exclude_cases"], tested);
}
