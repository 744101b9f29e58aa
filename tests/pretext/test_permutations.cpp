// Jigsaw permutation tables: the shipped reference tables, the text format and its validation, and the
// Noroozi & Favaro greedy max-average-Hamming generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"
#include "medssl/pretext/permutations.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::pretext;
using testkit::error_of;

namespace {

void expect_valid(const PermutationTable& table, int64_t length, int64_t count) {
  ASSERT_EQ(table.length, length);
  ASSERT_EQ(table.count(), count);
  std::set<std::vector<int>> unique;
  for (const auto& row : table.rows) {
    ASSERT_EQ(static_cast<int64_t>(row.size()), length);
    std::vector<int> sorted = row;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t k = 0; k < length; ++k) ASSERT_EQ(sorted[static_cast<size_t>(k)], k);
    unique.insert(row);
  }
  EXPECT_EQ(static_cast<int64_t>(unique.size()), count) << "rows must be unique";
}

/// Mean pairwise Hamming distance of `count` uniformly random permutations of `length`.
double random_table_mean(int64_t length, int64_t count, uint64_t seed) {
  Rng rng(seed);
  PermutationTable table;
  table.length = length;
  for (int64_t r = 0; r < count; ++r) {
    std::vector<int> row(static_cast<size_t>(length));
    std::iota(row.begin(), row.end(), 0);
    rng.shuffle(row);
    table.rows.push_back(row);
  }
  return hamming_stats(table).mean;
}

}  // namespace

TEST(JigsawPermutations, ShippedTablesAreTheDataFilesVerbatim) {
  EXPECT_EQ(shipped_permutation_text(2),
            testkit::read_text(std::string(MEDSSL_SOURCE_DIR) + "/data/permutations/healthml_perms2d.txt"));
  EXPECT_EQ(shipped_permutation_text(3),
            testkit::read_text(std::string(MEDSSL_SOURCE_DIR) + "/data/permutations/healthml_perms3d.txt"));
  EXPECT_NE(error_of([] { shipped_permutation_text(4); }), "");
}

TEST(JigsawPermutations, Shipped2dTableIsNorooziMaxHammingSet) {
  const auto& table = shipped_permutation_table(2);
  expect_valid(table, 9, 100);
  EXPECT_EQ(table.rows[0], (std::vector<int>{7, 6, 5, 8, 4, 3, 2, 1, 0}));
  const auto stats = hamming_stats(table);
  EXPECT_NEAR(stats.mean, 8.08, 0.005);
  EXPECT_EQ(stats.min, 2);
  EXPECT_EQ(stats.max, 9);
  // The first six rows are pairwise at the maximal distance 9; the identity is not in the set.
  PermutationTable first6{9, {table.rows.begin(), table.rows.begin() + 6}};
  EXPECT_EQ(hamming_stats(first6).min, 9);
  for (const auto& row : table.rows) EXPECT_NE(row, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(JigsawPermutations, Shipped3dTableIsTheRandomSet) {
  const auto& table = shipped_permutation_table(3);
  expect_valid(table, 27, 100);
  const auto stats = hamming_stats(table);
  EXPECT_NEAR(stats.mean, 26.0, 0.05);
  EXPECT_EQ(stats.min, 19);
}

TEST(JigsawPermutations, FormatRoundTrips) {
  const auto& table = shipped_permutation_table(2);
  const std::string text = format_permutation_table(table, "line one\nline two");
  EXPECT_EQ(text.rfind("# line one\n# line two\n7 6 5 8 4 3 2 1 0\n", 0), 0u) << text.substr(0, 60);
  const auto parsed = parse_permutation_table(text, "roundtrip", 9);
  EXPECT_EQ(parsed.rows, table.rows);
}

TEST(JigsawPermutations, BadFilesNameFileAndLine) {
  testkit::TempDir dir;
  const std::string path = dir.file("perms.txt");
  auto error_for = [&](const std::string& text, int64_t length) {
    testkit::write_text(path, text);
    return error_of([&] { load_permutation_table(path, length); });
  };
  std::string e = error_for("# header\n0 1 2 3\n1 0 3 2\n0 1 2 2\n", 4);
  EXPECT_NE(e.find(path + ":4"), std::string::npos) << e;
  EXPECT_NE(e.find("twice"), std::string::npos) << e;

  e = error_for("0 1 2 3\n\n3 2 1 0\n0 1 2 3\n", 4);
  EXPECT_NE(e.find(path + ":4"), std::string::npos) << e;
  EXPECT_NE(e.find("duplicate"), std::string::npos) << e;
  EXPECT_NE(e.find("line 1"), std::string::npos) << e;

  e = error_for("0 1 2\n", 4);  // wrong length for 2x2 patches
  EXPECT_NE(e.find(path + ":1"), std::string::npos) << e;
  EXPECT_NE(e.find("4 values"), std::string::npos) << e;

  e = error_for("1 2 3 4\n", 4);  // the reference's 1-based encoding
  EXPECT_NE(e.find("1-based"), std::string::npos) << e;

  e = error_for("0 1 x 3\n", 4);
  EXPECT_NE(e.find("\"x\" is not an integer"), std::string::npos) << e;

  e = error_for("# nothing\n", 4);
  EXPECT_NE(e.find("no permutations"), std::string::npos) << e;

  EXPECT_NE(error_of([&] { load_permutation_table(dir.file("missing.txt")); }).find("missing.txt"), std::string::npos);
  // A good file with the length taken from its first row.
  testkit::write_text(path, "2 0 1\n1 2 0\n");
  EXPECT_EQ(load_permutation_table(path).length, 3);
}

TEST(JigsawPermutations, GeneratorBeatsRandomAndIsDeterministic) {
  MaxHammingOptions options;
  options.length = 9;
  options.count = 10;
  options.seed = 5;
  const auto a = generate_max_hamming(options);
  expect_valid(a, 9, 10);
  EXPECT_EQ(generate_max_hamming(options).rows, a.rows);
  options.seed = 6;
  EXPECT_NE(generate_max_hamming(options).rows, a.rows);
  // Random permutations of 9 differ in 8 places on average; ten greedy picks from all 9! are (near) maximal.
  const double random_mean = random_table_mean(9, 10, 1);
  EXPECT_NEAR(random_mean, 8.0, 0.6);
  EXPECT_GT(hamming_stats(a).mean, 8.5);
  EXPECT_GT(hamming_stats(a).mean, random_mean + 0.5);
}

TEST(JigsawPermutations, FullPoolOf100MatchesNorooziStatistics) {
  MaxHammingOptions options;  // 9 patches, 100 permutations, all 362,880 candidates
  const auto table = generate_max_hamming(options);
  expect_valid(table, 9, 100);
  const auto stats = hamming_stats(table);
  // Noroozi's published set (same algorithm, another random start): mean 8.08, min 2.
  EXPECT_GT(stats.mean, 8.0);
  EXPECT_LE(stats.max, 9);
}

TEST(JigsawPermutations, SampledPoolFor27Patches) {
  MaxHammingOptions options;
  options.length = 27;
  options.count = 20;
  options.pool = 500;
  options.seed = 3;
  const auto table = generate_max_hamming(options);
  expect_valid(table, 27, 20);
  EXPECT_EQ(generate_max_hamming(options).rows, table.rows);
  EXPECT_GT(hamming_stats(table).mean, random_table_mean(27, 20, 2));

  options.pool = 10;  // smaller than count
  EXPECT_NE(error_of([&] { generate_max_hamming(options); }).find("pool"), std::string::npos);
  MaxHammingOptions tiny;
  tiny.length = 3;
  tiny.count = 7;  // only 3! = 6 exist
  EXPECT_NE(error_of([&] { generate_max_hamming(tiny); }).find("only 6 exist"), std::string::npos);
}
