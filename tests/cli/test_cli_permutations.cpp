// `medssl permutations`: generated tables (valid, deterministic per seed, statistics printed), shipped tables written
// verbatim, and argument errors. (Each run of the binary costs ~1 s of LibTorch start-up: keep the runs few.)
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;

namespace {

/// The rows of a table file (comment lines skipped); fails the test on a row that is not a permutation of 0..n-1.
std::vector<std::vector<int>> read_rows(const std::string& path, size_t n) {
  std::vector<std::vector<int>> rows;
  std::istringstream in(testkit::read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream values(line);
    std::vector<int> row;
    for (int v; values >> v;) row.push_back(v);
    std::vector<int> sorted = row;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(row.size(), n) << line;
    for (size_t k = 0; k < sorted.size(); ++k) EXPECT_EQ(sorted[k], static_cast<int>(k)) << line;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST(CliPermutations, GeneratesMaxHammingTables) {
  testkit::TempDir dir;
  const std::string a = dir.file("a.txt"), b = dir.file("b.txt"), c = dir.file("c.txt");
  auto r = run_cli("permutations --patches 9 --count 12 --seed 4 --out " + shell_quote(a));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("12 permutations of 9"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("mean"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("min"), std::string::npos) << r.output;
  const auto rows = read_rows(a, 9);
  ASSERT_EQ(rows.size(), 12u);
  EXPECT_EQ(std::set<std::vector<int>>(rows.begin(), rows.end()).size(), 12u);
  EXPECT_EQ(testkit::read_text(a).rfind("# medssl permutations", 0), 0u);

  ASSERT_EQ(run_cli("permutations --patches 9 --count 12 --seed 4 --out " + shell_quote(b)).exit_code, 0);
  EXPECT_EQ(testkit::read_text(a), testkit::read_text(b)) << "same seed, same table";
  ASSERT_EQ(run_cli("permutations --patches 9 --count 12 --seed 5 --out " + shell_quote(b)).exit_code, 0);
  EXPECT_NE(testkit::read_text(a), testkit::read_text(b));

  r = run_cli("permutations --patches 27 --count 8 --pool 300 --out " + shell_quote(c));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_rows(c, 27).size(), 8u);
}

TEST(CliPermutations, WritesShippedTablesVerbatim) {
  testkit::TempDir dir;
  for (std::string dims : {"2d", "3d"}) {
    const std::string out = dir.file(dims + ".txt");
    auto r = run_cli("permutations --from-table " + dims + " --out " + shell_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(testkit::read_text(out),
              testkit::read_text(std::string(MEDSSL_SOURCE_DIR) + "/data/permutations/healthml_perms" + dims + ".txt"));
    EXPECT_NE(r.output.find("100 permutations of " + std::string(dims == "2d" ? "9" : "27")), std::string::npos)
        << r.output;
  }
  auto r = run_cli("permutations --from-table 2d --out " + shell_quote(dir.file("x.txt")));
  EXPECT_NE(r.output.find("mean 8.08"), std::string::npos) << r.output;
}

TEST(CliPermutations, BadArgumentsFail) {
  testkit::TempDir dir;
  const std::string out = shell_quote(dir.file("p.txt"));
  EXPECT_NE(run_cli("permutations --count 10 --out " + out).exit_code, 0);  // no --patches
  EXPECT_NE(run_cli("permutations --from-table 4d --out " + out).exit_code, 0);
  auto r = run_cli("permutations --from-table 2d --patches 9 --out " + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--from-table"), std::string::npos) << r.output;
  r = run_cli("permutations --patches 3 --count 7 --out " + out);  // only 3! = 6 exist
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("only 6 exist"), std::string::npos) << r.output;
  r = run_cli("permutations --patches 9 --count 5 --out " + shell_quote(dir.file("no/such/dir/p.txt")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no/such/dir"), std::string::npos) << r.output;
}
