#pragma once
// InfoNCE (van den Oord et al. 2018, "Representation Learning with Contrastive Predictive Coding") with in-batch
// negatives, medssl's default CPC objective. For every target position k the S predictions pred[:, k] are scored
// against the S target codes z[:, k] of the same position in the batch:
//   logits_k = pred[:, k] . z[:, k]^T   (S x S, plain dot products, f_k = exp(z^T W_k c) as in the paper)
//   L = mean_k CE(logits_k, diagonal)  (the positive of row i is column i; the other S-1 columns are negatives)
//   accuracy = fraction of rows (over all k) whose largest logit is the positive.
// Chance level: loss log(S), accuracy 1/S.
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

struct InfoNceOutput {
  torch::Tensor loss;     ///< scalar
  double accuracy = 0.0;  ///< top-1 among the batch
};

/// pred, z: (S, K, D) with S >= 1. Throws medssl::Error on shape mismatch.
InfoNceOutput info_nce_loss(const torch::Tensor& pred, const torch::Tensor& z);

}  // namespace medssl::losses
