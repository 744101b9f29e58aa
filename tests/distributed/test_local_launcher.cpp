// The `--nproc` launcher on plain shell commands: the torchrun variables each rank gets, failure propagation (the
// other ranks are stopped, the error names the failed rank and how it ended), and no rank left behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>

#include "medssl/train/local_launcher.h"
#include "testkit/testkit.h"

namespace medssl::train {
namespace {

using Clock = std::chrono::steady_clock;

LocalLaunch shell(const std::string& script, int nproc) {
  LocalLaunch l;
  l.executable = "/bin/sh";
  l.args = {"-c", script};
  l.nproc = nproc;
  l.grace_s = 2.0;
  return l;
}

bool process_alive(int pid) { return ::kill(pid, 0) == 0; }

TEST(LocalLauncher, EveryRankGetsTheTorchrunVariables) {
  testkit::TempDir dir;
  auto l = shell("echo \"$RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT $MEDSSL_LAUNCHED_BY "
                 "$EXTRA\" > " + testkit::shell_quote(dir.path()) + "/rank$RANK.txt",
                 3);
  l.env = {{"EXTRA", "given"}};
  ASSERT_EQ(testkit::error_of([&] { launch_local(l); }), "");
  std::set<std::string> ports;
  for (int r = 0; r < 3; ++r) {
    std::string line = testkit::read_text(dir.file("rank" + std::to_string(r) + ".txt"));
    const std::string rs = std::to_string(r);
    EXPECT_EQ(line.rfind(rs + " " + rs + " 3 3 127.0.0.1 ", 0), 0u) << line;
    EXPECT_NE(line.find(" medssl given"), std::string::npos) << line;
    ports.insert(line.substr(line.find("127.0.0.1 ") + 10, line.find(" medssl") - line.find("127.0.0.1 ") - 10));
  }
  ASSERT_EQ(ports.size(), 1u) << "all ranks must rendezvous on the same port";
  const int port = std::stoi(*ports.begin());
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

TEST(LocalLauncher, AFailingRankStopsTheOthersAndIsNamed) {
  testkit::TempDir dir;
  // Rank 0 would sleep for a minute; rank 1 fails at once.
  auto l = shell("echo $$ > " + testkit::shell_quote(dir.path()) +
                     "/pid$RANK; if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 3; fi; exec sleep 60",
                 2);
  const auto start = Clock::now();
  const std::string error = testkit::error_of([&] { launch_local(l); });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_NE(error.find("rank 1 of 2"), std::string::npos) << error;
  EXPECT_NE(error.find("exited with status 3"), std::string::npos) << error;
  EXPECT_LT(seconds, 20.0);
  const int pid0 = std::stoi(testkit::read_text(dir.file("pid0")));
  EXPECT_FALSE(process_alive(pid0)) << "rank 0 (pid " << pid0 << ") was left running";
}

TEST(LocalLauncher, ARankKilledBySignalIsReportedAsSuch) {
  auto l = shell("if [ \"$RANK\" = 0 ]; then kill -9 $$; fi; exec sleep 60", 2);
  const std::string error = testkit::error_of([&] { launch_local(l); });
  EXPECT_NE(error.find("rank 0 of 2"), std::string::npos) << error;
  EXPECT_NE(error.find("killed by signal 9"), std::string::npos) << error;
}

TEST(LocalLauncher, ARankThatIgnoresSigtermIsKilledAfterTheGracePeriod) {
  auto l = shell("if [ \"$RANK\" = 1 ]; then sleep 0.3; exit 1; fi; trap '' TERM; while :; do sleep 0.1; done", 2);
  l.grace_s = 0.5;
  const auto start = Clock::now();
  const std::string error = testkit::error_of([&] { launch_local(l); });
  EXPECT_NE(error.find("rank 1 of 2"), std::string::npos) << error;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);
}

TEST(LocalLauncher, SuccessfulRanksReturnNormally) {
  EXPECT_EQ(testkit::error_of([&] { launch_local(shell("exit 0", 2)); }), "");
  EXPECT_NE(testkit::error_of([&] { launch_local(shell("exit 0", 0)); }).find("--nproc must be at least 1"),
            std::string::npos);
}

TEST(LocalLauncher, DescribesExitStatuses) {
  EXPECT_EQ(describe_exit_status(3 << 8), "exited with status 3");
  EXPECT_EQ(describe_exit_status(9).rfind("was killed by signal 9", 0), 0u);
}

}  // namespace
}  // namespace medssl::train
