#include "medssl/finetune/data_protocol.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/data/loader/split.h"

namespace medssl::finetune {

namespace {

// int(n * fraction) like the reference, but at least one case.
size_t at_least_one(size_t n, double fraction) {
  return std::max<size_t>(1, static_cast<size_t>(std::floor(static_cast<double>(n) * fraction + 1e-9)));
}

}  // namespace

ProtocolSplit protocol_split(const std::vector<int64_t>& labelled, const std::vector<int64_t>& own_test,
                             double fraction_percent, int repetition, const ProtocolOptions& o) {
  check(fraction_percent > 0.0 && fraction_percent <= 100.0,
        "label fraction {} % is out of range: give a percentage in (0, 100]", fraction_percent);
  check(repetition >= 0, "repetition {} is negative", repetition);
  check(o.val_split > 0.0 && o.val_split < 1.0, "val_split {} must lie in (0, 1)", o.val_split);
  std::vector<int64_t> order = labelled;
  if (o.split_seed != 0) {
    Rng rng = Rng::derive(o.split_seed, "finetune-cases");
    rng.shuffle(order);
  }
  const size_t n = order.size();
  ProtocolSplit split;
  std::vector<int64_t> rest;
  if (o.cross_val) {
    check(static_cast<size_t>(o.folds) <= n, "do_cross_val: {} folds need at least {} labelled cases, the data has {}",
          o.folds, o.folds, n);
    auto folds = data::strided_folds(order, o.folds);
    const int fold = repetition % o.folds;
    split.test = folds[static_cast<size_t>(fold)];
    rest = data::all_but_fold(folds, fold);
  } else if (!own_test.empty()) {
    split.test = own_test;
    rest = order;
  } else {
    check(o.test_split > 0.0, "test_split is 0 and the data set has no labelled test split: nothing to test on");
    const size_t n_test = at_least_one(n, o.test_split);
    check(n_test < n, "test_split {} leaves no case for training ({} labelled cases)", o.test_split, n);
    split.test.assign(order.end() - static_cast<std::ptrdiff_t>(n_test), order.end());
    rest.assign(order.begin(), order.end() - static_cast<std::ptrdiff_t>(n_test));
  }
  const size_t n_val = at_least_one(n, o.val_split);
  check(n_val < rest.size(),
        "{} labelled cases: after {} test and {} validation case(s) none is left for training; add cases or lower "
        "test_split / val_split", n, split.test.size(), n_val);
  split.val.assign(rest.end() - static_cast<std::ptrdiff_t>(n_val), rest.end());
  split.pool.assign(rest.begin(), rest.end() - static_cast<std::ptrdiff_t>(n_val));
  Rng pool_rng = Rng::derive(o.split_seed, "finetune-pool", static_cast<uint64_t>(repetition));
  pool_rng.shuffle(split.pool);
  const size_t n_train = at_least_one(split.pool.size(), fraction_percent / 100.0);
  split.train.assign(split.pool.begin(), split.pool.begin() + static_cast<std::ptrdiff_t>(n_train));
  return split;
}

std::vector<int64_t> items_of_cases(const data::ImageSet& set, const std::vector<int64_t>& cases) {
  std::map<int64_t, std::vector<int64_t>> by_case;
  for (int64_t i = 0; i < set.size(); ++i) by_case[set.case_of(i)].push_back(i);
  std::vector<int64_t> items;
  for (int64_t c : cases) {
    auto it = by_case.find(c);
    if (it != by_case.end()) items.insert(items.end(), it->second.begin(), it->second.end());
  }
  return items;
}

}  // namespace medssl::finetune
