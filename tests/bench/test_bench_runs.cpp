// `medssl bench` end to end on tiny networks: a train run through the real Trainer (steps counted, record fields),
// the data-pipeline rate over a synthetic data set, sliding-window windows, and the errors for bad requests.
// No timing is asserted: the numbers depend on the machine; only that they exist and are consistent.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "medssl/bench/data_bench.h"
#include "medssl/bench/sliding_window_bench.h"
#include "medssl/bench/train_bench.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::error_of;

namespace {
// A small pretrain config: 2-level UNet encoder with 4 base filters.
const std::vector<std::string> kTinyEncoder = {"enc_filters=4", "num_layers=2"};
}  // namespace

TEST(BenchTrain, TimesEveryRequestedStepThroughTheTrainerAndReportsTheRecordFields) {
  bench::TrainBenchOptions o;
  o.network.task = "rotation";
  o.network.input = {1, 16, 16};
  o.network.batch = 3;
  o.network.sets = kTinyEncoder;
  o.steps = 2;
  o.warmup = 1;
  const auto r = bench::run_train_bench(o);
  EXPECT_EQ(r.label, "task=rotation");
  EXPECT_EQ(r.step.n, 2);
  EXPECT_GT(r.step.median, 0.0);
  EXPECT_LE(r.step.p10, r.step.median);
  EXPECT_GE(r.step.p90, r.step.median);
  EXPECT_EQ(r.samples_per_step, 3);
  EXPECT_NEAR(r.samples_per_s, 3.0 / r.step.median, 1e-9);
  EXPECT_GT(r.params, 0);
  EXPECT_GE(r.peak_rss_mb, r.baseline_rss_mb);
  EXPECT_EQ(r.batch["input"], nlohmann::ordered_json::array({3, 1, 16, 16}));
  EXPECT_EQ(r.batch["label"], nlohmann::ordered_json::array({3}));

  const auto j = bench::to_json(o, r);
  for (const char* key : {"side", "case", "params", "batch", "samples_per_step", "threads", "step_s", "samples_per_s",
                          "peak_rss_mb", "baseline_rss_mb", "data_wait_frac"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["side"], "medssl");
  EXPECT_EQ(j["case"], "train task=rotation input=1x16x16 batch=3");
  EXPECT_EQ(j["step_s"]["n"], 2);
}

TEST(BenchTrain, ModelCasesBuildTheFinetuningNetworkWithItsLabels) {
  bench::NetworkRequest r;
  r.model = "unet3d";
  r.input = {1, 32, 32, 32};
  r.batch = 2;
  const auto net = bench::build_bench_network(r);
  EXPECT_EQ(net.label, "model=unet3d");
  EXPECT_EQ(bench::batch_shapes(net.batch)["image"], nlohmann::ordered_json::array({2, 1, 32, 32, 32}));
  EXPECT_EQ(bench::batch_shapes(net.batch)["label"], nlohmann::ordered_json::array({2, 32, 32, 32}));
  // The reference Keras count of the 3D UNet (models/unet.h); the PyTorch peer prints the same.
  int64_t params = 0;
  for (const auto& p : net.module->parameters()) params += p.numel();
  EXPECT_EQ(params, 5647891);
}

TEST(BenchTrain, PretextBatchesHaveTheTaskShapes) {
  bench::NetworkRequest r;
  r.task = "rpl";
  r.input = {1, 24, 24};
  r.batch = 2;
  r.sets = {"enc_filters=4", "num_layers=1", "patch_jitter=2"};
  // 24 / 3 = 8-voxel cells, minus the jitter: 6-voxel patches; a pair (centre, query) per image.
  EXPECT_EQ(bench::batch_shapes(bench::build_bench_network(r).batch)["input"],
            nlohmann::ordered_json::array({2, 2, 1, 6, 6}));
}

TEST(BenchTrain, BadRequestsAreErrorsNamingTheOption) {
  bench::NetworkRequest r;
  r.model = "unet9d";
  r.input = {1, 32, 32};
  EXPECT_NE(error_of([&] { bench::build_bench_network(r); }).find("unknown --model \"unet9d\""), std::string::npos);
  r.model = "unet3d";
  EXPECT_NE(error_of([&] { bench::build_bench_network(r); }).find("needs a 3D --input"), std::string::npos);
  r.model.clear();
  r.task = "rotation";
  r.input = {1, 32, 24};
  EXPECT_NE(error_of([&] { bench::build_bench_network(r); }).find("square / cubic"), std::string::npos);
  r.input = {1, 32, 32};
  r.sets = {"patches_per_sid=3"};
  EXPECT_NE(error_of([&] { bench::build_bench_network(r); }).find("patches_per_sid"), std::string::npos);
  bench::TrainBenchOptions o;
  o.network.task = "rotation";
  o.network.input = {1, 16, 16};
  o.network.sets = kTinyEncoder;
  o.optimizer = "lamb";
  EXPECT_NE(error_of([&] { bench::run_train_bench(o); }).find("--optimizer"), std::string::npos);
  o.optimizer = "adam";
  o.device = "tpu";
  EXPECT_NE(error_of([&] { bench::run_train_bench(o); }).find("--device"), std::string::npos);
}

TEST(BenchData, MeasuresEveryWorkerCountOverASyntheticSet) {
  testkit::TempDir dir;
  bench::DataBenchOptions o;
  o.work_dir = dir.path();
  o.cases = 3;
  o.synth_size = 16;
  o.data_dim = 16;
  o.data_is_3d = false;  // 2D slices of the 16^3 volumes
  o.task = "rotation";
  o.sets = kTinyEncoder;
  o.batch = 4;
  o.batches = 3;
  o.workers = {0, 2};
  const auto r = bench::run_data_bench(o);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].workers, 0);
  EXPECT_EQ(r.rows[1].workers, 2);
  for (const auto& row : r.rows) {
    EXPECT_GT(row.batches_per_s, 0.0);
    EXPECT_NEAR(row.samples_per_s, row.batches_per_s * 4, 1e-9);
  }
  EXPECT_EQ(r.images, 3 * 16);  // every axial slice of 3 cases
  EXPECT_EQ(r.batch["input"], nlohmann::ordered_json::array({4, 1, 16, 16}));
  const auto j = bench::to_json(o, r);
  EXPECT_EQ(j["rows"].size(), 2u);
  EXPECT_TRUE(j.contains("prepare_s"));
}

TEST(BenchSlidingWindow, RunsTheWindowGridOfTheVolume) {
  bench::SlidingWindowBenchOptions o;
  o.volume = {48, 40, 32};  // i x j x k -> tensor (1, 1, 32, 40, 48)
  o.roi = 32;
  o.overlap = 0.5;
  o.sw_batch = 2;
  o.mode = "constant";
  const auto r = bench::run_sliding_window_bench(o);
  // interval 16: 2 windows along i (0, 16), 2 along j (0, 8), 1 along k (roi == size).
  EXPECT_EQ(r.windows, 4);
  EXPECT_EQ(r.seconds.size(), 1u);
  EXPECT_GT(r.windows_per_s, 0.0);
  EXPECT_NE(error_of([&] {
              auto bad = o;
              bad.model = "densenet121_2d";
              bench::run_sliding_window_bench(bad);
            }).find("3D segmentation network"),
            std::string::npos);
}
