// The finetuning data protocol: fixed test / val cases, nested training subsets per repetition, cross-validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "medssl/core/error.h"
#include "medssl/finetune/data_protocol.h"
#include "testkit/testkit.h"

using medssl::finetune::ProtocolOptions;
using medssl::finetune::protocol_split;
namespace testkit = medssl::testkit;

namespace {

std::vector<int64_t> cases(int n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

bool contains_all(const std::vector<int64_t>& big, const std::vector<int64_t>& small) {
  std::set<int64_t> b(big.begin(), big.end());
  return std::all_of(small.begin(), small.end(), [&](int64_t x) { return b.count(x) > 0; });
}

bool disjoint(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::set<int64_t> s(a.begin(), a.end());
  return std::none_of(b.begin(), b.end(), [&](int64_t x) { return s.count(x) > 0; });
}

}  // namespace

TEST(FinetuneProtocol, TestAndValAreFixedAndTrainingSubsetsAreNestedAndDisjoint) {
  const auto all = cases(100);
  ProtocolOptions o;
  for (int rep = 0; rep < 3; ++rep) {
    auto s100 = protocol_split(all, {}, 100, rep, o);
    auto s10 = protocol_split(all, {}, 10, rep, o);
    auto s5 = protocol_split(all, {}, 5, rep, o);
    EXPECT_EQ(s5.test.size(), 20u);
    EXPECT_EQ(s5.val.size(), 10u);
    EXPECT_EQ(s100.train.size(), 70u);
    EXPECT_EQ(s10.train.size(), 7u);
    EXPECT_EQ(s5.train.size(), 3u);
    EXPECT_EQ(s5.test, s100.test);
    EXPECT_EQ(s5.val, s10.val);
    EXPECT_TRUE(contains_all(s10.train, s5.train)) << "5 % must lie inside 10 % for repetition " << rep;
    EXPECT_TRUE(contains_all(s100.train, s10.train));
    for (const auto* s : {&s100, &s10, &s5}) {
      EXPECT_TRUE(disjoint(s->train, s->val));
      EXPECT_TRUE(disjoint(s->train, s->test));
      EXPECT_TRUE(disjoint(s->val, s->test));
    }
    if (rep > 0) {
      EXPECT_EQ(s100.test, protocol_split(all, {}, 100, 0, o).test);
    }
  }
  // Deterministic, and the repetition changes the subset.
  EXPECT_EQ(protocol_split(all, {}, 10, 1, o).train, protocol_split(all, {}, 10, 1, o).train);
  EXPECT_NE(protocol_split(all, {}, 10, 0, o).train, protocol_split(all, {}, 10, 1, o).train);
}

TEST(FinetuneProtocol, SmallDataKeepsAtLeastOneCaseEverywhereAndUsesTheDataSetsOwnTestSplit) {
  ProtocolOptions o;
  auto s = protocol_split(cases(10), {}, 1, 0, o);
  EXPECT_EQ(s.test.size(), 2u);
  EXPECT_EQ(s.val.size(), 1u);
  EXPECT_EQ(s.train.size(), 1u);
  auto own = protocol_split(cases(10), {20, 21, 22}, 100, 0, o);
  EXPECT_EQ(own.test, (std::vector<int64_t>{20, 21, 22}));
  EXPECT_EQ(own.train.size() + own.val.size(), 10u);
}

TEST(FinetuneProtocol, CrossValidationTestsOnStridedFolds) {
  ProtocolOptions o;
  o.cross_val = true;
  o.folds = 5;
  std::set<int64_t> tested;
  for (int rep = 0; rep < 5; ++rep) {
    auto s = protocol_split(cases(20), {}, 100, rep, o);
    EXPECT_EQ(s.test.size(), 4u);
    EXPECT_EQ(s.test[0], rep);  // chunkify: fold f = f, f + k, ...
    EXPECT_TRUE(disjoint(s.train, s.test));
    EXPECT_TRUE(disjoint(s.val, s.test));
    tested.insert(s.test.begin(), s.test.end());
  }
  EXPECT_EQ(tested.size(), 20u);
}

TEST(FinetuneProtocol, BadFractionsAndTooFewCasesAreClearErrors) {
  ProtocolOptions o;
  EXPECT_NE(testkit::error_of([&] { protocol_split(cases(10), {}, 0, 0, o); }).find("out of range"), std::string::npos);
  EXPECT_NE(testkit::error_of([&] { protocol_split(cases(10), {}, 150, 0, o); }).find("150"), std::string::npos);
  EXPECT_NE(testkit::error_of([&] { protocol_split(cases(2), {}, 100, 0, o); }).find("none is left"),
            std::string::npos);
}
