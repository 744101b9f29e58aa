#pragma once
// Which labelled cases test, validate and train one finetuning run (mode, label fraction, repetition).
//
//   test   fixed for every fraction and repetition: the data set's own labelled test split when it has one, else the
//          last max(1, int(N * test_split)) labelled cases (data-set order, or shuffled once by split_seed).
//   val    fixed too: the max(1, int(N * val_split)) cases before the test cases.
//   pool   the remaining cases, ordered by a permutation seeded by the REPETITION; the training cases are the first
//          max(1, int(pool * fraction / 100)) of that order, so for one repetition the 5 % cases lie inside the 10 %
//          cases (nested subsets), and they never touch val or test.
//   cross-validation (do_cross_val): strided folds (the reference's chunkify) of all labelled cases; repetition r
//          tests on fold r mod k, val = the last cases of the other folds, pool = the rest.
// The reference instead used the same first-N files for every repetition and its own test folder (healthml.md 6.2);
// medssl varies the subset with the repetition so repetitions measure subset variance, not only seed variance.
// Everything works on case indices; items_of_cases maps them to the items (slices) of an ImageSet.
#include <cstdint>
#include <string>
#include <vector>

namespace medssl::data {
class ImageSet;
}

namespace medssl::finetune {

struct ProtocolOptions {
  double test_split = 0.2;
  double val_split = 0.1;
  uint64_t split_seed = 0;  ///< 0: data-set order for choosing test / val
  bool cross_val = false;
  int folds = 5;
};

struct ProtocolSplit {
  std::vector<int64_t> test, val;
  std::vector<int64_t> pool;   ///< every training candidate, in this repetition's order
  std::vector<int64_t> train;  ///< the first part of `pool` for the fraction
};

/// `labelled`: the cases with labels (data-set order) outside the data set's own test split; `own_test`: the
/// labelled cases of that test split (may be empty). `fraction_percent` in (0, 100]. Errors (medssl::Error) when a
/// part would be empty or the fraction is out of range.
ProtocolSplit protocol_split(const std::vector<int64_t>& labelled, const std::vector<int64_t>& own_test,
                             double fraction_percent, int repetition, const ProtocolOptions& options);

/// The items of `set` whose case is in `cases`, grouped in the order of `cases` (slices in increasing order).
std::vector<int64_t> items_of_cases(const data::ImageSet& set, const std::vector<int64_t>& cases);

}  // namespace medssl::finetune
