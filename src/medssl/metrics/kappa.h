#pragma once
// Cohen's kappa (quadratic weighted by default: the APTOS / Kaggle DR score) and the decoding of the reference's
// multilabel-ordinal outputs into grades.
//
// cohen_kappa follows sklearn.metrics.cohen_kappa_score(y1, y2, labels, weights) exactly: the confusion matrix over
// `labels` (default: the sorted union of the values in both vectors; samples whose true or predicted value is not in
// `labels` are DROPPED, as sklearn's confusion_matrix does), weights from the POSITIONS in that list
// (quadratic (i - j)^2, linear |i - j|, none: 1 off the diagonal), expected = outer(column sums, row sums) / n,
// kappa = 1 - sum(w * observed) / sum(w * expected). Undefined cases (e.g. only one class, no samples) give NaN,
// where sklearn divides 0 by 0 as well.
//
// Ordinal decoding of K sigmoid outputs (probabilities, see losses::ordinal_encode: grade g = g+1 leading ones):
//   leading_run (default): grade = (number of LEADING outputs > threshold) - 1, at least 0. It follows the order of
//                  the encoding (1 0 1 0 0 is grade 0) and always gives a valid grade.
//   reference_count: the reference's transform_multilabel_to_continuous: grade = (number of outputs > threshold) - 1.
//                  QUIRKS: outputs are counted regardless of order (1 0 1 0 0 -> grade 1), and a row with no output
//                  above the threshold becomes grade -1, which the reference's kappa (labels 0..4) then silently
//                  drops from the score (reference_qw_kappa_kaggle replicates this; its accuracy counts -1 wrong).
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::metrics {

enum class KappaWeights { none, linear, quadratic };

/// "none" | "linear" | "quadratic"; throws medssl::Error otherwise.
KappaWeights parse_kappa_weights(const std::string& name);

/// y_true, y_pred: 1-D integer label vectors of equal length.
double cohen_kappa(const torch::Tensor& y_true, const torch::Tensor& y_pred,
                   KappaWeights weights = KappaWeights::quadratic, const std::vector<int64_t>& labels = {});

inline double quadratic_weighted_kappa(const torch::Tensor& y_true, const torch::Tensor& y_pred,
                                       const std::vector<int64_t>& labels = {}) {
  return cohen_kappa(y_true, y_pred, KappaWeights::quadratic, labels);
}

enum class OrdinalDecoding { leading_run, reference_count };

/// outputs (N, K) probabilities -> grades (N) int64.
torch::Tensor decode_ordinal(const torch::Tensor& outputs, OrdinalDecoding decoding = OrdinalDecoding::leading_run,
                             double threshold = 0.5);

/// Quadratic kappa of ordinal outputs, both decoded with leading_run, labels 0..K-1 (every sample counts).
double ordinal_qw_kappa(const torch::Tensor& true_outputs, const torch::Tensor& predicted_outputs,
                        double threshold = 0.5);

/// The reference's "qw_kappa_kaggle": (N, 5) true and predicted multilabel arrays decoded with reference_count, then
/// quadratic kappa with labels [0..4] (grade -1 rows dropped, see above).
double reference_qw_kappa_kaggle(const torch::Tensor& true_outputs, const torch::Tensor& predicted_outputs,
                                 double threshold = 0.5);

/// The reference's "cat_acc_kaggle": accuracy of the reference_count grades (-1 never equals a true grade >= 0).
double reference_cat_acc_kaggle(const torch::Tensor& true_outputs, const torch::Tensor& predicted_outputs,
                                double threshold = 0.5);

}  // namespace medssl::metrics
