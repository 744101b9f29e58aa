#include "medssl/losses/reference_seg_losses.h"

#include <fmt/format.h>

#include "medssl/core/error.h"
#include "medssl/losses/dice.h"

namespace medssl::losses::reference {

namespace {

// Keras sums over every axis but the (last) class axis; channels-first that is every axis but 1.
std::vector<int64_t> all_but_classes(const torch::Tensor& t) {
  std::vector<int64_t> axes{0};
  for (int64_t d = 2; d < t.dim(); ++d) axes.push_back(d);
  return axes;
}

void check_pair(const torch::Tensor& probabilities, const torch::Tensor& one_hot, const char* what) {
  check(probabilities.dim() >= 2, "reference {}: probabilities must be (B, C, ...), got {} dimensions", what,
        probabilities.dim());
  check(probabilities.sizes() == one_hot.sizes(), "reference {}: probabilities [{}] and one-hot target [{}] differ",
        what, fmt::join(probabilities.sizes(), ", "), fmt::join(one_hot.sizes(), ", "));
}

torch::Tensor class_weight_tensor(const std::vector<double>& weights, const torch::Tensor& like, const char* what) {
  check(static_cast<int64_t>(weights.size()) == like.size(1),
        "reference {}: {} class weights for {} classes (the reference's default (1, 5, 10) is for 3 classes)", what,
        weights.size(), like.size(1));
  // Shaped to broadcast over the class axis 1.
  std::vector<int64_t> shape(like.dim(), 1);
  shape[1] = like.size(1);
  return torch::tensor(weights, torch::kFloat64).to(like.device(), like.scalar_type()).view(shape);
}

}  // namespace

torch::Tensor dice_coefficient_per_class(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                                         double smooth) {
  check_pair(probabilities, one_hot, "dice coefficient");
  const auto axes = all_but_classes(probabilities);
  const auto y = one_hot.to(probabilities.scalar_type());
  return 2.0 * ((y * probabilities).sum(axes) + smooth / 2) / (y.sum(axes) + probabilities.sum(axes) + smooth);
}

torch::Tensor weighted_dice_coefficient(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                                        double smooth) {
  return dice_coefficient_per_class(probabilities, one_hot, smooth).mean();
}

torch::Tensor weighted_dice_loss(const torch::Tensor& probabilities, const torch::Tensor& one_hot) {
  return -weighted_dice_coefficient(probabilities, one_hot);
}

torch::Tensor jaccard_distance(const torch::Tensor& probabilities, const torch::Tensor& one_hot, double smooth,
                               bool scale_by_smooth) {
  check_pair(probabilities, one_hot, "jaccard distance");
  const auto axes = all_but_classes(probabilities);
  const auto y = one_hot.to(probabilities.scalar_type());
  const auto intersection = (y * probabilities).abs().sum(axes);
  const auto sum = (y.abs() + probabilities.abs()).sum(axes);
  const auto jaccard = (intersection + smooth) / (sum - intersection + smooth + kKerasEpsilon);
  const auto distance = 1 - jaccard.mean();
  return scale_by_smooth ? distance * smooth : distance;
}

torch::Tensor weighted_categorical_crossentropy(const torch::Tensor& probabilities, const torch::Tensor& one_hot,
                                                const std::vector<double>& class_weights) {
  check_pair(probabilities, one_hot, "weighted categorical crossentropy");
  const auto w = class_weight_tensor(class_weights, probabilities, "weighted categorical crossentropy");
  const auto y = one_hot.to(probabilities.scalar_type());
  const auto normalised = probabilities / (probabilities.sum(1, /*keepdim=*/true) + kKerasEpsilon);
  const auto clipped = normalised.clamp(kKerasEpsilon, 1 - kKerasEpsilon);
  return (-(y * clipped.log() * w).sum(1)).mean();
}

torch::Tensor weighted_sum_loss(const torch::Tensor& probabilities, const torch::Tensor& one_hot, double alpha,
                                double beta, const std::vector<double>& class_weights) {
  return alpha * jaccard_distance(probabilities, one_hot) +
         beta * weighted_categorical_crossentropy(probabilities, one_hot, class_weights);
}

SegLoss parse_seg_loss(const std::string& name) {
  if (name == "weighted_dice_loss" || name == "weighted_dice_coefficient_loss") return SegLoss::weighted_dice_loss;
  if (name == "jaccard_distance") return SegLoss::jaccard_distance;
  if (name == "weighted_sum_loss") return SegLoss::weighted_sum_loss;
  fail(
      "reference segmentation loss '{}' is not known (choose weighted_dice_loss, jaccard_distance or "
      "weighted_sum_loss)",
      name);
}

std::string to_string(SegLoss loss) {
  switch (loss) {
    case SegLoss::weighted_dice_loss: return "weighted_dice_loss";
    case SegLoss::jaccard_distance: return "jaccard_distance";
    case SegLoss::weighted_sum_loss: return "weighted_sum_loss";
  }
  return "?";
}

torch::Tensor seg_loss(SegLoss loss, const torch::Tensor& logits, const torch::Tensor& target) {
  const std::string what = "reference " + to_string(loss);
  check(logits.dim() >= 3 && logits.size(1) > 1, "{}: logits must be (B, C > 1, spatial...)", what);
  const auto probabilities = torch::softmax(logits, 1);
  const auto one_hot = segmentation_target_as_one_hot(target, logits, what);
  switch (loss) {
    case SegLoss::weighted_dice_loss: return weighted_dice_loss(probabilities, one_hot);
    case SegLoss::jaccard_distance: return jaccard_distance(probabilities, one_hot);
    case SegLoss::weighted_sum_loss: return weighted_sum_loss(probabilities, one_hot);
  }
  return weighted_dice_loss(probabilities, one_hot);
}

}  // namespace medssl::losses::reference
