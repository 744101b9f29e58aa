#pragma once
// The segmentation losses of the Taleb et al. reference (HealthML self-supervised-3d-tasks, sst/utils/metrics.py),
// computed exactly as the reference computes them, for `--faithful` runs. Inputs are channels-first here:
// probabilities P (B, C, spatial...) (the reference's network ends in a softmax) and a one-hot target Y of the same
// shape. Every sum runs over ALL axes except the class axis, batch included (statistics are pooled over the batch,
// not averaged per sample). s = 1e-5 (smooth), eps = 1e-7 (Keras epsilon).
//
//   weighted_dice_coefficient = mean_c 2 (sum Y_c P_c + s/2) / (sum Y_c + sum P_c + s)
//       background included and NO class weights despite the name; per_class gives the C terms
//       (the reference's Keras metrics dice_class_k).
//   weighted_dice_loss = -weighted_dice_coefficient            (range [-1, 0]; used by every reference config)
//   jaccard_distance = (1 - mean_c (I_c + s) / (U_c - I_c + s + eps)) * s,
//       I_c = sum |Y_c P_c|, U_c = sum |Y_c| + |P_c|.
//       QUIRK (replicated): the final "* s" scales the distance down to ~1e-5, so it hardly trains anything.
//       scale_by_smooth = false gives the plain Jaccard distance (1 - mean_c ...) instead.
//   weighted_categorical_crossentropy(w = (1, 5, 10)) = mean over positions of -sum_c w_c Y_c log q_c,
//       q = clip(P / (sum_c P + eps), eps, 1 - eps).  3 classes in the reference (one weight per class here).
//   weighted_sum_loss(alpha = .5, beta = .5, w) = alpha * jaccard_distance + beta * wcce
//       -> because of the quirk above effectively 0.5 * wcce.
// No reference config uses jaccard_distance or weighted_sum_loss; all segmentation configs train with
// weighted_dice_loss.
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::losses::reference {

constexpr double kSmooth = 1e-5;
constexpr double kKerasEpsilon = 1e-7;

/// The C per-class soft Dice terms (C,).
torch::Tensor dice_coefficient_per_class(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                                         double smooth = kSmooth);
/// Their unweighted mean (a scalar).
torch::Tensor weighted_dice_coefficient(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                                        double smooth = kSmooth);
/// -weighted_dice_coefficient.
torch::Tensor weighted_dice_loss(const torch::Tensor& probabilities, const torch::Tensor& one_hot);

torch::Tensor jaccard_distance(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                               double smooth = kSmooth, bool scale_by_smooth = true);

torch::Tensor weighted_categorical_crossentropy(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                                                const std::vector<double>& class_weights = {1.0, 5.0, 10.0});

torch::Tensor weighted_sum_loss(const torch::Tensor& probabilities, const torch::Tensor& one_hot, double alpha = 0.5,
                                double beta = 0.5, const std::vector<double>& class_weights = {1.0, 5.0, 10.0});

/// The losses a reference config can name in its "loss" key.
enum class SegLoss { weighted_dice_loss, jaccard_distance, weighted_sum_loss };

/// "weighted_dice_loss" (alias "weighted_dice_coefficient_loss") | "jaccard_distance" | "weighted_sum_loss".
SegLoss parse_seg_loss(const std::string& name);
std::string to_string(SegLoss loss);

/// The reference's loss on network LOGITS (B, C, spatial...): softmax over channels (the reference's output
/// activation), the target made one-hot (class map or one-hot, see segmentation_target_as_one_hot), then the loss
/// with its default constants.
torch::Tensor seg_loss(SegLoss loss, const torch::Tensor& logits, const torch::Tensor& target);

}  // namespace medssl::losses::reference
