#pragma once
// A linear probe: multinomial logistic regression on frozen features, the standard read-out of how much a
// self-supervised encoder's features say about a downstream label (here: which class a crop's centre lies in).
//
// Fit: features are standardised with the TRAINING set's mean and standard deviation (constant features become 0),
// the weights start at zero and full-batch L-BFGS (strong Wolfe line search) minimises mean cross-entropy + l2/2 |W|^2
// for a fixed number of iterations. Zero start + full batch + a fixed iteration count make the fit a deterministic
// function of (features, labels, options): no seed is involved, and two runs on the same features agree exactly.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "medssl/core/torch_pch.h"

namespace medssl::probe {

struct LogisticRegressionOptions {
  double l2 = 1e-3;          ///< weight decay on W (not on the bias), in units of the mean loss
  int64_t iterations = 200;  ///< L-BFGS iterations (each may evaluate the loss several times)
};

struct LinearProbe {
  torch::Tensor mean, scale;   ///< (F) standardisation from the training features
  torch::Tensor weight, bias;  ///< (K, F), (K), float64
  double final_loss = 0.0;     ///< training objective at the end of the fit

  /// Logits (N, K) of raw (unstandardised) features (N, F).
  torch::Tensor logits(const torch::Tensor& features) const;
  /// Predicted class (N) int64.
  torch::Tensor predict(const torch::Tensor& features) const;
};

/// Fits the probe to `features` (N, F) and int64 `labels` (N) in [0, num_classes). Errors on empty input, mismatched
/// sizes or labels out of range.
LinearProbe fit_logistic_regression(const torch::Tensor& features, const torch::Tensor& labels, int64_t num_classes,
                                    const LogisticRegressionOptions& options = {});

struct ProbeMetrics {
  double accuracy = 0.0;
  double balanced_accuracy = 0.0;  ///< mean recall over the classes present in the evaluated labels
  int64_t majority_class = 0;      ///< the most frequent TRAINING class (the baseline's constant answer)
  double majority_rate = 0.0;      ///< accuracy of always answering majority_class on the evaluated labels
  std::vector<std::vector<int64_t>> confusion;  ///< [true][predicted]
  std::vector<int64_t> counts;                  ///< evaluated labels per class

  nlohmann::json to_json() const;
};

/// Scores `predicted` against `labels` (both int64 (N)); `majority_class` is the training set's (see ProbeMetrics).
ProbeMetrics probe_metrics(const torch::Tensor& predicted, const torch::Tensor& labels, int64_t num_classes,
                           int64_t majority_class);

/// The most frequent class of `labels` (smallest index on ties).
int64_t majority_class(const torch::Tensor& labels, int64_t num_classes);

}  // namespace medssl::probe
