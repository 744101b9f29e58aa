// main() of test_distributed. Run normally it is GoogleTest's main. Launched by a test with MEDSSL_DIST_TEST_WORKER
// set (through launch_local, so with the torchrun variables of its rank), it is one rank of a multi-process run:
// it runs that worker, writes what it found under MEDSSL_DIST_TEST_OUT and exits (0 = done, 2 = a caught error,
// whose message is in rank<R>_error.txt). Defining main here keeps GTest::gtest_main's main out of the link.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "distributed_testing.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace {

using namespace medssl;
using namespace medssl::train;

std::string out_file(const std::string& name) {
  const char* dir = std::getenv(dist_testing::kOutVariable);
  check(dir != nullptr, "worker: {} is not set", dist_testing::kOutVariable);
  return std::string(dir) + "/" + name;
}

void save_outcome(const dist_testing::Outcome& o, const std::string& name, int rank) {
  torch::save(o.state, out_file("rank" + std::to_string(rank) + "_" + name + ".pt"));
  std::ofstream losses(out_file("rank" + std::to_string(rank) + "_" + name + "_loss.txt"));
  losses.precision(17);
  for (double l : o.train_loss) losses << l << "\n";
}

// Trains the three scenarios of TwoProcessTraining as one rank.
void train_worker(const std::shared_ptr<ProcessGroup>& group) {
  const int r = group->rank();
  save_outcome(dist_testing::train({true, true}, group, out_file("run_sync_bn")), "sync_bn", r);
  save_outcome(dist_testing::train({false, false}, group), "no_bn", r);
  save_outcome(dist_testing::train({true, false}, group), "local_bn", r);
}

// Rank 1 leaves right after joining; rank 0's next collective must fail instead of waiting.
void peer_exits_worker(const std::shared_ptr<ProcessGroup>& group) {
  if (group->rank() == 1) std::_Exit(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto t = torch::ones({4});
  group->all_reduce_sum_(t, "a test tensor");
}

// Rank 1 stays alive but never takes part; rank 0's collective must fail after MEDSSL_DIST_TIMEOUT_S.
void silent_peer_worker(const std::shared_ptr<ProcessGroup>& group) {
  if (group->rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(12));
    std::_Exit(0);
  }
  auto t = torch::ones({4});
  group->all_reduce_sum_(t, "a test tensor");
}

int run_worker(const std::string& name) {
  int rank = -1;
  try {
    auto group = join_from_environment("cpu");
    check(group != nullptr, "worker {}: not started as a rank (no WORLD_SIZE)", name);
    rank = group->rank();
    if (name == "train") train_worker(group);
    else if (name == "peer_exits") peer_exits_worker(group);
    else if (name == "silent_peer") silent_peer_worker(group);
    else fail("unknown worker '{}'", name);
    return 0;
  } catch (const std::exception& e) {
    std::ofstream(out_file("rank" + std::to_string(rank) + "_error.txt")) << e.what();
    log::error("worker {} rank {}: {}", name, rank, e.what());
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* worker = std::getenv(dist_testing::kWorkerVariable); worker != nullptr && *worker != '\0') {
    torch::set_num_threads(1);
    return run_worker(worker);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
