#pragma once
// Dice + cross-entropy, as MONAI's monai.losses.DiceCELoss (the loss of the MONAI UNETR/SSL fine-tuning tutorials):
//   total = lambda_dice * dice_loss(logits, target) + lambda_ce * CE(logits, target)
// CE is torch's cross entropy on the logits (class indices for a class map, probability targets for a one-hot /
// soft target), with the optional class weights (shared with the Dice term, as MONAI does: without background the
// Dice term gets weights[1:]) and label smoothing. A single-channel output uses binary cross-entropy with logits
// (class weight = pos_weight) instead, again as MONAI.
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/losses/dice.h"

namespace medssl::losses {

struct DiceCELossOptions {
  /// The Dice term's options; its class_weights must stay empty and its reduction is replaced by `reduction`
  /// (MONAI has one weight vector and one reduction for both terms).
  TORCH_ARG(DiceLossOptions, dice) = {};
  TORCH_ARG(double, lambda_dice) = 1.0;
  TORCH_ARG(double, lambda_ce) = 1.0;
  /// one weight per output channel (background included), or empty.
  TORCH_ARG(std::vector<double>, class_weights) = {};
  TORCH_ARG(double, label_smoothing) = 0.0;
  /// mean | sum (none is refused: the two terms have different shapes).
  TORCH_ARG(LossReduction, reduction) = LossReduction::mean;
};

/// Both terms separately, for logging.
struct DiceCETerms {
  torch::Tensor total, dice, ce;
};

DiceCETerms dice_ce_terms(const torch::Tensor& logits, const torch::Tensor& target,
                          const DiceCELossOptions& options = {});

inline torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                  const DiceCELossOptions& options = {}) {
  return dice_ce_terms(logits, target, options).total;
}

class DiceCELossImpl : public torch::nn::Module {
 public:
  explicit DiceCELossImpl(DiceCELossOptions options = {}) : options_(std::move(options)) {}
  torch::Tensor forward(const torch::Tensor& logits, const torch::Tensor& target) {
    return dice_ce_loss(logits, target, options_);
  }
  const DiceCELossOptions& options() const { return options_; }

 private:
  DiceCELossOptions options_;
};
TORCH_MODULE(DiceCELoss);

}  // namespace medssl::losses
