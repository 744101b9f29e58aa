// Data splits: the reference's 90/10 pretraining split (made by case), strided k folds and label-fraction subsets,
// with sizes checked against Python's own arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <sstream>

#include "loader_fixtures.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/data/loader/split.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::data;
using testkit::error_of;

namespace {

std::vector<int64_t> iota(int64_t n, int64_t start = 0) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::set<int64_t> cases_of(const std::vector<int64_t>& items, const std::vector<int64_t>& case_of_item) {
  std::set<int64_t> out;
  for (int64_t i : items) out.insert(case_of_item[static_cast<size_t>(i)]);
  return out;
}

}  // namespace

TEST(Split, PretrainingSplitOfSlicesIsByCase) {
  ImageSetOptions o;
  o.spatial_dims = 2;
  auto set = ImageSet::from_cache(loader_testing::ct_cubes(), o);  // 10 volumes of 16 slices
  ASSERT_EQ(set.size(), 160);
  auto split = pretraining_split(set);
  std::vector<int64_t> case_of_item;
  for (int64_t i = 0; i < set.size(); ++i) case_of_item.push_back(set.case_of(i));
  // int(10 * 0.9) = 9 cases train, in data-set order: the first 144 slices; the last volume validates.
  EXPECT_EQ(split.train, iota(144));
  EXPECT_EQ(split.val, iota(16, 144));
  EXPECT_EQ(cases_of(split.val, case_of_item), (std::set<int64_t>{9}));

  std::set<int64_t> validation_volumes;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    CaseSplitOptions shuffled;
    shuffled.shuffle_seed = seed;
    auto a = pretraining_split(set, shuffled), b = pretraining_split(set, shuffled);
    EXPECT_EQ(a.train, b.train) << "deterministic for a seed";
    EXPECT_EQ(a.val.size(), 16u);
    auto val_cases = cases_of(a.val, case_of_item), train_cases = cases_of(a.train, case_of_item);
    ASSERT_EQ(val_cases.size(), 1u);
    EXPECT_EQ(train_cases.size(), 9u);
    EXPECT_EQ(train_cases.count(*val_cases.begin()), 0u) << "no volume straddles train and validation";
    EXPECT_TRUE(std::is_sorted(a.train.begin(), a.train.end())) << "items keep their order inside each part";
    validation_volumes.insert(*val_cases.begin());
  }
  EXPECT_GE(validation_volumes.size(), 3u) << "the seed chooses the validation volume";
}

TEST(Split, ByCaseCountsCasesNotItems) {
  // 5 cases with very different item counts: train = int(5 * 0.6) = 3 cases, whatever their sizes.
  std::vector<int64_t> case_of_item{4, 4, 4, 4, 4, 4, 1, 1, 7, 2, 2, 2, 9};
  CaseSplitOptions o;
  o.train_fraction = 0.6;
  auto split = split_by_case(case_of_item, o);
  EXPECT_EQ(split.train, iota(9));  // cases 4, 1, 7 (first appearance order)
  EXPECT_EQ(split.val, (std::vector<int64_t>{9, 10, 11, 12}));
  o.train_fraction = 1.0;
  EXPECT_TRUE(split_by_case(case_of_item, o).val.empty());
  EXPECT_NE(error_of([] { split_by_case({3}); }).find("no training case"), std::string::npos);  // int(0.9) = 0
  o.train_fraction = 0.99;
  EXPECT_EQ(split_by_case({0, 1, 2}, o).val, (std::vector<int64_t>{2}));  // int(2.97) = 2
  o.train_fraction = 0.0;
  EXPECT_NE(error_of([&] { split_by_case({0, 1}, o); }).find("train_fraction"), std::string::npos);
}

TEST(Split, StridedFoldsPartitionLikeChunkify) {
  auto items = iota(11, 100);
  auto folds = strided_folds(items, 3);
  ASSERT_EQ(folds.size(), 3u);
  EXPECT_EQ(folds[0], (std::vector<int64_t>{100, 103, 106, 109}));
  EXPECT_EQ(folds[1], (std::vector<int64_t>{101, 104, 107, 110}));
  EXPECT_EQ(folds[2], (std::vector<int64_t>{102, 105, 108}));
  for (int k : {1, 2, 5, 11}) {  // disjoint and covering, sizes differ by at most one
    auto f = strided_folds(items, k);
    std::vector<int64_t> all;
    size_t smallest = items.size(), largest = 0;
    for (const auto& fold : f) {
      all.insert(all.end(), fold.begin(), fold.end());
      smallest = std::min(smallest, fold.size());
      largest = std::max(largest, fold.size());
    }
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, items) << k;
    EXPECT_LE(largest - smallest, 1u) << k;
  }
  EXPECT_EQ(all_but_fold(folds, 1), (std::vector<int64_t>{100, 103, 106, 109, 102, 105, 108}));
  EXPECT_NE(error_of([&] { all_but_fold(folds, 3); }).find("fold 3"), std::string::npos);
  EXPECT_NE(error_of([&] { strided_folds(items, 12); }).find("12 folds of 11"), std::string::npos);
  EXPECT_NE(error_of([&] { strided_folds(items, 0); }).find("0 folds"), std::string::npos);
}

TEST(Split, FractionsTakeTheFirstItemsOfTheOrder) {
  std::vector<int64_t> order{9, 3, 7, 1, 5, 0, 8, 2, 6, 4};
  EXPECT_EQ(first_fraction(order, 0.3), (std::vector<int64_t>{9, 3, 7}));
  EXPECT_EQ(first_fraction(order, 1.0), order);
  EXPECT_NE(error_of([&] { first_fraction(order, 0.05); }).find("selects none"), std::string::npos);
  EXPECT_NE(error_of([&] { first_fraction(order, 1.5); }).find("fraction"), std::string::npos);
  auto s = fraction_split(order, 0.5, 0.2);  // int(10 * 0.5 * 0.8) = 4, int(10 * 0.2) = 2
  EXPECT_EQ(s.train, (std::vector<int64_t>{9, 3, 7, 1}));
  EXPECT_EQ(s.val, (std::vector<int64_t>{5, 0}));
}

TEST(Split, SizesMatchPythonArithmetic) {
  if (!testkit::python_has("sys")) GTEST_SKIP() << "no python3";
  const std::vector<int> ns{7, 10, 29, 100, 333, 1000};
  const std::vector<double> ps{0.01, 0.05, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0};
  std::ostringstream expected;
  for (int n : ns)
    for (double p : ps) {
      auto order = iota(n);
      int64_t first = static_cast<int64_t>(n * p) > 0 ? static_cast<int64_t>(first_fraction(order, p).size()) : 0;
      auto fs = static_cast<int64_t>(n * p * 0.95) > 0 ? fraction_split(order, p, 0.05) : TrainValSplit{};
      auto folds = strided_folds(order, 5);
      expected << first << ' ' << fs.train.size() << ' ' << fs.val.size() << ' ' << folds[1].size() << ' '
               << folds[1].front() << '\n';
    }
  auto r = testkit::run_python(
      "def chunkify(lst, n): return [lst[i::n] for i in range(n)]\n"
      "for n in [7, 10, 29, 100, 333, 1000]:\n"
      "  for p in [0.01, 0.05, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0]:\n"
      "    lst = list(range(n)); tr = int(n * p * (1 - 0.05))\n"
      "    val = int(n * 0.05) if tr > 0 else 0\n"
      "    f = chunkify(lst, 5)\n"
      "    print(int(n * p), tr, val, len(f[1]), f[1][0])\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, expected.str());
}
