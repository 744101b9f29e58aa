#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/train/schedule.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

const double kPi = std::acos(-1.0);

TEST(Schedule, ConstantIsConstant) {
  LrSchedule s({"constant", 0.01});
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.01);
  EXPECT_DOUBLE_EQ(s.lr_at(123456), 0.01);
}

TEST(Schedule, CosineMatchesFormula) {
  ScheduleOptions o{"cosine", 0.1, 0.001, 100};
  LrSchedule s(o);
  for (int64_t step : {0, 13, 25, 50, 77, 99}) {
    double expected = 0.001 + 0.5 * (0.1 - 0.001) * (1 + std::cos(kPi * step / 100.0));
    EXPECT_NEAR(s.lr_at(step), expected, 1e-12) << "step " << step;
  }
  EXPECT_NEAR(s.lr_at(50), (0.1 + 0.001) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(s.lr_at(100), 0.001);
  EXPECT_DOUBLE_EQ(s.lr_at(1000), 0.001);
}

TEST(Schedule, WarmupThenCosine) {
  ScheduleOptions o{"warmup_cosine", 0.2, 0.0, 110, 10, 0.02};
  LrSchedule s(o);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.02);
  EXPECT_NEAR(s.lr_at(3), 0.02 + (0.2 - 0.02) * 3 / 9.0, 1e-12);
  EXPECT_NEAR(s.lr_at(9), 0.2, 1e-12);  // warm-up ends at the base lr
  EXPECT_NEAR(s.lr_at(10), 0.2, 1e-12);  // cosine starts there
  EXPECT_NEAR(s.lr_at(60), 0.5 * 0.2 * (1 + std::cos(kPi * 50 / 100.0)), 1e-12);
  EXPECT_NEAR(s.lr_at(85), 0.5 * 0.2 * (1 + std::cos(kPi * 75 / 100.0)), 1e-12);
  EXPECT_DOUBLE_EQ(s.lr_at(110), 0.0);
  // Monotone up during warm-up, down afterwards.
  for (int64_t i = 1; i < 10; ++i) EXPECT_GT(s.lr_at(i), s.lr_at(i - 1));
  for (int64_t i = 11; i <= 110; ++i) EXPECT_LE(s.lr_at(i), s.lr_at(i - 1));
}

TEST(Schedule, ApplySkipsFixedGroupsAndScalesOthers) {
  testing::TinyNet net;
  OptimizerOptions o;
  o.lr = 0.1;
  o.groups.push_back({"head.weight", 0.05, std::nullopt, false});  // scales with the schedule
  o.groups.push_back({"head.bias", 0.3, std::nullopt, true});      // fixed (SimSiam predictor style)
  auto built = build_optimizer(*net, o);
  ASSERT_EQ(built.groups.size(), 3u);
  LrSchedule s({"cosine", 0.1, 0.0, 10});
  s.set_step(5);
  s.apply(*built.optimizer, built.groups);
  auto& pg = built.optimizer->param_groups();
  EXPECT_NEAR(group_lr(pg[0]), 0.05, 1e-12);        // 0.1 * 0.5
  EXPECT_NEAR(group_lr(pg[1]), 0.05 * 0.5, 1e-12);  // same factor
  EXPECT_DOUBLE_EQ(group_lr(pg[2]), 0.3);           // untouched
  s.advance();
  EXPECT_EQ(s.step(), 6);
}

TEST(Schedule, InvalidOptionsAreClearErrors) {
  EXPECT_THROW((LrSchedule(ScheduleOptions{"cosine", 0.1, 0.0, 0})), Error);
  EXPECT_THROW((LrSchedule(ScheduleOptions{"warmup_cosine", 0.1, 0.0, 10, 10})), Error);
  try {
    LrSchedule({"step", 0.1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'step'"), std::string::npos);
  }
}

}  // namespace
}  // namespace medssl::train
