#pragma once
// Classification losses for fine-tuning heads:
//   softmax_cross_entropy torch.nn.CrossEntropyLoss semantics (logits, class indices or class probabilities,
//                        optional class weights -> weighted mean, optional label smoothing). Also works per voxel
//                        on (B, C, spatial...) logits.
//   mean_squared_error   mean squared error (the reference's default finetune loss "mse").
//   ordinal_encode       the reference's multilabel encoding of APTOS grades: grade g of K -> K-vector whose first
//                        g+1 entries are 1 (0 -> 10000, 4 -> 11111; kaggle_retina_data.py, multilabel=True).
//   ordinal_bce_loss     the reference's kaggle loss: binary cross-entropy of K sigmoid outputs against that
//                        encoding, mean over outputs and samples (Keras binary_crossentropy; with a sigmoid output
//                        layer Keras evaluates it from the logits, as here).
// Decoding ordinal outputs back to grades lives with the kappa metric (medssl/metrics/kappa.h).
// (Not called cross_entropy_loss / mse_loss: those would clash with at:: functions found by argument-dependent
// lookup on torch::Tensor arguments.)
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/losses/loss_reduction.h"

namespace medssl::losses {

struct CrossEntropyOptions {
  /// one weight per class, or empty (torch's `weight`; mean reduction then divides by the summed target weights).
  TORCH_ARG(std::vector<double>, class_weights) = {};
  TORCH_ARG(double, label_smoothing) = 0.0;
  TORCH_ARG(LossReduction, reduction) = LossReduction::mean;
  /// class-index targets equal to this value are skipped (torch's default -100).
  TORCH_ARG(int64_t, ignore_index) = -100;
};

/// logits (N, C) or (N, C, spatial...); target class indices (N) / (N, spatial...) of an integer type, or class
/// probabilities shaped like `logits` (floating). Throws medssl::Error on shape or class-range mismatches.
torch::Tensor softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                    const CrossEntropyOptions& options = {});

/// (prediction - target)^2 reduced; shapes must match (no silent broadcasting).
torch::Tensor mean_squared_error(const torch::Tensor& prediction, const torch::Tensor& target,
                                 LossReduction reduction = LossReduction::mean);

/// grades (N) integers in [0, num_grades) -> (N, num_grades) float, row g = g+1 leading ones.
torch::Tensor ordinal_encode(const torch::Tensor& grades, int64_t num_grades = 5);

/// logits (N, K) of K sigmoid outputs; target grades (N) (encoded with ordinal_encode) or an already encoded
/// (N, K) tensor.
torch::Tensor ordinal_bce_loss(const torch::Tensor& logits, const torch::Tensor& target,
                               LossReduction reduction = LossReduction::mean);

}  // namespace medssl::losses
