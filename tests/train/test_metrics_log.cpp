#include <gtest/gtest.h>

#include <sstream>

#include "medssl/core/atomic_file.h"
#include "medssl/train/metrics_log.h"
#include "medssl/train/trainer.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(MetricsLog, HeaderIsUnionInFirstSeenOrderAndFilesAreComplete) {
  testkit::TempDir dir;
  MetricsLog log(dir.path());
  log.append({{"epoch", 1}, {"train_loss", 0.5}, {"note", "a,b"}});
  EXPECT_EQ(read_file(dir.file("metrics.csv")), "epoch,train_loss,note\n1,0.5,\"a,b\"\n");
  log.append({{"epoch", 2}, {"train_loss", 0.25}, {"val_loss", 0.75}});
  EXPECT_EQ(read_file(dir.file("metrics.csv")), "epoch,train_loss,note,val_loss\n1,0.5,\"a,b\",\n2,0.25,,0.75\n");
  auto jsonl = lines_of(read_file(dir.file("metrics.jsonl")));
  ASSERT_EQ(jsonl.size(), 2u);
  EXPECT_EQ(jsonl[1], R"({"epoch":2,"train_loss":0.25,"val_loss":0.75})");

  MetricsLog reloaded(dir.path());
  reloaded.reload(1);
  ASSERT_EQ(reloaded.rows().size(), 1u);
  EXPECT_EQ(reloaded.rows()[0]["note"], "a,b");
}

TEST(MetricsLog, TrainerWritesOneRowPerEpoch) {
  testkit::TempDir dir;
  testing::TinyNet net;
  TensorBatchSource source(testing::regression_data(48, 1), 16);
  TrainerOptions o;
  o.epochs = 2;
  o.run_dir = dir.path();
  auto val = testing::regression_data(16, 3);
  Trainer trainer(net.ptr(), source, testing::mse_step(net), testing::mse_eval(net, val), o);
  trainer.fit();

  auto csv = lines_of(read_file(dir.file("metrics.csv")));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[0], "epoch,step,lr,train_loss,train_mae,val_loss,time_s,samples_per_s,data_wait_frac,skipped_steps");
  EXPECT_EQ(csv[2].substr(0, 9), "2,6,0.001");
  auto jsonl = lines_of(read_file(dir.file("metrics.jsonl")));
  ASSERT_EQ(jsonl.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    auto row = nlohmann::json::parse(jsonl[i]);
    EXPECT_EQ(row["epoch"], i + 1);
    EXPECT_EQ(row["step"], 3 * (i + 1));
    EXPECT_GT(row["train_loss"].get<double>(), 0.0);
    EXPECT_GT(row["val_loss"].get<double>(), 0.0);
    EXPECT_GT(row["samples_per_s"].get<double>(), 0.0);
    double wait = row["data_wait_frac"].get<double>();
    EXPECT_GT(wait, 0.0);
    EXPECT_LT(wait, 1.0);
    EXPECT_GT(row["time_s"].get<double>(), 0.0);
  }
  // last.json: the manifest plus where the checkpoint is.
  auto manifest = nlohmann::json::parse(read_file(dir.file("checkpoints/last.json")));
  EXPECT_EQ(manifest["checkpoint"]["epoch"], 2);
  EXPECT_EQ(manifest["checkpoint"]["global_step"], 6);
}

TEST(MetricsLog, DataWaitFractionSeesASlowSource) {
  // A source that sleeps 20 ms per batch dominates tiny steps: data_wait_frac must be high.
  struct SlowSource : TensorBatchSource {
    using TensorBatchSource::TensorBatchSource;
    Batch next() override {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return TensorBatchSource::next();
    }
  };
  testing::TinyNet net;
  SlowSource source(testing::regression_data(64, 1), 16);
  TrainerOptions o;
  o.monitor = "";
  Trainer trainer(net.ptr(), source, testing::mse_step(net), nullptr, o);
  trainer.fit();
  EXPECT_GT(trainer.metrics_log().rows()[0]["data_wait_frac"].get<double>(), 0.5);
}

}  // namespace
}  // namespace medssl::train
