#include "medssl/pretext/permutations.h"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/rng.h"

namespace medssl::pretext {

namespace {

constexpr int64_t kMaxLength = 255;  // values must fit the uint8 candidate pool of the generator
constexpr int64_t kFullPoolMaxLength = 9;  // 9! = 362,880 candidates; 10! would be 36 MB of candidates per byte

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::vector<int> parse_row(std::string_view line, const std::string& where) {
  std::vector<int> row;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    if (pos == line.size()) break;
    size_t end = pos;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    const std::string_view token = line.substr(pos, end - pos);
    int value = 0;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    check(ec == std::errc() && ptr == token.data() + token.size(), "{}: \"{}\" is not an integer", where, token);
    row.push_back(value);
    pos = end;
  }
  return row;
}

void check_is_permutation(const std::vector<int>& row, int64_t n, const std::string& where) {
  check(static_cast<int64_t>(row.size()) == n, "{}: expected a permutation of {} values (0..{}), got {} values", where,
        n, n - 1, row.size());
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (int v : row) {
    if (v < 0 || v >= n) {
      // The reference's 2D file stores 1..n; a copy that was not made 0-based is the likely mistake.
      const bool looks_one_based = std::find(row.begin(), row.end(), 0) == row.end() &&
                                   std::find(row.begin(), row.end(), static_cast<int>(n)) != row.end();
      fail("{}: value {} is outside 0..{}{}", where, v, n - 1,
           looks_one_based ? " (the row looks 1-based; tables are 0-based: subtract 1)" : "");
    }
    check(!seen[static_cast<size_t>(v)], "{}: value {} appears twice, the row is not a permutation of 0..{}", where, v,
          n - 1);
    seen[static_cast<size_t>(v)] = 1;
  }
}

std::string row_key(const std::vector<int>& row) { return std::string(row.begin(), row.end()); }

PermutationTable parse_embedded(int spatial_dims) {
  return parse_permutation_table(shipped_permutation_text(spatial_dims),
                                 spatial_dims == 2 ? "shipped 2D permutation table" : "shipped 3D permutation table",
                                 spatial_dims == 2 ? 9 : 27);
}

/// All n! permutations of 0..n-1 in lexicographic order, n bytes each.
std::vector<uint8_t> full_pool(int64_t n) {
  std::vector<uint8_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), uint8_t{0});
  int64_t total = 1;
  for (int64_t i = 2; i <= n; ++i) total *= i;
  std::vector<uint8_t> pool;
  pool.reserve(static_cast<size_t>(total * n));
  do {
    pool.insert(pool.end(), perm.begin(), perm.end());
  } while (std::next_permutation(perm.begin(), perm.end()));
  return pool;
}

/// `size` distinct uniformly random permutations (Fisher-Yates from `rng`), n bytes each.
std::vector<uint8_t> sampled_pool(int64_t n, int64_t size, Rng& rng) {
  std::vector<uint8_t> pool;
  pool.reserve(static_cast<size_t>(size * n));
  std::unordered_set<std::string> seen;
  std::vector<uint8_t> perm(static_cast<size_t>(n));
  int64_t attempts = 0;
  while (static_cast<int64_t>(seen.size()) < size) {
    check(++attempts <= 100 * size + 1000, "permutations: cannot draw {} distinct permutations of {}", size, n);
    std::iota(perm.begin(), perm.end(), uint8_t{0});
    rng.shuffle(perm);
    if (!seen.insert(std::string(perm.begin(), perm.end())).second) continue;
    pool.insert(pool.end(), perm.begin(), perm.end());
  }
  return pool;
}

}  // namespace

PermutationTable parse_permutation_table(std::string_view text, const std::string& source, int64_t expected_length) {
  PermutationTable table;
  table.length = expected_length;
  std::unordered_map<std::string, int64_t> first_line_of;  // row -> line number, to name both copies of a duplicate
  int64_t line_number = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = fmt::format("{}:{}", source, line_number);
    std::vector<int> row = parse_row(line, where);
    if (table.length == 0) {
      check(row.size() >= 2 && static_cast<int64_t>(row.size()) <= kMaxLength,
            "{}: a permutation needs 2..{} values, got {}", where, kMaxLength, row.size());
      table.length = static_cast<int64_t>(row.size());
    }
    check_is_permutation(row, table.length, where);
    const auto [it, inserted] = first_line_of.emplace(row_key(row), line_number);
    check(inserted, "{}: duplicate permutation (same as line {}); every jigsaw class needs its own permutation", where,
          it->second);
    table.rows.push_back(std::move(row));
  }
  check(!table.rows.empty(), "{}: contains no permutations", source);
  return table;
}

PermutationTable load_permutation_table(const std::string& path, int64_t expected_length) {
  return parse_permutation_table(read_file(path), path, expected_length);
}

std::string format_permutation_table(const PermutationTable& table, const std::string& header) {
  std::string out;
  size_t pos = 0;
  while (pos < header.size()) {
    const size_t end = std::min(header.find('\n', pos), header.size());
    out += "# ";
    out.append(header, pos, end - pos);
    out += '\n';
    pos = end + 1;
  }
  for (const auto& row : table.rows) {
    for (size_t k = 0; k < row.size(); ++k) {
      if (k > 0) out += ' ';
      out += std::to_string(row[k]);
    }
    out += '\n';
  }
  return out;
}

const PermutationTable& shipped_permutation_table(int spatial_dims) {
  check(spatial_dims == 2 || spatial_dims == 3, "shipped permutation tables exist for 2D and 3D only, not {}D",
        spatial_dims);
  static const PermutationTable table2d = parse_embedded(2);
  static const PermutationTable table3d = parse_embedded(3);
  return spatial_dims == 2 ? table2d : table3d;
}

HammingStats hamming_stats(const PermutationTable& table) {
  check(table.count() >= 2, "Hamming statistics need at least two permutations, got {}", table.count());
  HammingStats stats;
  stats.min = table.length;
  int64_t sum = 0, pairs = 0;
  for (size_t a = 0; a < table.rows.size(); ++a) {
    for (size_t b = a + 1; b < table.rows.size(); ++b) {
      int64_t d = 0;
      for (size_t k = 0; k < table.rows[a].size(); ++k) d += table.rows[a][k] != table.rows[b][k];
      sum += d;
      ++pairs;
      stats.min = std::min(stats.min, d);
      stats.max = std::max(stats.max, d);
    }
  }
  stats.mean = static_cast<double>(sum) / static_cast<double>(pairs);
  return stats;
}

PermutationTable generate_max_hamming(const MaxHammingOptions& options) {
  const int64_t n = options.length;
  check(n >= 2 && n <= kMaxLength, "permutations: length (patches) must be in 2..{}, got {}", kMaxLength, n);
  check(options.count >= 1, "permutations: count must be >= 1, got {}", options.count);
  Rng rng(options.seed);

  std::vector<uint8_t> pool;
  if (n <= kFullPoolMaxLength) {
    pool = full_pool(n);
  } else {
    check(options.pool >= options.count, "permutations: the candidate pool ({}) must be at least count ({})",
          options.pool, options.count);
    pool = sampled_pool(n, options.pool, rng);
  }
  const int64_t pool_size = static_cast<int64_t>(pool.size()) / n;
  check(options.count <= pool_size, "permutations: cannot choose {} distinct permutations of {} (only {} exist)",
        options.count, n, pool_size);

  // total[c] = sum of Hamming distances from candidate c to every chosen row; its argmax is the argmax of the
  // average. Updated incrementally with the newest row only, fused with the argmax scan: one pass per pick.
  std::vector<uint32_t> total(static_cast<size_t>(pool_size), 0);
  std::vector<uint8_t> taken(static_cast<size_t>(pool_size), 0);
  PermutationTable table;
  table.length = n;
  table.rows.reserve(static_cast<size_t>(options.count));
  int64_t pick = rng.uniform_int(0, pool_size - 1);
  while (true) {
    const uint8_t* chosen = pool.data() + pick * n;
    taken[static_cast<size_t>(pick)] = 1;
    table.rows.emplace_back(chosen, chosen + n);
    if (table.count() == options.count) break;
    int64_t best = -1;
    uint32_t best_total = 0;
    const uint8_t* candidate = pool.data();
    for (int64_t c = 0; c < pool_size; ++c, candidate += n) {
      uint32_t d = 0;
      for (int64_t k = 0; k < n; ++k) d += candidate[k] != chosen[k];
      const uint32_t t = total[static_cast<size_t>(c)] += d;
      if (!taken[static_cast<size_t>(c)] && (best < 0 || t > best_total)) {
        best = c;
        best_total = t;
      }
    }
    pick = best;
  }
  return table;
}

}  // namespace medssl::pretext
