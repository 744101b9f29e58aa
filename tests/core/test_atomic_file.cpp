// Atomic writes (core/atomic_file.h): the previous file survives a failed write, and the temporaries of killed
// processes are cleaned up without touching finished files or the temporaries of live processes.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "testkit/testkit.h"

namespace medssl {
namespace {
namespace fs = std::filesystem;

/// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(AtomicFile, StaleTemporariesOfDeadProcessesAreRemoved) {
  testkit::TempDir dir;
  fs::create_directories(dir.file("run/checkpoints"));
  const pid_t dead = dead_pid();
  const std::string stale = dir.file("run/checkpoints/last.pt.tmp-" + std::to_string(dead) + "-3");
  const std::string live = dir.file("run/metrics.csv.tmp-" + std::to_string(::getppid()) + "-0");
  const std::string mine = dir.file("run/config.json.tmp-" + std::to_string(::getpid()) + "-9");
  const std::string finished = dir.file("run/checkpoints/last.pt");
  const std::string lookalike = dir.file("run/notes.tmp-abc-1");
  for (const auto& f : {stale, live, mine, finished, lookalike}) testkit::write_text(f, "x");
  EXPECT_EQ(remove_stale_temp_files(dir.path()), 1);
  EXPECT_FALSE(fs::exists(stale));
  for (const auto& f : {live, mine, finished, lookalike}) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_EQ(remove_stale_temp_files(dir.file("absent")), 0);
}

TEST(AtomicFile, AFailedWriteKeepsThePreviousFileAndLeavesNoTemporary) {
  testkit::TempDir dir;
  const std::string path = dir.file("results.csv");
  write_file_atomic(path, "old complete content\n");
  // A file-size limit makes write() fail with EFBIG, like a full disk fails it with ENOSPC (SIGXFSZ ignored so the
  // error is reported instead of killing the process). Done in a child to keep the limit away from the test runner.
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{8, 8};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      write_file_atomic(path, std::string(4096, 'n'));
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("results.csv") != std::string::npos ? 42 : 1);
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42) << "the write must fail with a medssl::Error naming the file";
  EXPECT_EQ(testkit::read_text(path), "old complete content\n");
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(AtomicFile, UnwritableFolderIsAClearError) {
  testkit::TempDir dir;
  testkit::write_text(dir.file("plain_file"), "x");
  const std::string msg = testkit::error_of([&] { write_file_atomic(dir.file("plain_file/out.json"), "{}"); });
  EXPECT_NE(msg.find("plain_file/out.json"), std::string::npos) << msg;
  const std::string dirs = testkit::error_of([&] { make_dirs(dir.file("plain_file/sub")); });
  EXPECT_NE(dirs.find("plain_file/sub"), std::string::npos) << dirs;
}

}  // namespace
}  // namespace medssl
