#include "medssl/data/loader/split.h"

#include <unordered_set>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"
#include "medssl/data/loader/image_set.h"

namespace medssl::data {

namespace {

/// int(N * p) as Python computes it (the double product truncated), so sizes match the reference exactly.
int64_t truncated_count(size_t n, double p) { return static_cast<int64_t>(static_cast<double>(n) * p); }

}  // namespace

TrainValSplit split_by_case(const std::vector<int64_t>& case_of_item, const CaseSplitOptions& options) {
  const double f = options.train_fraction;
  check(f > 0.0 && f <= 1.0, "split: train_fraction must be in (0, 1], got {}", f);
  check(!case_of_item.empty(), "split: there are no items to split");

  std::vector<int64_t> cases;  // in order of first appearance
  std::unordered_set<int64_t> seen;
  for (int64_t c : case_of_item)
    if (seen.insert(c).second) cases.push_back(c);
  if (options.shuffle_seed != 0) {
    Rng rng = Rng::derive(options.shuffle_seed, "case_split");
    rng.shuffle(cases);
  }
  const int64_t n_train = truncated_count(cases.size(), f);
  check(n_train > 0, "split: {} case(s) with train_fraction {} leave no training case", cases.size(), f);

  std::unordered_set<int64_t> train_cases(cases.begin(), cases.begin() + n_train);
  TrainValSplit out;
  for (size_t i = 0; i < case_of_item.size(); ++i)
    (train_cases.count(case_of_item[i]) ? out.train : out.val).push_back(static_cast<int64_t>(i));
  return out;
}

TrainValSplit pretraining_split(const ImageSet& set, const CaseSplitOptions& options) {
  std::vector<int64_t> case_of_item(static_cast<size_t>(set.size()));
  for (int64_t i = 0; i < set.size(); ++i) case_of_item[static_cast<size_t>(i)] = set.case_of(i);
  return split_by_case(case_of_item, options);
}

std::vector<std::vector<int64_t>> strided_folds(const std::vector<int64_t>& items, int k) {
  check(k >= 1 && static_cast<size_t>(k) <= items.size(), "split: {} folds of {} items is not possible (1 <= k <= {})",
        k, items.size(), items.size());
  std::vector<std::vector<int64_t>> folds(static_cast<size_t>(k));
  for (size_t i = 0; i < items.size(); ++i) folds[i % static_cast<size_t>(k)].push_back(items[i]);
  return folds;
}

std::vector<int64_t> all_but_fold(const std::vector<std::vector<int64_t>>& folds, int fold) {
  check(fold >= 0 && static_cast<size_t>(fold) < folds.size(), "split: fold {} does not exist (0..{})", fold,
        static_cast<int64_t>(folds.size()) - 1);
  std::vector<int64_t> out;
  for (size_t f = 0; f < folds.size(); ++f)
    if (static_cast<int>(f) != fold) out.insert(out.end(), folds[f].begin(), folds[f].end());
  return out;
}

std::vector<int64_t> first_fraction(const std::vector<int64_t>& order, double fraction) {
  check(fraction > 0.0 && fraction <= 1.0, "split: fraction must be in (0, 1], got {}", fraction);
  const int64_t n = truncated_count(order.size(), fraction);
  check(n > 0, "split: fraction {} of {} items selects none", fraction, order.size());
  return {order.begin(), order.begin() + n};
}

TrainValSplit fraction_split(const std::vector<int64_t>& order, double fraction, double val_fraction) {
  check(fraction > 0.0 && fraction <= 1.0, "split: fraction must be in (0, 1], got {}", fraction);
  check(val_fraction >= 0.0 && val_fraction < 1.0, "split: val_fraction must be in [0, 1), got {}", val_fraction);
  const double n = static_cast<double>(order.size());
  const auto n_train = static_cast<int64_t>(n * fraction * (1.0 - val_fraction));  // the reference's operand order
  const auto n_val = static_cast<int64_t>(n * val_fraction);
  check(n_train > 0, "split: fraction {} (val_fraction {}) of {} items leaves no training item", fraction, val_fraction,
        order.size());
  TrainValSplit out;
  out.train.assign(order.begin(), order.begin() + n_train);
  out.val.assign(order.begin() + n_train, order.begin() + n_train + n_val);
  return out;
}

}  // namespace medssl::data
