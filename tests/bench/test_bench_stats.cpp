// The bench plumbing that needs no network: size arguments, step-time statistics, memory readings.
#include <gtest/gtest.h>

#include "medssl/bench/bench_stats.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::error_of;

TEST(BenchStats, ParsesSizesJoinedByX) {
  EXPECT_EQ(bench::parse_sizes("1x64x64x64", "--input", 3, 4), (std::vector<int64_t>{1, 64, 64, 64}));
  EXPECT_EQ(bench::parse_sizes("3x224x224", "--input", 3, 4), (std::vector<int64_t>{3, 224, 224}));
  EXPECT_EQ(bench::format_sizes({512, 512, 128}), "512x512x128");
}

TEST(BenchStats, RejectsMalformedSizesNamingTheOption) {
  for (const char* bad : {"", "1x", "x64", "1xx64", "1x0x64", "1x-3x4", "1x64xab", "1x2.5x3"})
    EXPECT_NE(error_of([&] { bench::parse_sizes(bad, "--input", 3, 4); }).find("--input"), std::string::npos) << bad;
  const auto count = error_of([] { bench::parse_sizes("64x64", "--volume", 3, 3); });
  EXPECT_NE(count.find("3 sizes"), std::string::npos) << count;
  EXPECT_NE(error_of([] { bench::parse_sizes("1x2x3x4x5", "--input", 3, 4); }).find("3 to 4"), std::string::npos);
}

TEST(BenchStats, QuantilesInterpolateLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4], [10, 50, 90]) = [1.3, 2.5, 3.7]; order of the input does not matter.
  const std::vector<double> v{4, 1, 3, 2};
  EXPECT_NEAR(bench::quantile(v, 0.1), 1.3, 1e-12);
  EXPECT_NEAR(bench::quantile(v, 0.5), 2.5, 1e-12);
  EXPECT_NEAR(bench::quantile(v, 0.9), 3.7, 1e-12);
  const auto s = bench::time_stats({2.0, 0.5, 1.0});
  EXPECT_EQ(s.n, 3);
  EXPECT_DOUBLE_EQ(s.median, 1.0);
  EXPECT_DOUBLE_EQ(s.min, 0.5);
  EXPECT_DOUBLE_EQ(s.max, 2.0);
  EXPECT_NEAR(s.mean, 3.5 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(bench::time_stats({0.25}).p90, 0.25);
  EXPECT_FALSE(error_of([] { bench::time_stats({}); }).empty());
  EXPECT_FALSE(error_of([] { bench::quantile({1.0}, 1.5); }).empty());
}

TEST(BenchStats, PeakResidentSetIsAtLeastTheCurrentOne) {
  const double now = bench::rss_mb();
  EXPECT_GT(now, 0.0);
  {
    std::vector<char> block(64 << 20, 1);  // touch 64 MiB so the peak must rise above the start
    EXPECT_GE(bench::peak_rss_mb(), now + 60.0) << static_cast<int>(block[12345]);
  }
  // Current first: the process may grow between the two reads (it did under ASan), and /proc reports VmHWM as at
  // least the VmRSS of the same moment.
  const double current = bench::rss_mb();
  EXPECT_GE(bench::peak_rss_mb(), current);
}
