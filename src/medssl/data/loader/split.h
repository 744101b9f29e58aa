#pragma once
// How the reference (Taleb et al., healthml.md 1.2, 1.3, 6.2) divides data, on index lists.
//
// Pretraining: train = the first 90 % of the cases, validation = the rest, in data-set order (the reference's listdir
// order; ours is the cache's case order). medssl splits by CASE, so the slices of one volume never straddle train and
// validation (the reference split slice files, which could leak a volume into both). An optional seeded shuffle of
// the cases replaces the fixed order.
//
// Finetuning: strided k folds (the reference's chunkify, lst[i::k]) for cross-validation, and label-fraction subsets
// = the first int(N * p) of a given order (the same subset for every repetition, as in the reference).
#include <cstdint>
#include <vector>

namespace medssl::data {

class ImageSet;

struct TrainValSplit {
  std::vector<int64_t> train, val;
};

struct CaseSplitOptions {
  double train_fraction = 0.9;  ///< the reference pretrains on 90 % whatever its config says
  uint64_t shuffle_seed = 0;    ///< 0 = keep the data-set order (the reference); else shuffle the cases with this seed
};

/// Splits items by case: `case_of_item[i]` is item i's case. Cases are ordered by first appearance (then shuffled if
/// asked); the first int(cases * train_fraction) cases are training. Returns item indices, each list in item order.
/// Errors if the training part would be empty (validation is empty only for train_fraction 1).
TrainValSplit split_by_case(const std::vector<int64_t>& case_of_item, const CaseSplitOptions& options = {});

/// The pretraining split of an image set (its items grouped by ImageSet::case_of).
TrainValSplit pretraining_split(const ImageSet& set, const CaseSplitOptions& options = {});

/// The reference's chunkify: fold f = items[f], items[f + k], items[f + 2k], ... (k folds, disjoint, covering all).
/// Errors unless 1 <= k <= items.size().
std::vector<std::vector<int64_t>> strided_folds(const std::vector<int64_t>& items, int k);

/// Every fold except `fold`, concatenated in fold order: the training pool when `fold` is the test fold.
std::vector<int64_t> all_but_fold(const std::vector<std::vector<int64_t>>& folds, int fold);

/// The first int(N * fraction) items of `order` (0 < fraction <= 1); errors if that selects nothing.
std::vector<int64_t> first_fraction(const std::vector<int64_t>& order, double fraction);

/// The reference's finetuning train/validation of `order` for label fraction p (StandardDataLoader):
/// train = the first int(N * p * (1 - val_fraction)), val = the next int(N * val_fraction) (its size does not shrink
/// with p); the rest is unused.
TrainValSplit fraction_split(const std::vector<int64_t>& order, double fraction, double val_fraction);

}  // namespace medssl::data
