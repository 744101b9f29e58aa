#pragma once
// Soft Dice loss for segmentation logits, with the semantics and defaults of MONAI's monai.losses.DiceLoss (1.x):
// DiceLoss(to_onehot_y=True, softmax=True) gives the same numbers as dice_loss(logits, labels) with default options.
//
//   P = activation(logits) (B, C, spatial...), G = one-hot target (B, C, spatial...), optionally without channel 0;
//   per (b, c) (or per c when `batch`): tp = sum P*G, fp = sum P - tp, fn = sum G - tp over the spatial axes
//   (squared_pred: the same from squared norms, i.e. sum P^2 and sum G^2 in the denominator);
//   f = 1 - (2 tp + smooth_nr) / (2 tp + fp + fn + smooth_dr)        (jaccard: denominator 2 (tp + fp + fn))
//   then f * class weight, then the reduction (mean over b and c by default).
//
// Background (channel 0) is included by default, as in MONAI. Statistics are per sample unless `batch` is set
// (then the sums run over the batch too, before the ratio, which is what the Taleb et al. reference does).
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/losses/loss_reduction.h"

namespace medssl::losses {

/// How the network output becomes per-class probabilities: softmax over channels (exclusive classes), sigmoid per
/// channel (multi-label, or a single foreground channel), or none (the input already holds probabilities).
enum class DiceActivation { softmax, sigmoid, none };

/// "softmax" | "sigmoid" | "none"; throws medssl::Error otherwise.
DiceActivation parse_dice_activation(const std::string& name);

struct DiceLossOptions {
  TORCH_ARG(DiceActivation, activation) = DiceActivation::softmax;
  /// false: drop channel 0 before the loss (ignored, as in MONAI, when there is a single channel).
  TORCH_ARG(bool, include_background) = true;
  /// sum of squares in the denominator (V-Net's formulation).
  TORCH_ARG(bool, squared_pred) = false;
  /// soft Jaccard (IoU) instead of Dice.
  TORCH_ARG(bool, jaccard) = false;
  TORCH_ARG(double, smooth_nr) = 1e-5;
  TORCH_ARG(double, smooth_dr) = 1e-5;
  /// sum intersection and union over the batch before the ratio (one value per class instead of per sample).
  TORCH_ARG(bool, batch) = false;
  /// multiplies each class's loss; empty = none, one value = the same for all classes; without background the
  /// vector has one entry per remaining class (MONAI's `weight`). Must be >= 0.
  TORCH_ARG(std::vector<double>, class_weights) = {};
  /// none keeps shape (B, C', 1, ...) (or (C', 1, ...) with batch), broadcastable against the input.
  TORCH_ARG(LossReduction, reduction) = LossReduction::mean;
};

/// True if `target` is a class-index map for `logits` (B, C, spatial...): shaped (B, spatial...), or
/// (B, 1, spatial...) while C > 1. False if it is shaped like `logits` (one-hot, masks, soft labels). Any other
/// shape throws medssl::Error naming `what`.
bool is_class_map(const torch::Tensor& target, const torch::Tensor& logits, const std::string& what);

/// The target as a tensor shaped like `logits` in logits' floating dtype: class maps become one-hot over C classes
/// (their values must be whole numbers in [0, C), else medssl::Error naming `what`); a (B, spatial...) mask for a
/// single-channel output gets its channel axis; tensors shaped like `logits` are only cast.
torch::Tensor segmentation_target_as_one_hot(const torch::Tensor& target, const torch::Tensor& logits,
                                             const std::string& what);

/// The Dice loss of `logits` (B, C, spatial...) against `target` (class map or per-channel, see above).
torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& target, const DiceLossOptions& options = {});

/// dice_loss as a module, for code that holds losses as modules (like torch::nn::CrossEntropyLoss).
class DiceLossImpl : public torch::nn::Module {
 public:
  explicit DiceLossImpl(DiceLossOptions options = {}) : options_(std::move(options)) {}
  torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& target) {
    return dice_loss(logits, target, options_);
  }
  const DiceLossOptions& options() const { return options_; }

 private:
  DiceLossOptions options_;
};
TORCH_MODULE(DiceLoss);

}  // namespace medssl::losses
