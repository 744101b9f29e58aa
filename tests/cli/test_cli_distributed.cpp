// End-to-end: `medssl pretrain|finetune ... --nproc 2` on a tiny synthetic CT: two ranks over Gloo on loopback, rank 0
// writes the run, resume works, a batch that cannot be split is a clear error, and a rank killed mid-run stops the
// whole run with a message naming it (no process left behind).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string synth_ct(const testkit::TempDir& dir) { return testkit::synth_ct(dir, 6, 2, 32, 5); }

// One thread per rank keeps two ranks within the suite's budget of 2 cores.
std::string tiny(const std::string& ds) {
  return " --set data_dir=" + shell_quote(ds) +
         " --set data_dim=32 --set enc_filters=4 --set num_layers=2 --set workers=1 --threads 1";
}

std::vector<json> metrics_rows(const std::string& run) {
  std::vector<json> rows;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

}  // namespace

TEST(CliDistributed, PretrainOnTwoProcessesWritesOnRankZeroAndResumes) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto run = dir.file("run");
  const std::string args = "pretrain --out " + shell_quote(run) + " --set algorithm=rotation --set batch_size=4" +
                           " --set sync_bn=true" + tiny(ds) + " --nproc 2";
  auto r = run_cli(args + " --set epochs=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("launching 2 processes"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data parallel over 2 processes (gloo)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[rank 1] pretrain"), std::string::npos) << "rank 1 must only warn:\n" << r.output;
  for (auto f : {"config.json", "metrics.csv", "encoder.pt", "pretrain.json", "checkpoints/last.pt", "cache/cache.json"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  auto rows = metrics_rows(run);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["world_size"], 2);
  EXPECT_TRUE(rows[0].contains("val_acc"));
  auto summary = json::parse(testkit::read_text(run + "/pretrain.json"));
  EXPECT_EQ(summary["processes"], 2);
  EXPECT_EQ(summary["images_per_batch"], 4);

  auto resumed = run_cli(args + " --set epochs=2 --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  rows = metrics_rows(run);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1]["epoch"], 2);
  EXPECT_EQ(rows[1]["step"], 2);  // 7 training images: one full global batch of 4 per epoch

  auto odd = run_cli("pretrain --out " + shell_quote(dir.file("odd")) + " --set algorithm=rotation --set batch_size=3" +
                     " --set epochs=1" + tiny(ds) + " --nproc 2");
  EXPECT_NE(odd.exit_code, 0);
  EXPECT_NE(odd.output.find("cannot be split evenly among 2 processes"), std::string::npos) << odd.output;
  EXPECT_NE(odd.output.find("of 2 (pid"), std::string::npos) << odd.output;

  auto bad_key = run_cli("pretrain --out " + shell_quote(dir.file("bad")) + " --set algorithm=rotation --set batchsize=4" +
                         tiny(ds) + " --nproc 2");
  EXPECT_NE(bad_key.exit_code, 0);
  EXPECT_EQ(bad_key.output.find("launching"), std::string::npos) << "the config is checked before any rank starts";
}

TEST(CliDistributed, FinetuneOnTwoProcesses) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  auto run = dir.file("ft");
  auto r = run_cli("finetune --pretrained none --fraction 100 --out " + shell_quote(run) +
                   " --set epochs_random=1 --set batch_size=2 --set loss=dice --set hd95=false" + tiny(ds) + " --nproc 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto summary = json::parse(testkit::read_text(run + "/finetune.json"));
  EXPECT_EQ(summary["processes"], 2);
  EXPECT_TRUE(fs::exists(run + "/model.pt"));
  auto rows = metrics_rows(run);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["world_size"], 2);
  EXPECT_TRUE(rows[0].contains("val_dice"));
}

TEST(CliDistributed, ARankKilledMidRunStopsTheRunAndIsNamed) {
  testkit::TempDir dir;
  auto ds = synth_ct(dir);
  // Start a long run, wait for its first epoch, SIGKILL rank 1, and see what the launcher does.
  const std::string log = dir.file("log");
  const std::string script =
      std::string(MEDSSL_CLI) + " pretrain --out " + shell_quote(dir.file("run")) +
      " --set algorithm=rotation --set batch_size=4 --set epochs=500" + tiny(ds) + " --nproc 2 > " + shell_quote(log) +
      " 2>&1 & L=$!\n"
      "for i in $(seq 1 600); do grep -q 'epoch 1/500:' " + shell_quote(log) + " && break; sleep 0.1; done\n"
      "KIDS=$(pgrep -P $L)\n"
      "for p in $KIDS; do tr '\\0' '\\n' < /proc/$p/environ | grep -qx RANK=1 && kill -9 $p; done\n"
      "wait $L; echo \"launcher exit $?\"\n"
      "sleep 0.5; for p in $KIDS; do kill -0 $p 2>/dev/null && echo \"left running: $p\"; done\n"
      "cat " + shell_quote(log) + "\n";
  auto r = testkit::run_command("bash -c " + shell_quote(script));
  EXPECT_NE(r.output.find("launcher exit 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 of 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("killed by signal 9"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("left running"), std::string::npos) << r.output;
}
