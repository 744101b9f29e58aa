#pragma once
// Jigsaw permutation tables: which patch goes into which slot for each jigsaw class.
//
// Row r of a table is jigsaw class r; slot k of the shuffled puzzle holds original patch rows[r][k] (0-based, patches
// in raster order, first spatial axis slowest) — the reference's `output_patch[k] = input_patch[perm[r][k]]`.
//
// Text format (the reference tables as shipped in data/permutations/): lines starting with '#' are comments, blank
// lines are ignored, every other line is one permutation of 0..n-1 as whitespace-separated integers.
//
// Shipped tables (embedded in the binary, copied verbatim from HealthML/self-supervised-3d-tasks):
//   2D  100 x 9   Noroozi & Favaro's max-average-Hamming set (permutations_100_max.bin, made 0-based);
//                 mean pairwise Hamming distance 8.08, min 2, max 9.
//   3D  100 x 27  100 uniformly random permutations (permutations3d_100_27.npy); mean 26.0, min 19.
//
// generate_max_hamming implements Noroozi & Favaro 2016, Algorithm 1 (greedy maximal average Hamming distance).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medssl::pretext {

struct PermutationTable {
  int64_t length = 0;                  ///< n: elements in each permutation (patches per puzzle)
  std::vector<std::vector<int>> rows;  ///< rows[r][k] = original patch index placed in slot k for class r

  int64_t count() const { return static_cast<int64_t>(rows.size()); }
};

/// Parses the text format. `source` names the text in errors ("<file>:<line>: ..."). Validates that every row is a
/// permutation of 0..n-1 with n = expected_length (or the first row's length when expected_length is 0) and that no
/// row repeats; throws medssl::Error otherwise.
PermutationTable parse_permutation_table(std::string_view text, const std::string& source, int64_t expected_length = 0);

/// Reads and validates a table file (see parse_permutation_table); errors name the file and line.
PermutationTable load_permutation_table(const std::string& path, int64_t expected_length = 0);

/// The text format: `header` (may be empty; each of its lines is written as a '#' comment), then one row per line.
std::string format_permutation_table(const PermutationTable& table, const std::string& header);

/// The shipped table's text exactly as in data/permutations/healthml_perms{2d,3d}.txt (embedded in the binary).
/// spatial_dims must be 2 or 3.
std::string_view shipped_permutation_text(int spatial_dims);
/// The shipped table, parsed (2D: 100 x 9, 3D: 100 x 27).
const PermutationTable& shipped_permutation_table(int spatial_dims);

/// Pairwise Hamming distances (number of slots where two rows differ) over all pairs of distinct rows.
struct HammingStats {
  double mean = 0.0;
  int64_t min = 0;
  int64_t max = 0;
};
/// Stats over all pairs; throws medssl::Error if the table has fewer than two rows.
HammingStats hamming_stats(const PermutationTable& table);

struct MaxHammingOptions {
  int64_t length = 9;     ///< n, 2..255
  int64_t count = 100;    ///< permutations to select
  int64_t pool = 10000;   ///< candidates sampled at random when n > 9 (for n <= 9 the pool is all n! permutations)
  uint64_t seed = 0;
};

/// Noroozi & Favaro's greedy selection: start from a uniformly random candidate, then repeatedly move the candidate
/// with the largest average Hamming distance to the already chosen rows into the set (first candidate on ties; full
/// pool in lexicographic order). Deterministic for a seed. Throws medssl::Error if count exceeds the pool.
PermutationTable generate_max_hamming(const MaxHammingOptions& options);

}  // namespace medssl::pretext
