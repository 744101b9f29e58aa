#include "medssl/losses/dice_ce.h"

#include "medssl/core/error.h"

namespace medssl::losses {

DiceCETerms dice_ce_terms(const torch::Tensor& logits, const torch::Tensor& target, const DiceCELossOptions& options) {
  const std::string what = "dice-ce loss";
  check(options.lambda_dice() >= 0 && options.lambda_ce() >= 0,
        "{}: lambda_dice and lambda_ce must be >= 0, got {} and {}", what, options.lambda_dice(), options.lambda_ce());
  check(options.reduction() != LossReduction::none, "{}: reduction must be mean or sum", what);
  check(options.dice().class_weights().empty(),
        "{}: set class weights on the dice-ce options (they serve both terms), not on its dice options", what);
  check(options.label_smoothing() >= 0 && options.label_smoothing() <= 1,
        "{}: label_smoothing must lie in [0, 1], got {}", what, options.label_smoothing());
  const bool class_map = is_class_map(target, logits, what);
  const int64_t num_channels = logits.size(1);
  const auto& weights = options.class_weights();
  check(weights.empty() || static_cast<int64_t>(weights.size()) == num_channels,
        "{}: class_weights has {} entries for {} output channels", what, weights.size(), num_channels);

  DiceLossOptions dice_options = options.dice();
  dice_options.reduction(options.reduction());
  if (!weights.empty()) {
    const bool drop_background = !dice_options.include_background() && num_channels > 1;
    dice_options.class_weights(drop_background ? std::vector<double>(weights.begin() + 1, weights.end()) : weights);
  }

  const auto dtype = torch::isFloatingType(logits.scalar_type()) ? logits.scalar_type() : torch::kFloat32;
  torch::Tensor weight_tensor;
  if (!weights.empty()) {
    weight_tensor = torch::tensor(weights, torch::TensorOptions().dtype(torch::kFloat64)).to(logits.device(), dtype);
  }
  const int64_t reduction = to_at_reduction(options.reduction());

  // The Dice term first: it validates the class map (range, whole numbers) with a readable message.
  const auto dice = dice_loss(logits, target, dice_options);
  torch::Tensor ce;
  if (num_channels == 1) {
    const auto ground = segmentation_target_as_one_hot(target, logits, what);
    ce = torch::binary_cross_entropy_with_logits(logits, ground, {}, weight_tensor, reduction);
  } else if (class_map) {
    const auto labels = (target.dim() == logits.dim() ? target.squeeze(1) : target).to(torch::kLong);
    ce = torch::cross_entropy_loss(logits, labels, weight_tensor, reduction, -100, options.label_smoothing());
  } else {
    const auto probabilities = target.to(logits.device(), dtype);
    ce = torch::cross_entropy_loss(logits, probabilities, weight_tensor, reduction, -100, options.label_smoothing());
  }
  return {options.lambda_dice() * dice + options.lambda_ce() * ce, dice, ce};
}

}  // namespace medssl::losses
