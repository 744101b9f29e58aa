#pragma once
// Classification metrics on class-index vectors, matching scikit-learn:
//   confusion_matrix        rows = true class, columns = predicted class (sklearn.metrics.confusion_matrix)
//   accuracy                fraction of equal entries (accuracy_score)
//   precision_recall_f1     per class, plus macro means (precision_recall_fscore_support, zero_division -> 0)
//   roc_auc_ovr_macro       one-vs-rest ROC AUC per class and its unweighted mean (roc_auc_score(multi_class="ovr",
//                           average="macro")); ties count one half (Mann-Whitney U, equal to sklearn's trapezoids).
// Inputs are 1-D tensors (any integer type; floats must hold whole numbers), on any device.
#include <cstdint>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::metrics {

/// (num_classes, num_classes) int64; labels must lie in [0, num_classes) (medssl::Error otherwise).
torch::Tensor confusion_matrix(const torch::Tensor& y_true, const torch::Tensor& y_pred, int64_t num_classes);

/// Fraction of positions where y_true == y_pred (any values); NaN for empty input.
double accuracy(const torch::Tensor& y_true, const torch::Tensor& y_pred);

struct ClassScores {
  std::vector<double> precision, recall, f1;  ///< per class; 0 where undefined (sklearn's zero_division default)
  std::vector<int64_t> support;               ///< true samples per class
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;  ///< unweighted means over all num_classes classes
};

ClassScores precision_recall_f1(const torch::Tensor& y_true, const torch::Tensor& y_pred, int64_t num_classes);

/// Binary ROC AUC of `scores` (N) for the positives y_true != 0 (N); NaN if there are no positives or no negatives.
double roc_auc(const torch::Tensor& y_true, const torch::Tensor& scores);

struct AucScores {
  std::vector<double> per_class;  ///< class c against the rest, scored by column c; NaN if c or the rest is absent
  double macro = 0;               ///< mean over the classes with a defined AUC; NaN if none
};

/// y_true (N) class indices in [0, C), scores (N, C) (probabilities or logits: only the order within a column
/// matters). sklearn raises when a class is missing from y_true; here that class is NaN and left out of the mean.
AucScores roc_auc_ovr_macro(const torch::Tensor& y_true, const torch::Tensor& scores);

}  // namespace medssl::metrics
