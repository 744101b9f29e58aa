// Resume equality: a run interrupted mid-epoch and resumed from last.pt ends with exactly the parameters of an
// uninterrupted run with the same seed. The interruption is simulated twice: by an exception from the step function,
// and by a real SIGKILL of a child process (this test binary re-executed; see KillChild below).
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "medssl/core/atomic_file.h"
#include "medssl/core/log.h"
#include "medssl/train/trainer.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

using testing::TinyNet;

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

enum class Stop { never, throw_exception, sigkill };

/// A run whose result depends on every piece of state a resume must restore: dropout (torch generator), noise drawn
/// from the trainer's medssl::Rng, shuffled batches (data order), Adam moments, a warm-up cosine schedule, and the
/// BatchNorm running statistics.
struct Scenario {
  TinyNet net;
  std::unique_ptr<TensorBatchSource> source;
  TrainerOptions options;
  StepFn step;

  Scenario(const std::string& run_dir, uint64_t init_seed, Stop stop, int64_t stop_at_global_step) {
    torch::manual_seed(init_seed);  // a different initialisation each time: resume must overwrite it
    net = TinyNet(0.3);
    source = std::make_unique<TensorBatchSource>(testing::regression_data(72, 11), 16);  // 5 steps, last one short
    options.epochs = 3;
    options.seed = 2024;
    options.run_dir = run_dir;
    options.checkpoint_every_steps = 3;
    options.monitor = "train_loss";
    options.optimizer = OptimizerOptions::keras_adam(0.01);
    options.schedule.type = "warmup_cosine";
    options.schedule.warmup_steps = 4;
    TinyNet model = net;
    step = [model, stop, stop_at_global_step](const Batch& b, StepContext& ctx) mutable {
      if (ctx.global_step == stop_at_global_step) {
        if (stop == Stop::throw_exception) throw Interrupted();
        if (stop == Stop::sigkill) std::raise(SIGKILL);
      }
      auto x = b.at("x") + 0.01 * ctx.rng->normal();
      auto pred = model->forward(x);
      return StepOutput{torch::mse_loss(pred, b.at("y")), {}};
    };
  }
  Trainer trainer() { return Trainer(net.ptr(), *source, step, nullptr, options); }
};

torch::Tensor uninterrupted(const std::string& dir, std::vector<nlohmann::ordered_json>* rows = nullptr) {
  Scenario a(dir, 1, Stop::never, -1);
  auto t = a.trainer();
  t.fit();
  if (rows) *rows = t.metrics_log().rows();
  return testing::flat_state(*a.net);
}

void expect_same_rows(const std::vector<nlohmann::ordered_json>& a, const std::vector<nlohmann::ordered_json>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["epoch"], b[i]["epoch"]);
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    EXPECT_EQ(a[i]["lr"].get<double>(), b[i]["lr"].get<double>());
    EXPECT_EQ(a[i]["train_loss"].get<double>(), b[i]["train_loss"].get<double>()) << "epoch " << i + 1;
  }
}

TEST(Resume, AfterExceptionMidEpochEqualsUninterruptedRun) {
  testkit::TempDir dir_a, dir_b;
  std::vector<nlohmann::ordered_json> rows_a;
  auto final_a = uninterrupted(dir_a.path(), &rows_a);

  // Epoch 2 (0-based 1) covers global steps 5..9; last.pt is written at global step 6 (mid-epoch 2, step 1 of it).
  Scenario b(dir_b.path(), 1, Stop::throw_exception, 8);
  {
    auto t = b.trainer();
    EXPECT_THROW(t.fit(), Interrupted);
  }
  auto ck = read_checkpoint_state(dir_b.file("checkpoints/last.pt"));
  EXPECT_EQ(ck.state.epoch, 1);
  EXPECT_EQ(ck.state.step_in_epoch, 1);
  EXPECT_EQ(ck.state.global_step, 6);

  Scenario resumed(dir_b.path(), 99, Stop::never, -1);
  auto t = resumed.trainer();
  auto result = t.resume(dir_b.file("checkpoints/last.pt"));
  EXPECT_EQ(result.global_step, 15);
  auto final_b = testing::flat_state(*resumed.net);
  EXPECT_TRUE(torch::equal(final_a, final_b)) << "max difference " << (final_a - final_b).abs().max().item<double>();
  expect_same_rows(rows_a, t.metrics_log().rows());
  // The files on disk hold the complete history, each epoch once.
  auto jsonl = read_file(dir_b.file("metrics.jsonl"));
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 3);
}

TEST(Resume, AtEpochBoundaryEqualsUninterruptedRun) {
  testkit::TempDir dir_a, dir_b;
  auto final_a = uninterrupted(dir_a.path());
  Scenario b(dir_b.path(), 1, Stop::throw_exception, 10);  // first step of epoch 3; last.pt from the end of epoch 2
  {
    auto t = b.trainer();
    EXPECT_THROW(t.fit(), Interrupted);
  }
  EXPECT_EQ(read_checkpoint_state(dir_b.file("checkpoints/last.pt")).state.step_in_epoch, 0);
  Scenario resumed(dir_b.path(), 5, Stop::never, -1);
  auto t = resumed.trainer();
  t.resume(dir_b.file("checkpoints/last.pt"));
  EXPECT_TRUE(torch::equal(final_a, testing::flat_state(*resumed.net)));
}

std::string self_exe() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

TEST(Resume, AfterSigkillOfChildProcessEqualsUninterruptedRun) {
  testkit::TempDir dir_a, dir_b;
  auto final_a = uninterrupted(dir_a.path());
  auto r = testkit::run_command("MEDSSL_TRAIN_KILL_CHILD_DIR=" + testkit::shell_quote(dir_b.path()) + " " +
                                testkit::shell_quote(self_exe()));
  ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.output;
  ASSERT_TRUE(std::filesystem::exists(dir_b.file("checkpoints/last.pt")));
  auto ck = read_checkpoint_state(dir_b.file("checkpoints/last.pt"));
  EXPECT_EQ(ck.state.global_step, 12);  // killed during global step 13 (epoch 3)
  EXPECT_EQ(ck.state.epoch, 2);

  Scenario resumed(dir_b.path(), 3, Stop::never, -1);
  auto t = resumed.trainer();
  t.resume(dir_b.file("checkpoints/last.pt"));
  EXPECT_TRUE(torch::equal(final_a, testing::flat_state(*resumed.net)));
}

/// When this binary is started with MEDSSL_TRAIN_KILL_CHILD_DIR set, it trains the scenario in that directory and
/// SIGKILLs itself during global step 13, before GoogleTest even starts (so no test case is needed for it).
struct KillChild {
  KillChild() {
    const char* dir = std::getenv("MEDSSL_TRAIN_KILL_CHILD_DIR");
    if (!dir) return;
    Scenario s(dir, 1, Stop::sigkill, 13);
    auto t = s.trainer();
    t.fit();
    std::_Exit(3);  // not reached if the kill works
  }
} kill_child;

}  // namespace
}  // namespace medssl::train
