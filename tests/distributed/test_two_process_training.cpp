// Two CPU processes on loopback (Gloo), launched by the same launcher as `--nproc 2`: after 6 optimiser steps their
// parameters and buffers equal a single process trained on the combined batches (with synchronised BatchNorm, and
// without BatchNorm), the ranks agree bit for bit, and the logged loss is the global batch's. Per-rank BatchNorm is
// the control: it must NOT match, which shows the comparison can fail. Also: peers that die or hang make collectives
// fail with a message instead of hanging.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "distributed_testing.h"
#include "medssl/train/local_launcher.h"
#include "testkit/testkit.h"

namespace medssl::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Runs worker `name` as 2 ranks of this test binary; returns the launcher's error ("" if every rank succeeded).
std::string launch_workers(const std::string& name, const testkit::TempDir& dir, int timeout_s) {
  LocalLaunch launch;
  launch.executable = own_executable();
  launch.nproc = 2;
  launch.grace_s = 2.0;
  launch.env = {{dist_testing::kWorkerVariable, name},
                {dist_testing::kOutVariable, dir.path()},
                {"MEDSSL_DIST_TIMEOUT_S", std::to_string(timeout_s)}};
  return testkit::error_of([&] { launch_local(launch); });
}

torch::Tensor load_state(const testkit::TempDir& dir, int rank, const std::string& name) {
  torch::Tensor t;
  torch::load(t, dir.file("rank" + std::to_string(rank) + "_" + name + ".pt"));
  return t;
}

std::vector<double> load_losses(const testkit::TempDir& dir, int rank, const std::string& name) {
  std::ifstream in(dir.file("rank" + std::to_string(rank) + "_" + name + "_loss.txt"));
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(TwoProcessTraining, ParametersMatchOneProcessWithTheCombinedBatch) {
  testkit::TempDir dir;
  ASSERT_EQ(launch_workers("train", dir, 60), "");

  const auto single_bn = dist_testing::train({true, false});
  const auto single_plain = dist_testing::train({false, false});
  ASSERT_EQ(single_bn.train_loss.size(), 2u);

  for (const std::string name : {"sync_bn", "no_bn", "local_bn"})
    EXPECT_TRUE(torch::equal(load_state(dir, 0, name), load_state(dir, 1, name))) << name << ": ranks disagree";

  const double tol = 1e-5;
  const double sync_diff = max_abs_diff(load_state(dir, 0, "sync_bn"), single_bn.state);
  const double plain_diff = max_abs_diff(load_state(dir, 0, "no_bn"), single_plain.state);
  const double local_diff = max_abs_diff(load_state(dir, 0, "local_bn"), single_bn.state);
  std::cout << "max |2 processes - 1 process| after 6 steps: sync_bn " << sync_diff << ", no BatchNorm " << plain_diff
            << ", per-rank BatchNorm (control) " << local_diff << "\n";
  EXPECT_LT(sync_diff, tol);
  EXPECT_LT(plain_diff, tol);
  // The parameters moved (so matching them says something), and per-shard BatchNorm statistics do change them.
  torch::manual_seed(1234);
  dist_testing::Net fresh(true);
  EXPECT_GT(max_abs_diff(dist_testing::flat_state(*fresh), single_bn.state), 1e-2);
  EXPECT_GT(local_diff, 1e-4);

  // The logged train_loss is the combined batch's, on both ranks.
  for (int rank : {0, 1}) {
    const auto losses = load_losses(dir, rank, "sync_bn");
    ASSERT_EQ(losses.size(), single_bn.train_loss.size());
    for (size_t e = 0; e < losses.size(); ++e) EXPECT_NEAR(losses[e], single_bn.train_loss[e], 1e-5 * single_bn.train_loss[e]);
  }

  // Rank 0 wrote the run's files (metrics rows say how many processes trained).
  const std::string run = dir.file("run_sync_bn");
  EXPECT_TRUE(fs::exists(run + "/checkpoints/last.pt"));
  std::ifstream jsonl(run + "/metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(jsonl, line));
  EXPECT_EQ(nlohmann::json::parse(line).at("world_size"), 2);
}

TEST(TwoProcessFailure, APeerThatExitsMakesTheNextCollectiveFailInsteadOfHanging) {
  testkit::TempDir dir;
  const auto start = Clock::now();
  const std::string error = launch_workers("peer_exits", dir, 60);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_NE(error.find("rank 0 of 2"), std::string::npos) << error;
  EXPECT_NE(error.find("exited with status 2"), std::string::npos) << error;
  EXPECT_LT(seconds, 30.0) << "a dead peer must not leave rank 0 waiting for the 60 s timeout";
  const std::string message = testkit::read_text(dir.file("rank0_error.txt"));
  EXPECT_NE(message.find("rank 0/2"), std::string::npos) << message;
  EXPECT_NE(message.find("all-reduce of a test tensor"), std::string::npos) << message;
}

TEST(TwoProcessFailure, ASilentPeerMakesTheCollectiveTimeOut) {
  testkit::TempDir dir;
  const auto start = Clock::now();
  const std::string error = launch_workers("silent_peer", dir, 4);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_NE(error.find("rank 0 of 2"), std::string::npos) << error;
  EXPECT_LT(seconds, 11.0) << "rank 0 should give up after the 4 s timeout, before its peer's 12 s sleep ends";
  const std::string message = testkit::read_text(dir.file("rank0_error.txt"));
  EXPECT_NE(message.find("all-reduce of a test tensor"), std::string::npos) << message;
}

}  // namespace
}  // namespace medssl::train
