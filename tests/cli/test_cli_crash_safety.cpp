// Crash safety end to end. `medssl prepare`, `pretrain`, `finetune` and `study` are SIGKILLed at random moments,
// several times each; after every kill every file in the output folder must be complete (it parses with medssl's own
// reader; atomic writes leave only "*.tmp-<pid>-<n>" temporaries, which nothing reads and the next run removes), and
// the run resumed after the last kill must end with exactly what an uninterrupted run gives. Then: a full disk
// (a small tmpfs, where it can be mounted), a file-size limit (always; write() fails with EFBIG as with ENOSPC) and an
// unwritable output folder give a clear error, exit 1 (no crash), and damage nothing that was finished.
//
// The killed pretraining runs stream their data from the cache instead of preloading it (MEDSSL_PRELOAD_LIMIT=1),
// which must not change a single weight either.
//
// Kill moments are drawn from a fixed seed (MEDSSL_KILL_SEED overrides it for runs by hand), spread over the length
// of the uninterrupted run, so they land in data preparation, in epochs, in checkpoint writes and after the end.
#include <sys/mount.h>

#include <cstdlib>
#include <random>

#include "crash_safety_testing.h"

using namespace medssl;
using namespace medssl::crash_test;
using testkit::run_cli;
using testkit::shell_quote;
using json = nlohmann::json;

namespace {

int elapsed_ms(std::chrono::steady_clock::time_point start) {
  return static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
}

uint64_t kill_seed() {
  const char* env = std::getenv("MEDSSL_KILL_SEED");
  return env && *env ? std::strtoull(env, nullptr, 10) : 20240917;
}

class CrashSafety : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testkit::TempDir("medssl-crash");
    data_ = dir_->file("ct");
    auto r = run_cli("synth ct3d --out " + shell_quote(data_) + " --cases 6 --unlabelled 2 --size 32 --seed 11");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  /// Runs `command()` (re-evaluated before each start, e.g. to add --resume once a checkpoint exists) and kills it
  /// `kills` times at moments drawn from [0, span_ms); checks every file of `out` after each kill; then lets it run
  /// to completion. A start that finishes before its moment comes while fewer than half the kills landed makes the
  /// run start over from nothing, its moments scaled to that start's duration. Returns how many starts were really
  /// killed;
  /// `final_output` gets the output of every start and of the final run.
  int kill_repeatedly(const std::function<std::string()>& command, const std::string& out, int kills, int span_ms,
                      std::string* final_output = nullptr) {
    std::mt19937_64 rng(kill_seed() + static_cast<uint64_t>(span_ms));
    // A resumed start has less left to do than the first, so the moments favour the first three quarters.
    auto moments = [](int span) { return std::uniform_int_distribution<int>(span / 10, std::max(span * 3 / 4, 1)); };
    auto moment = moments(span_ms);
    int killed = 0, restarts = 0;
    // Every start's output: a kill can land after the last epoch was written, and then the final run only sees a
    // finished run and prints none of what the starts did.
    std::string all_output;
    for (int k = 0; k < kills; ++k) {
      const int ms = moment(rng);
      const std::string log = out + ".log";
      const auto started = std::chrono::steady_clock::now();
      const pid_t pid = start_cli(command(), log);
      int exit_code = -1;
      const bool was_killed = kill_after(pid, ms, &exit_code);
      if (fs::exists(log)) all_output += testkit::read_text(log);
      if (was_killed) {
        ++killed;
        expect_all_files_complete(out, "after a SIGKILL at " + std::to_string(ms) + " ms");
      } else {
        EXPECT_EQ(exit_code, 0) << "start " << k << " ended by itself with an error:\n" << testkit::read_text(log);
        // The run finished before its moment came: the reference was timed on a busier machine (ctest -j2 beside
        // heavier tests), and every later start would find a finished run. Start over from nothing with moments
        // scaled to this start's own duration, at most `kills` times.
        if (killed < kills / 2 + 1 && restarts < kills) {
          ++restarts;
          fs::remove_all(out);
          moment = moments(std::max(elapsed_ms(started), 10));
          --k;
        }
      }
    }
    auto r = run_cli(command());
    EXPECT_EQ(r.exit_code, 0) << "the run after the kills: " << r.output;
    if (final_output) *final_output = all_output + r.output;
    expect_all_files_complete(out, "after the final run");
    return killed;
  }

  /// Times an uninterrupted run of `args`.
  static int timed_run(const std::string& args) {
    const auto start = std::chrono::steady_clock::now();
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return elapsed_ms(start);
  }

  static std::string pretrain_args(const std::string& out) {
    return "--threads 1 pretrain --out " + shell_quote(out) + " --set data_dir=" + shell_quote(data_) +
           " --set algorithm=rotation --set data_dim=24 --set enc_filters=4 --set num_layers=2 --set batch_size=4"
           " --set epochs=3 --set workers=1 --set checkpoint_every_steps=1 --set lr=0.001";
  }
  static std::string finetune_args(const std::string& pretrained, const std::string& out) {
    return "--threads 1 finetune --pretrained " + shell_quote(pretrained) + " --fraction 100 --repetition 0 --out " +
           shell_quote(out) + " --set data_dir=" + shell_quote(pretrained + "/cache") +
           " --set data_dim=24 --set enc_filters=4 --set num_layers=2 --set workers=1 --set batch_size=2"
           " --set epochs_initialized=3 --set epochs_warmup=1 --set loss=dice --set hd95=false"
           " --set checkpoint_every_steps=1";
  }
  static std::string with_resume(const std::string& args, const std::string& out) {
    return fs::exists(out + "/checkpoints/last.pt") ? args + " --resume" : args;
  }

  static testkit::TempDir* dir_;
  static std::string data_;
};
testkit::TempDir* CrashSafety::dir_ = nullptr;
std::string CrashSafety::data_;

TEST_F(CrashSafety, PrepareKilledAtRandomMomentsResumesToTheSameCache) {
  const std::string reference = dir_->file("prepare_ref"), cache = dir_->file("prepare_killed");
  auto args = [&](const std::string& out) {
    return "--threads 1 prepare --dataset " + shell_quote(data_) + " --out " + shell_quote(out) + " --size 24";
  };
  const int span = timed_run(args(reference));
  const int killed = kill_repeatedly([&] { return args(cache); }, cache, 6, span);
  EXPECT_GE(killed, 3) << "most kill moments should fall inside the run";
  // The resumed cache holds exactly the reference's tensors and index.
  for (const auto& entry : fs::directory_iterator(reference + "/cases")) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(testkit::read_text(cache + "/cases/" + name), testkit::read_text(entry.path().string())) << name;
  }
  json a = json::parse(testkit::read_text(reference + "/cache.json")), b = json::parse(testkit::read_text(cache + "/cache.json"));
  EXPECT_EQ(a["cases"], b["cases"]);
  EXPECT_EQ(a["preprocessing"], b["preprocessing"]);
  for (const auto& entry : fs::recursive_directory_iterator(cache))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
        << entry.path() << ": the run after the kills removes what killed runs left";
}

TEST_F(CrashSafety, PretrainAndFinetuneKilledAtRandomMomentsResumeToTheSameWeights) {
  const std::string reference = dir_->file("pre_ref"), run = dir_->file("pre_killed");
  const int span = timed_run(pretrain_args(reference));
  // The killed runs also stream their data from the cache (as for a data set larger than RAM: a preload limit of one
  // byte) while the reference preloads it: both must train the same weights.
  setenv("MEDSSL_PRELOAD_LIMIT", "1", 1);
  std::string last_output;
  const int killed =
      kill_repeatedly([&] { return with_resume(pretrain_args(run), run); }, run, 5, span, &last_output);
  unsetenv("MEDSSL_PRELOAD_LIMIT");
  EXPECT_GE(killed, 3);
  EXPECT_NE(last_output.find("read from the cache when it is used"), std::string::npos) << last_output;
  EXPECT_EQ(metric_rows(run), metric_rows(reference));
  expect_same_weights(run + "/encoder.pt", reference + "/encoder.pt");
  expect_same_weights(run + "/checkpoints/last.pt", reference + "/checkpoints/last.pt");

  const std::string ft_reference = dir_->file("ft_ref"), ft_run = dir_->file("ft_killed");
  const int ft_span = timed_run(finetune_args(reference, ft_reference));
  const int ft_killed =
      kill_repeatedly([&] { return with_resume(finetune_args(reference, ft_run), ft_run); }, ft_run, 5, ft_span);
  EXPECT_GE(ft_killed, 3);
  EXPECT_EQ(metric_rows(ft_run), metric_rows(ft_reference));
  expect_same_weights(ft_run + "/checkpoints/last.pt", ft_reference + "/checkpoints/last.pt");
  const json a = json::parse(testkit::read_text(ft_reference + "/finetune.json"));
  const json b = json::parse(testkit::read_text(ft_run + "/finetune.json"));
  EXPECT_EQ(a.at("test_final"), b.at("test_final"));
  EXPECT_EQ(a.at("test_best_val_checkpoint"), b.at("test_best_val_checkpoint"));
}

TEST_F(CrashSafety, StudyKilledAtRandomMomentsResumesToTheSameResults) {
  const json model = {{"data_dim", 24}, {"enc_filters", 4}, {"num_layers", 2}, {"workers", 1}};
  json pre = model, fin = model;
  pre.update({{"batch_size", 4}, {"epochs", 1}, {"save_checkpoint_every_n_epochs", 0}});
  fin.update({{"epochs_initialized", 2}, {"epochs_warmup", 1}, {"epochs_random", 1}, {"batch_size", 2},
              {"loss", "dice"}, {"hd95", false}, {"checkpoint_every_steps", 1}});
  const json study = {{"name", "crash"}, {"data_dir", data_}, {"methods", {"baseline", "rotation"}},
                      {"fractions", {50, 100}}, {"repetitions", 1}, {"pretrain_config", pre}, {"finetune_config", fin}};
  const std::string config = dir_->file("study.json");
  testkit::write_text(config, study.dump(2));
  auto args = [&](const std::string& out) {
    return "--threads 1 study --no-plot --config " + shell_quote(config) + " --out " + shell_quote(out);
  };
  const std::string reference = dir_->file("study_ref"), out = dir_->file("study_killed");
  const int span = timed_run(args(reference));
  const int killed = kill_repeatedly([&] { return args(out); }, out, 4, span);
  EXPECT_GE(killed, 2);
  EXPECT_EQ(testkit::read_text(out + "/results.csv"), testkit::read_text(reference + "/results.csv"));
}

// ------------------------------------------------------------------------------------------------ full disks

/// A finished run must come out of a failed later write byte for byte as it was.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files[entry.path().string()] = testkit::read_text(entry.path().string());
  return files;
}

TEST_F(CrashSafety, FileSizeLimitGivesAClearErrorAndKeepsTheFinishedRun) {
  // A finished one-epoch run, then --resume for more epochs under a file-size limit smaller than a checkpoint: the
  // first checkpoint write fails (EFBIG, SIGXFSZ ignored: what a full disk does with ENOSPC).
  const std::string run = dir_->file("fsize_run");
  auto r = run_cli(pretrain_args(run) + " --set epochs=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto before = snapshot(run);
  r = testkit::run_command("bash -c " + shell_quote("trap '' XFSZ; ulimit -f 16; exec " + std::string(MEDSSL_CLI) +
                                                    " " + pretrain_args(run) + " --set epochs=2 --resume"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(run), std::string::npos) << "the error names the file: " << r.output;
  // Files the failed run rewrote completely (e.g. config.json, a few bytes) may differ in nothing but content it
  // regenerated; everything the finished run wrote must still be complete, and its checkpoint and encoder untouched.
  expect_all_files_complete(run, "after the failed write");
  EXPECT_EQ(testkit::read_text(run + "/checkpoints/last.pt"), before.at(run + "/checkpoints/last.pt"));
  EXPECT_EQ(testkit::read_text(run + "/encoder.pt"), before.at(run + "/encoder.pt"));
  EXPECT_EQ(testkit::read_text(run + "/metrics.jsonl"), before.at(run + "/metrics.jsonl"));
  // Without the limit the same command continues the run.
  r = run_cli(pretrain_args(run) + " --set epochs=2 --resume");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(metric_rows(run).size(), 2u);
}

TEST_F(CrashSafety, FullDiskGivesAClearErrorAndLeavesOnlyCompleteFiles) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const std::string mnt = dir_->file("full");
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=600k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << "); the file-size test covers ENOSPC's path";
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  // The data set does not fit: synth stops with ENOSPC, naming the file; what it finished stays readable.
  auto r = run_cli("synth ct3d --out " + shell_quote(mnt + "/ct") + " --cases 40 --size 48");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  EXPECT_GT(expect_all_files_complete(mnt, "after ENOSPC in synth"), 0);
  // A cache that does not fit: prepare stops with ENOSPC; the cases it finished are complete and a rerun with space
  // (the mount is grown) completes the cache.
  fs::remove_all(mnt + "/ct");
  r = run_cli("--threads 1 prepare --dataset " + shell_quote(data_) + " --out " + shell_quote(mnt + "/cache") +
              " --size 32");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  expect_all_files_complete(mnt, "after ENOSPC in prepare");
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=8m"), 0) << std::strerror(errno);
  r = run_cli("--threads 1 prepare --dataset " + shell_quote(data_) + " --out " + shell_quote(mnt + "/cache") +
              " --size 32");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  expect_all_files_complete(mnt, "after the rerun");
}

TEST_F(CrashSafety, UnwritableOutputFolderIsAClearError) {
  // A path through a regular file can never be written, whoever runs the test (root ignores permission bits).
  const std::string blocker = dir_->file("blocker");
  testkit::write_text(blocker, "not a folder");
  auto r = run_cli(pretrain_args(blocker + "/run"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(blocker + "/run"), std::string::npos) << r.output;
  r = run_cli("prepare --dataset " + shell_quote(data_) + " --out " + shell_quote(blocker + "/cache"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(blocker + "/cache"), std::string::npos) << r.output;
  if (::geteuid() != 0) {  // permission bits stop everyone else
    const std::string locked = dir_->file("locked");
    fs::create_directories(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    r = run_cli("synth ct3d --out " + shell_quote(locked + "/ct") + " --cases 1 --size 16");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(locked), std::string::npos) << r.output;
    fs::permissions(locked, fs::perms::owner_all);
  }
}

}  // namespace
