#pragma once
// The reference's CPC objective (healthml `CPCLayer` + binary cross-entropy): every sample is (context predictions,
// target codes, label 1 = the true targets / 0 = another sample's targets), scored by
//   s_b = mean_k mean_d pred[b, k, d] * z[b, k, d]        (a MEAN over the code dims and the K targets)
//   p_b = sigmoid(s_b),  L = mean_b BCE(p_b, y_b),  accuracy = mean_b [ (p_b > 0.5) == y_b ]   (Keras binary_accuracy)
// The BCE is computed from the logit s (binary_cross_entropy_with_logits): tf.keras 2.1 does the same when the
// probability comes straight from a sigmoid op, so no probability clipping happens in the reference either.
// This is NOT InfoNCE (see info_nce.h): one negative per positive and logits scaled by 1/(K*D).
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

/// pred, z: (B, K, D) -> (B,) scores s_b.
torch::Tensor cpc_binary_logits(const torch::Tensor& pred, const torch::Tensor& z);

struct CpcBinaryLossOutput {
  torch::Tensor loss;     ///< scalar
  torch::Tensor logits;   ///< (B,) s_b
  double accuracy = 0.0;  ///< binary accuracy at p = 0.5
};

/// labels: (B,) of 0/1 (any dtype). Throws medssl::Error on shape mismatch.
CpcBinaryLossOutput cpc_binary_loss(const torch::Tensor& pred, const torch::Tensor& z, const torch::Tensor& labels);

}  // namespace medssl::losses
