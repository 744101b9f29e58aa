#include "medssl/losses/dice.h"

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::losses {

namespace {

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// A tensor's sizes without axis 1 (the channel axis).
std::vector<int64_t> sizes_without_channels(const torch::Tensor& t) {
  std::vector<int64_t> s;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d != 1) s.push_back(t.size(d));
  }
  return s;
}

torch::Tensor floating_like(const torch::Tensor& t, const torch::Tensor& logits) {
  return t.to(logits.device(), torch::isFloatingType(logits.scalar_type()) ? logits.scalar_type() : torch::kFloat32);
}

}  // namespace

DiceActivation parse_dice_activation(const std::string& name) {
  if (name == "softmax") return DiceActivation::softmax;
  if (name == "sigmoid") return DiceActivation::sigmoid;
  if (name == "none") return DiceActivation::none;
  fail("dice activation '{}' is not supported (choose softmax, sigmoid or none)", name);
}

bool is_class_map(const torch::Tensor& target, const torch::Tensor& logits, const std::string& what) {
  check(logits.dim() >= 3, "{}: logits must be (B, C, spatial...), got shape {}", what, shape_of(logits));
  const auto spatial = sizes_without_channels(logits);
  if (target.sizes() == logits.sizes()) return false;
  if (target.dim() == logits.dim() - 1 && target.sizes().vec() == spatial) return true;
  if (target.dim() == logits.dim() && target.size(1) == 1 && sizes_without_channels(target) == spatial) return true;
  fail("{}: target shape {} fits neither a class map (B, [1,] spatial...) nor the logits' shape {}", what,
       shape_of(target), shape_of(logits));
}

torch::Tensor segmentation_target_as_one_hot(const torch::Tensor& target, const torch::Tensor& logits,
                                             const std::string& what) {
  const int64_t num_classes = logits.size(1);
  if (!is_class_map(target, logits, what)) return floating_like(target, logits);
  torch::Tensor labels = target.dim() == logits.dim() ? target.squeeze(1) : target;
  if (num_classes == 1) return floating_like(labels.unsqueeze(1), logits);  // a binary mask for one channel
  if (torch::isFloatingType(labels.scalar_type())) {
    check((labels == labels.round()).all().item<bool>(), "{}: the class map holds non-integer values", what);
  }
  labels = labels.to(torch::kLong);
  if (labels.numel() > 0) {
    const int64_t lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
    check(lo >= 0 && hi < num_classes, "{}: class map values must lie in [0, {}) for {} output channels, found {}..{}",
          what, num_classes, num_classes, lo, hi);
  }
  // one_hot appends the class axis last; move it to position 1.
  return floating_like(torch::one_hot(labels, num_classes).movedim(-1, 1), logits);
}

torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& target, const DiceLossOptions& options) {
  const std::string what = "dice loss";
  check(logits.dim() >= 3, "{}: logits must be (B, C, spatial...), got shape {}", what, shape_of(logits));
  check(options.smooth_nr() >= 0 && options.smooth_dr() >= 0, "{}: smooth_nr and smooth_dr must be >= 0", what);
  const int64_t num_channels = logits.size(1);
  torch::Tensor input = logits;
  switch (options.activation()) {
    case DiceActivation::sigmoid: input = torch::sigmoid(input); break;
    case DiceActivation::softmax:
      // MONAI warns and skips the softmax of a single channel (which would be constant 1); that silently trains on
      // raw logits, so refuse instead.
      check(num_channels > 1, "{}: softmax over a single output channel is constant; use sigmoid", what);
      input = torch::softmax(input, 1);
      break;
    case DiceActivation::none: break;
  }
  torch::Tensor ground = segmentation_target_as_one_hot(target, logits, what);
  if (!options.include_background() && num_channels > 1) {
    input = input.slice(1, 1);
    ground = ground.slice(1, 1);
  }

  std::vector<int64_t> axes;
  if (options.batch()) axes.push_back(0);
  for (int64_t d = 2; d < input.dim(); ++d) axes.push_back(d);

  torch::Tensor tp, fp, fn;
  if (!options.squared_pred()) {
    tp = (input * ground).sum(axes);
    fp = input.sum(axes) - tp;
    fn = ground.sum(axes) - tp;
  } else {
    // MONAI's order-2 formulation (compute_tp_fp_fn): tp from the norms, so sum P^2 + sum G^2 is the denominator.
    const auto pred_o = torch::linalg_vector_norm(input, 2, axes).pow(2);
    const auto ground_o = torch::linalg_vector_norm(ground, 2, axes).pow(2);
    const auto difference = torch::linalg_vector_norm(input - ground, 2, axes).pow(2);
    tp = (pred_o + ground_o - difference) / 2;
    fp = pred_o - tp;
    fn = ground_o - tp;
  }
  if (!options.jaccard()) {
    fp = fp * 0.5;
    fn = fn * 0.5;
  }
  const auto numerator = 2 * tp + options.smooth_nr();
  const auto denominator = 2 * (tp + fp + fn) + options.smooth_dr();
  torch::Tensor f = 1 - numerator / denominator;

  const auto& weights = options.class_weights();
  const int64_t num_classes = ground.size(1);
  if (!weights.empty() && num_classes != 1) {
    check(weights.size() == 1 || static_cast<int64_t>(weights.size()) == num_classes,
          "{}: class_weights has {} entries but the loss sees {} classes{}", what, weights.size(), num_classes,
          options.include_background() ? "" : " (background excluded)");
    for (double w : weights) check(w >= 0, "{}: class_weights must be >= 0, got {}", what, w);
    auto w = torch::tensor(weights, torch::TensorOptions().dtype(torch::kFloat64)).to(f.device(), f.scalar_type());
    f = f * w;  // the class axis is the last axis of f
  }

  switch (options.reduction()) {
    case LossReduction::mean: return f.mean();
    case LossReduction::sum: return f.sum();
    case LossReduction::none: {
      std::vector<int64_t> shape(f.sizes().begin(), f.sizes().begin() + std::min<int64_t>(2, f.dim()));
      for (int64_t d = 2; d < input.dim(); ++d) shape.push_back(1);
      return f.view(shape);
    }
  }
  return f.mean();
}

}  // namespace medssl::losses
