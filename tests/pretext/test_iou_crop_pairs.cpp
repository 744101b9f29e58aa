// The IoU-constrained crop-pair sampler: every pair satisfies its interval (both ends inclusive), the IoUs spread over
// the interval, crops stay inside the image, draws are seeded, impossible intervals are named; and the reference's
// rejection sampler, whose fallback rate is printed for comparison.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>

#include "medssl/pretext/iou_crop_pairs.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::pretext;
using testing::HasSubstr;

namespace {

struct Case {
  std::vector<int64_t> image, size1, size2;
  double max_reachable = 1.0;  ///< the largest IoU two such crops can have
};

bool inside(const CropBox& box, const std::vector<int64_t>& image) {
  for (size_t d = 0; d < image.size(); ++d)
    if (box.start[d] < 0 || box.start[d] + box.size[d] > image[d]) return false;
  return true;
}

}  // namespace

TEST(IouCropPairs, BoxIouMatchesHandComputedValues) {
  CropBox a{{0, 0}, {4, 4}}, b{{2, 0}, {4, 4}}, c{{4, 0}, {4, 4}};
  EXPECT_DOUBLE_EQ(box_iou(a, a), 1.0);
  EXPECT_DOUBLE_EQ(box_iou(a, b), 8.0 / 24.0);  // overlap 2 x 4 = 8, union 16 + 16 - 8
  EXPECT_DOUBLE_EQ(box_iou(a, c), 0.0);         // touching boxes count as 0, as the reference
  CropBox d{{1, 1, 1}, {2, 2, 2}}, e{{0, 0, 0}, {4, 4, 4}};
  EXPECT_DOUBLE_EQ(box_iou(d, e), 8.0 / 64.0);  // a small cube inside a big one
}

TEST(IouCropPairs, TenThousandPairsPerIntervalSatisfyItIn2DAnd3D) {
  const std::vector<IouInterval> intervals = {{0, 0}, {0.0001, 0.3}, {0.3, 0.6}, {0.6, 1.0}, {1, 1}, {0, 1}};
  const std::vector<Case> shapes = {
      {{64, 64}, {24, 24}, {24, 24}},
      {{20, 32, 28}, {12, 12, 12}, {12, 12, 12}},
      // Crops of different sizes and aspect ratios: at most 16 x 12 = 192 shared, IoU <= 192 / (320 + 288 - 192).
      {{48, 40}, {16, 20}, {24, 12}, 192.0 / 416.0},
  };
  for (const auto& shape : shapes) {
    for (const auto& interval : intervals) {
      if (interval.min_iou > shape.max_reachable) continue;
      Rng rng(static_cast<uint64_t>(interval.min_iou * 1e4 + interval.max_iou * 10 + shape.image.size()));
      double lo = 2, hi = -1;
      for (int i = 0; i < 10000; ++i) {
        const auto pair = sample_iou_pair(shape.image, shape.size1, shape.size2, interval, rng);
        ASSERT_GE(pair.iou, interval.min_iou) << "pair " << i;
        ASSERT_LE(pair.iou, interval.max_iou) << "pair " << i;
        ASSERT_DOUBLE_EQ(pair.iou, box_iou(pair.first, pair.second));
        ASSERT_TRUE(inside(pair.first, shape.image) && inside(pair.second, shape.image));
        ASSERT_EQ(pair.first.size, shape.size1);
        ASSERT_EQ(pair.second.size, shape.size2);
        lo = std::min(lo, pair.iou);
        hi = std::max(hi, pair.iou);
      }
      // The draws cover the interval: both ends are approached within a tenth of its width (or a hair for [a, a]).
      const double width = interval.max_iou - interval.min_iou;
      EXPECT_LE(lo - interval.min_iou, 0.1 * width + 1e-12) << interval.min_iou << ".." << interval.max_iou;
      EXPECT_LE(std::min(interval.max_iou, shape.max_reachable) - hi, 0.1 * width + 0.02)
          << interval.min_iou << ".." << interval.max_iou;
    }
  }
}

TEST(IouCropPairs, SecondCropIsUniformOverTheAdmissiblePositions) {
  // 1-pixel-thin images make the admissible set small enough to count: image 10 x 1, crops 4 x 1, IoU in [0.3, 0.6]
  // means overlaps of 2 or 3 pixels (IoU 2/6, 3/5; 1 pixel gives 1/7, 4 gives 1). Crop 1 at 3 covers 3..6: crop 2
  // starting at 1, 2, 4 or 5 overlaps it by 2, 3, 3, 2, at 0, 3, 6 by 1, 4, 1. Each admissible start ~1/4.
  Rng rng(5);
  std::map<int64_t, int> counts;
  int trials = 0;
  for (int i = 0; i < 40000; ++i) {
    auto pair = sample_iou_pair({10, 1}, {4, 1}, {4, 1}, {0.3, 0.6}, rng);
    if (pair.first.start[0] != 3) continue;
    ++counts[pair.second.start[0]];
    ++trials;
  }
  ASSERT_GT(trials, 1000);
  ASSERT_EQ(counts.size(), 4u);
  for (auto start : {1, 2, 4, 5}) EXPECT_NEAR(counts[start] / static_cast<double>(trials), 0.25, 0.04) << start;
}

TEST(IouCropPairs, SeededDrawsRepeatAndImpossibleIntervalsAreNamed) {
  Rng a(17), b(17);
  for (int i = 0; i < 100; ++i) {
    auto p = sample_iou_pair({30, 30, 30}, {10, 10, 10}, {10, 10, 10}, {0.2, 0.5}, a);
    auto q = sample_iou_pair({30, 30, 30}, {10, 10, 10}, {10, 10, 10}, {0.2, 0.5}, b);
    ASSERT_EQ(p.first.start, q.first.start);
    ASSERT_EQ(p.second.start, q.second.start);
  }
  Rng rng(1);
  // Two 8-pixel crops of a 10-pixel axis overlap by >= 6 of 8 on each axis: IoU >= 36 / 92 > 0.3.
  EXPECT_THAT(testkit::error_of([&] { sample_iou_pair({10, 10}, {8, 8}, {8, 8}, {0.0, 0.3}, rng); }),
              HasSubstr("[0, 0.3]"));
  EXPECT_THAT(testkit::error_of([&] { sample_iou_pair({10, 10}, {12, 8}, {8, 8}, {0.0, 1.0}, rng); }),
              HasSubstr("do not fit"));
  EXPECT_THAT(testkit::error_of([&] { sample_iou_pair({10, 10}, {4, 4}, {4, 4}, {0.6, 0.3}, rng); }),
              HasSubstr("min_iou <= max_iou"));
}

TEST(IouCropPairs, ReferenceRejectionSamplerFallsBackWhereTheDirectSamplerNeverDoes) {
  // The reference's setting in 2D: 96 x 96 crops of 256 x 256 slices (r1 = 30, r2 = 4). The printed rates are the
  // figures quoted in docs/pretext-tasks.md; the direct sampler's violations are 0 by the test above.
  const std::vector<IouInterval> intervals = {{0, 0}, {0.0001, 0.3}, {0.3, 0.6}, {0.6, 1.0}, {0.9, 1.0}};
  for (const auto& interval : intervals) {
    Rng rng(3);
    int fallbacks = 0, violations = 0;
    const int n = 10000;
    for (int i = 0; i < n; ++i) {
      auto pair = sample_iou_pair_rejection({256, 256}, {96, 96}, interval, rng);
      fallbacks += pair.fell_back;
      violations += pair.iou < interval.min_iou || pair.iou > interval.max_iou;
      if (!pair.fell_back) {
        ASSERT_TRUE(pair.iou >= interval.min_iou && pair.iou <= interval.max_iou);
      }
    }
    std::cout << "reference sampler, IoU [" << interval.min_iou << ", " << interval.max_iou << "]: fallback in "
              << fallbacks << " of " << n << " pairs (" << 100.0 * fallbacks / n << " %), " << violations
              << " outside the interval\n";
    ::testing::Test::RecordProperty("fallback_" + std::to_string(interval.min_iou) + "_" +
                                        std::to_string(interval.max_iou),
                                    fallbacks);
  }
  // A narrow interval makes rejection sampling fail often; the direct sampler still returns admissible pairs.
  Rng rng(4);
  int narrow_fallbacks = 0;
  for (int i = 0; i < 1000; ++i) narrow_fallbacks += sample_iou_pair_rejection({256, 256}, {96, 96}, {0.95, 0.96}, rng).fell_back;
  EXPECT_GT(narrow_fallbacks, 100);
  for (int i = 0; i < 1000; ++i) {
    auto pair = sample_iou_pair({256, 256}, {96, 96}, {96, 96}, {0.95, 0.96}, rng);
    ASSERT_TRUE(pair.iou >= 0.95 && pair.iou <= 0.96);
  }
}
