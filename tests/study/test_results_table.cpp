#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/study/results_table.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::study;
using testkit::error_of;

namespace {

// Three repetitions of one cell with a hand-computable spread, one single-repetition cell, and a second metric;
// given out of order on purpose (baseline last, fractions descending).
std::vector<ResultRow> sample_rows() {
  return {
      {"rotation", 100.0, 0, "dice", 0.9},
      {"rotation", 10.0, 0, "dice", 0.5},
      {"rotation", 10.0, 1, "dice", 0.7},
      {"rotation", 10.0, 2, "dice", 0.9},
      {"rotation", 10.0, 0, "dice_curve_mean", 0.4},
      {"baseline", 10.0, 0, "dice", 0.25},
      {"baseline", 10.0, 1, "dice", 0.35},
  };
}

const SummaryRow& find(const std::vector<SummaryRow>& s, const std::string& m, double f, const std::string& metric) {
  for (const auto& r : s)
    if (r.method == m && r.fraction == f && r.metric == metric) return r;
  throw std::runtime_error("no summary row " + m);
}

}  // namespace

TEST(ResultsTable, SummaryMatchesHandComputedValues) {
  auto s = summarize(sample_rows());
  const auto& r = find(s, "rotation", 10.0, "dice");
  EXPECT_EQ(r.n, 3);
  EXPECT_NEAR(r.mean, 0.7, 1e-12);
  EXPECT_NEAR(r.std, 0.2, 1e-12);  // sqrt((0.04 + 0 + 0.04) / (3 - 1))
  EXPECT_DOUBLE_EQ(r.min, 0.5);
  EXPECT_DOUBLE_EQ(r.max, 0.9);
  const auto& b = find(s, "baseline", 10.0, "dice");
  EXPECT_EQ(b.n, 2);
  EXPECT_NEAR(b.mean, 0.3, 1e-12);
  EXPECT_NEAR(b.std, std::sqrt(0.005), 1e-12);  // (0.05^2 * 2) / 1
  const auto& single = find(s, "rotation", 100.0, "dice");
  EXPECT_EQ(single.n, 1);
  EXPECT_DOUBLE_EQ(single.mean, 0.9);
  EXPECT_EQ(single.std, 0.0);
}

TEST(ResultsTable, SummaryOrderIsBaselineFirstThenFractionsAscending) {
  auto s = summarize(sample_rows());
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].method, "baseline");
  EXPECT_EQ(s[1].method, "rotation");
  EXPECT_EQ(s[1].fraction, 10.0);
  EXPECT_EQ(s[1].metric, "dice");
  EXPECT_EQ(s[2].metric, "dice_curve_mean");
  EXPECT_EQ(s[3].fraction, 100.0);
  // An explicit order wins over "baseline first".
  auto t = summarize(sample_rows(), {"rotation", "baseline"});
  EXPECT_EQ(t.front().method, "rotation");
  EXPECT_EQ(t.back().method, "baseline");
}

TEST(ResultsTable, NanRunMakesTheCellNanInsteadOfBeingDropped) {
  auto rows = sample_rows();
  rows.push_back({"baseline", 10.0, 2, "dice", std::nan("")});
  auto s = summarize(rows);
  const auto& b = find(s, "baseline", 10.0, "dice");
  EXPECT_EQ(b.n, 3);
  EXPECT_TRUE(std::isnan(b.mean));
}

TEST(ResultsTable, DuplicateCellIsAnError) {
  auto rows = sample_rows();
  rows.push_back({"rotation", 10.0, 1, "dice", 0.1});
  auto msg = error_of([&] { summarize(rows); });
  EXPECT_NE(msg.find("method 'rotation', fraction 10, repetition 1, metric 'dice'"), std::string::npos) << msg;
}

TEST(ResultsTable, CsvRoundTripIsExactAndDeterministic) {
  testkit::TempDir dir;
  auto rows = sample_rows();
  rows.push_back({"needs,quoting \"x\"", 100.0 / 3.0, 7, "qwk", -1.0 / 7.0});
  write_results_csv(dir.file("a.csv"), rows);
  auto reversed = rows;
  std::reverse(reversed.begin(), reversed.end());
  write_results_csv(dir.file("b.csv"), reversed);
  EXPECT_EQ(testkit::read_text(dir.file("a.csv")), testkit::read_text(dir.file("b.csv")));

  const std::string text = testkit::read_text(dir.file("a.csv"));
  EXPECT_EQ(text.substr(0, text.find('\n')), "method,fraction,repetition,metric,value");
  EXPECT_NE(text.find("\nbaseline,10,0,dice,0.25\n"), std::string::npos) << text;

  auto back = read_results_csv(dir.file("a.csv"));
  auto expected = rows;
  sort_results(expected);
  ASSERT_EQ(back.size(), expected.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].method, expected[i].method);
    EXPECT_EQ(back[i].fraction, expected[i].fraction);  // exact: shortest round-trip text
    EXPECT_EQ(back[i].repetition, expected[i].repetition);
    EXPECT_EQ(back[i].metric, expected[i].metric);
    EXPECT_EQ(back[i].value, expected[i].value);
  }
  EXPECT_EQ(back[0].method, "baseline");
}

TEST(ResultsTable, NanValueRoundTrips) {
  testkit::TempDir dir;
  write_results_csv(dir.file("r.csv"), {{"baseline", 50.0, 0, "dice", std::nan("")}});
  EXPECT_NE(testkit::read_text(dir.file("r.csv")).find("baseline,50,0,dice,nan"), std::string::npos);
  auto back = read_results_csv(dir.file("r.csv"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(std::isnan(back[0].value));
}

TEST(ResultsTable, MalformedCsvErrorsNameFileAndLine) {
  testkit::TempDir dir;
  const std::string header = "method,fraction,repetition,metric,value\n";
  const std::string good = "baseline,10,0,dice,0.5\n";
  struct Case {
    std::string body, expected;
  };
  const std::vector<Case> cases = {
      {header + good + "rotation,abc,0,dice,0.5\n", "results.csv:3: fraction 'abc'"},
      {header + good + "rotation,100.5,0,dice,0.5\n", "results.csv:3: fraction '100.5' is not a percentage in (0, 100]"},
      {header + good + "rotation,10,0,dice,0.5\n" + "rotation,0,0,dice,0.5\n", "results.csv:4: fraction '0'"},
      {header + "rotation,10,-1,dice,0.5\n", "results.csv:2: repetition '-1'"},
      {header + "rotation,10,1.5,dice,0.5\n", "results.csv:2: repetition '1.5'"},
      {header + good + "rotation,10,0,dice,0.5x\n", "results.csv:3: value '0.5x' is not a number"},
      {header + good + "rotation,10,0,,0.5\n", "results.csv:3: empty metric name"},
      {header + good + good, "results.csv:3: duplicate of line 2"},
      {header + good + "rotation,10,0\n", "results.csv:3"},
      {"method,fraction,rep,metric,value\n" + good, "results.csv:1: results header must be exactly"},
  };
  for (const auto& c : cases) {
    testkit::write_text(dir.file("results.csv"), c.body);
    auto msg = error_of([&] { read_results_csv(dir.file("results.csv")); });
    EXPECT_NE(msg.find(c.expected), std::string::npos) << "expected '" << c.expected << "' in: " << msg;
  }
  auto missing = error_of([&] { read_results_csv(dir.file("absent.csv")); });
  EXPECT_NE(missing.find("absent.csv"), std::string::npos) << missing;
}

TEST(ResultsTable, SummaryCsvHasTheDocumentedColumns) {
  testkit::TempDir dir;
  write_summary_csv(dir.file("summary.csv"), summarize(sample_rows()));
  const std::string text = testkit::read_text(dir.file("summary.csv"));
  EXPECT_EQ(text.substr(0, text.find('\n')), "method,fraction,metric,n,mean,std,min,max");
  EXPECT_NE(text.find("\nbaseline,10,dice,2,0.3"), std::string::npos) << text;
  EXPECT_NE(text.find("\nrotation,100,dice,1,0.9,0,0.9,0.9\n"), std::string::npos) << text;
  // 5 lines: header + 4 cells.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
}

TEST(ResultsTable, PercentAndCurveMetricHelpers) {
  EXPECT_EQ(format_percent(0.07 * 100), "7");  // 7.000000000000001
  EXPECT_EQ(format_percent(5), "5");
  EXPECT_EQ(format_percent(12.5), "12.5");
  EXPECT_EQ(format_percent(100.0), "100");
  EXPECT_EQ(format_percent(100.0 / 3), "33.3333");
  EXPECT_TRUE(is_curve_metric("dice_curve_mean"));
  EXPECT_FALSE(is_curve_metric("dice"));
  EXPECT_FALSE(is_curve_metric("_curve_meanx"));
  EXPECT_EQ(ordered_methods({"b", "baseline", "a"}), (std::vector<std::string>{"baseline", "a", "b"}));
  EXPECT_EQ(ordered_methods({"a", "baseline", "b"}, {"b", "zzz"}), (std::vector<std::string>{"b", "baseline", "a"}));
}
