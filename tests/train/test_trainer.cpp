#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/train/trainer.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

using testing::TinyNet;

TrainerOptions base_options(const std::string& run_dir) {
  TrainerOptions o;
  o.epochs = 3;
  o.seed = 7;
  o.run_dir = run_dir;
  o.optimizer = OptimizerOptions::keras_adam(0.01);
  return o;
}

TEST(Trainer, LossOfTinyRegressionFallsByNinetyPercent) {
  testkit::TempDir dir;
  torch::manual_seed(0);
  TinyNet net;
  auto data = testing::regression_data(256, 1);
  TensorBatchSource source(data, 32);
  auto o = base_options(dir.path());
  o.epochs = 30;
  o.optimizer.lr = 0.02;
  o.schedule.type = "warmup_cosine";
  o.schedule.warmup_steps = 10;
  o.clip.max_global_norm = 5.0;
  Trainer trainer(net.ptr(), source, testing::mse_step(net), testing::mse_eval(net, testing::regression_data(64, 2)), o);
  auto result = trainer.fit();
  const auto& rows = trainer.metrics_log().rows();
  ASSERT_EQ(rows.size(), 30u);
  double first = rows.front()["train_loss"].get<double>();
  double last = rows.back()["train_loss"].get<double>();
  EXPECT_LT(last, 0.1 * first) << "first " << first << " last " << last;
  EXPECT_LT(rows.back()["val_loss"].get<double>(), 0.1 * rows.front()["val_loss"].get<double>());
  EXPECT_EQ(result.global_step, 30 * 8);
  EXPECT_EQ(result.epochs_completed, 30);
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/last.pt")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("checkpoints/best.pt")));
  // best.pt holds the epoch with the lowest val_loss.
  double best = 1e300;
  int64_t best_epoch = -1;
  for (const auto& r : rows)
    if (r["val_loss"].get<double>() < best) best = r["val_loss"].get<double>(), best_epoch = r["epoch"].get<int64_t>();
  EXPECT_EQ(result.best_epoch, best_epoch);
  EXPECT_EQ(read_checkpoint_state(dir.file("checkpoints/best.pt")).state.epoch, best_epoch);
}

TEST(Trainer, NanPolicyStopNamesTheStep) {
  TinyNet net;
  TensorBatchSource source(testing::regression_data(64, 1), 16);  // 4 steps per epoch
  auto o = base_options("");
  o.monitor = "";
  auto step = testing::mse_step(net);
  StepFn poisoned = [&](const Batch& b, StepContext& ctx) {
    auto out = step(b, ctx);
    if (ctx.global_step == 5) out.loss = out.loss * std::nan("");
    return out;
  };
  Trainer trainer(net.ptr(), source, poisoned, nullptr, o);
  try {
    trainer.fit();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "loss is NaN at epoch 2 step 2 (global step 6)");
  }
}

TEST(Trainer, NanPolicySkipCountsAndLimits) {
  TinyNet net;
  TensorBatchSource source(testing::regression_data(64, 1), 16);
  auto o = base_options("");
  o.monitor = "";
  o.nan_policy = "skip";
  o.max_skipped_steps = 2;
  auto step = testing::mse_step(net);
  std::vector<int64_t> bad = {1, 6};
  StepFn poisoned = [&](const Batch& b, StepContext& ctx) {
    auto out = step(b, ctx);
    if (std::find(bad.begin(), bad.end(), ctx.global_step) != bad.end())
      out.loss = out.loss + std::numeric_limits<double>::infinity();
    return out;
  };
  torch::Tensor before;
  {
    Trainer trainer(net.ptr(), source, poisoned, nullptr, o);
    auto result = trainer.fit();
    EXPECT_EQ(result.skipped_steps, 2);
    EXPECT_EQ(result.global_step, 12);
    const auto& rows = trainer.metrics_log().rows();
    EXPECT_EQ(rows[0]["skipped_steps"].get<int64_t>(), 1);
    EXPECT_EQ(rows[1]["skipped_steps"].get<int64_t>(), 1);
    EXPECT_EQ(rows[2]["skipped_steps"].get<int64_t>(), 0);
    EXPECT_TRUE(std::isfinite(rows[0]["train_loss"].get<double>()));
    for (auto& p : net->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  }
  bad = {0, 1, 2};
  Trainer again(net.ptr(), source, poisoned, nullptr, o);
  try {
    again.fit();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too many non-finite losses: 3 steps skipped"), std::string::npos)
        << e.what();
  }
}

TEST(Trainer, EarlyStoppingStopsAtTheRightEpoch) {
  testkit::TempDir dir;
  TinyNet net;
  TensorBatchSource source(testing::regression_data(32, 1), 16);
  auto o = base_options(dir.path());
  o.epochs = 20;
  o.early_stopping_patience = 2;
  // val_loss per epoch: improves until epoch 3 (1-based), then 2 validations without improvement -> stop after 5.
  std::vector<double> val = {5, 4, 3, 3.5, 3.2, 1, 1, 1};
  int64_t calls = 0;
  EvalFn eval = [&](StepContext& ctx) {
    ++calls;
    return std::map<std::string, double>{{"loss", val[static_cast<size_t>(ctx.epoch)]}};
  };
  Trainer trainer(net.ptr(), source, testing::mse_step(net), eval, o);
  auto result = trainer.fit();
  EXPECT_TRUE(result.early_stopped);
  EXPECT_EQ(result.epochs_completed, 5);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(result.best_epoch, 3);
  EXPECT_DOUBLE_EQ(result.best_metric, 3.0);
  EXPECT_EQ(trainer.metrics_log().rows().size(), 5u);

  // mode max on the same numbers: epoch 1 is the best, stop after epoch 3.
  TinyNet net2;
  o.monitor_mode = "max";
  o.run_dir = "";
  Trainer maxed(net2.ptr(), source, testing::mse_step(net2), eval, o);
  auto r2 = maxed.fit();
  EXPECT_EQ(r2.epochs_completed, 3);
  EXPECT_EQ(r2.best_epoch, 1);
}

TEST(Trainer, ValidateEveryAndMonitorErrors) {
  TinyNet net;
  TensorBatchSource source(testing::regression_data(32, 1), 16);
  auto o = base_options("");
  o.epochs = 5;
  o.validate_every = 2;
  int64_t calls = 0;
  EvalFn eval = [&](StepContext&) {
    ++calls;
    return std::map<std::string, double>{{"loss", 1.0}};
  };
  Trainer trainer(net.ptr(), source, testing::mse_step(net), eval, o);
  trainer.fit();
  EXPECT_EQ(calls, 3);  // epochs 2, 4 and the last one
  const auto& rows = trainer.metrics_log().rows();
  EXPECT_FALSE(rows[0].contains("val_loss"));
  EXPECT_TRUE(rows[1].contains("val_loss"));

  // Monitoring a validation metric without an evaluation function is refused up front.
  auto bad = base_options("");
  EXPECT_THROW(Trainer(net.ptr(), source, testing::mse_step(net), nullptr, bad), Error);
  // A monitored metric the evaluation never reports is named.
  bad.monitor = "val_dice";
  Trainer missing(net.ptr(), source, testing::mse_step(net), eval, bad);
  try {
    missing.fit();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'val_dice'"), std::string::npos) << e.what();
  }
}

TEST(Trainer, AmpOnCpuWarnsAndTrainsInFp32) {
  TinyNet net;
  TensorBatchSource source(testing::regression_data(32, 1), 16);
  auto o = base_options("");
  o.monitor = "train_loss";
  o.amp = "bf16";
  o.epochs = 1;
  Trainer trainer(net.ptr(), source, testing::mse_step(net), nullptr, o);
  auto r = trainer.fit();
  EXPECT_EQ(r.global_step, 2);
  EXPECT_EQ(net->head->weight.dtype(), torch::kFloat32);
  o.amp = "fp8";
  EXPECT_THROW(Trainer(net.ptr(), source, testing::mse_step(net), nullptr, o), Error);
  if (!torch::cuda::is_available()) {
    o.amp = "none";
    o.device = "cuda";
    Trainer gpu(net.ptr(), source, testing::mse_step(net), nullptr, o);
    EXPECT_THROW(gpu.fit(), Error);
  }
}

}  // namespace
}  // namespace medssl::train
