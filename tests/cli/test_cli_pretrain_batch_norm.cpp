// End-to-end: `medssl pretrain` recomputes the BatchNorm statistics before it validates (precise_bn_batches,
// pretext/precise_batch_norm.h), so the validation and the saved encoder use the statistics of the trained weights
// instead of moving averages that after a short run still hold mostly their initial values.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "medssl/weights/state_dict_io.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;

TEST(CliPretrainBatchNorm, ValidationAndEncoderUseRecalibratedStatistics) {
  testkit::TempDir dir;
  const auto ds = dir.file("ct");
  auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 6 --unlabelled 2 --size 32 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // One training step of rotation 3D (Keras BatchNorm momentum: the moving mean moves 1 % of the way).
  const std::string args = " --set algorithm=rotation --set data_dir=" + shell_quote(ds) +
                           " --set data_dim=16 --set enc_filters=4 --set num_layers=2 --set batch_size=2"
                           " --set epochs=1 --set steps_per_epoch=1 --set top_units=[16,16] --set workers=1 --threads 1";
  auto moving = run_cli("pretrain --out " + shell_quote(dir.file("moving")) + args + " --set precise_bn_batches=0");
  ASSERT_EQ(moving.exit_code, 0) << moving.output;
  auto precise = run_cli("pretrain --out " + shell_quote(dir.file("precise")) + args + " --set precise_bn_batches=3");
  ASSERT_EQ(precise.exit_code, 0) << precise.output;

  const auto before = weights::load_state_dict_file(dir.file("moving/encoder.pt"));
  const auto after = weights::load_state_dict_file(dir.file("precise/encoder.pt"));
  const std::string bn = "encoder.down0.norm1.";
  ASSERT_TRUE(before.count(bn + "running_mean") && after.count(bn + "running_mean"));
  // The first BatchNorm follows a ReLU: its input mean is positive. One step of momentum 0.01 leaves 1 % of it in
  // the moving average; recalibrated, the statistics are the batch averages themselves.
  const double moving_mean = before.at(bn + "running_mean").abs().max().item<double>();
  const double precise_mean = after.at(bn + "running_mean").abs().max().item<double>();
  EXPECT_GT(precise_mean, 0.0);
  EXPECT_LT(moving_mean, 0.05 * precise_mean) << moving_mean << " vs " << precise_mean;
  EXPECT_GT(before.at(bn + "running_var").min().item<double>(), 0.98) << "still the initial variance 1, nearly";
  // The counter keeps counting training batches, not the recalibration's.
  EXPECT_EQ(before.at(bn + "num_batches_tracked").item<int64_t>(), 1);
  EXPECT_EQ(after.at(bn + "num_batches_tracked").item<int64_t>(), 1);
  // Training itself is unchanged: same seed, same first step.
  const auto rows_moving = nlohmann::json::parse(testkit::read_text(dir.file("moving/pretrain.json")));
  const auto rows_precise = nlohmann::json::parse(testkit::read_text(dir.file("precise/pretrain.json")));
  EXPECT_DOUBLE_EQ(rows_moving["last_epoch"]["train_loss"].get<double>(),
                   rows_precise["last_epoch"]["train_loss"].get<double>());

  auto bad = run_cli("pretrain --out " + shell_quote(dir.file("bad")) + args + " --set precise_bn_batches=-1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("precise_bn_batches"), std::string::npos) << bad.output;
}
