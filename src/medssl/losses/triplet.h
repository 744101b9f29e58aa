#pragma once
// Triplet margin loss on embedding codes (exemplar pretext task):
//   L = mean_b max(0, d(a_b, p_b) - d(a_b, n_b) + margin).
//
// Two distances:
//   mean_squared       d(x, y) = mean_c (x_c - y_c)^2 - the reference (healthml `metrics.triplet_loss`), used with
//                      sigmoid codes and margin 1 (where the hinge never switches off, see docs/pretext-tasks.md).
//   squared_euclidean  d(x, y) = sum_c (x_c - y_c)^2 - FaceNet's choice; medssl's default on L2-normalised codes
//                      (d in [0, 4]) with margin 0.5.
// torch.nn.TripletMarginLoss differs: it uses the (non-squared) p-norm distance.
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

enum class TripletDistance { mean_squared, squared_euclidean };

struct TripletLossOutput {
  torch::Tensor loss;               ///< scalar
  torch::Tensor positive_distance;  ///< (B,) d(anchor, positive)
  torch::Tensor negative_distance;  ///< (B,) d(anchor, negative)
  double accuracy = 0.0;            ///< fraction of triplets with d+ < d- ("triplet_acc")
};

/// Per-sample distance between the rows of two (B, D) code matrices.
torch::Tensor triplet_distance(const torch::Tensor& x, const torch::Tensor& y, TripletDistance distance);

/// anchor, positive, negative: (B, D) codes. Throws medssl::Error on shape mismatch or a negative margin.
TripletLossOutput triplet_loss(const torch::Tensor& anchor, const torch::Tensor& positive,
                               const torch::Tensor& negative, double margin, TripletDistance distance);

}  // namespace medssl::losses
