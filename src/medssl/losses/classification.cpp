#include "medssl/losses/classification.h"

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::losses {

namespace {

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

torch::ScalarType float_type(const torch::Tensor& t) {
  return torch::isFloatingType(t.scalar_type()) ? t.scalar_type() : torch::kFloat32;
}

}  // namespace

torch::Tensor softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                    const CrossEntropyOptions& options) {
  const char* what = "cross-entropy loss";
  check(logits.dim() >= 2, "{}: logits must be (N, C, ...), got shape {}", what, shape_of(logits));
  const int64_t num_classes = logits.size(1);
  check(options.label_smoothing() >= 0 && options.label_smoothing() <= 1,
        "{}: label_smoothing must lie in [0, 1], got {}", what, options.label_smoothing());
  const auto& weights = options.class_weights();
  torch::Tensor weight;
  if (!weights.empty()) {
    check(static_cast<int64_t>(weights.size()) == num_classes, "{}: {} class weights for {} classes", what,
          weights.size(), num_classes);
    for (double w : weights) check(w >= 0, "{}: class weights must be >= 0, got {}", what, w);
    weight = torch::tensor(weights, torch::kFloat64).to(logits.device(), float_type(logits));
  }
  const int64_t reduction = to_at_reduction(options.reduction());
  if (target.sizes() == logits.sizes() && torch::isFloatingType(target.scalar_type())) {
    return torch::cross_entropy_loss(logits, target.to(logits.scalar_type()), weight, reduction, options.ignore_index(),
                                     options.label_smoothing());
  }
  std::vector<int64_t> expected;  // logits' sizes without the class axis
  for (int64_t d = 0; d < logits.dim(); ++d) {
    if (d != 1) expected.push_back(logits.size(d));
  }
  check(target.sizes().vec() == expected, "{}: target shape {} is neither class indices {} nor logits' shape {}", what,
        shape_of(target), fmt::format("[{}]", fmt::join(expected, ", ")), shape_of(logits));
  check(!torch::isFloatingType(target.scalar_type()),
        "{}: class-index targets must have an integer type (float targets must be shaped like the logits)", what);
  const auto labels = target.to(torch::kLong);
  const auto valid = labels != options.ignore_index();
  if (valid.any().item<bool>()) {
    const auto kept = labels.masked_select(valid);
    const int64_t lo = kept.min().item<int64_t>(), hi = kept.max().item<int64_t>();
    check(lo >= 0 && hi < num_classes, "{}: class indices must lie in [0, {}), found {}..{}", what, num_classes, lo,
          hi);
  }
  return torch::cross_entropy_loss(logits, labels, weight, reduction, options.ignore_index(),
                                   options.label_smoothing());
}

torch::Tensor mean_squared_error(const torch::Tensor& prediction, const torch::Tensor& target,
                                 LossReduction reduction) {
  check(prediction.sizes() == target.sizes(), "mse loss: prediction {} and target {} must have the same shape",
        shape_of(prediction), shape_of(target));
  return torch::mse_loss(prediction, target.to(prediction.scalar_type()), to_at_reduction(reduction));
}

torch::Tensor ordinal_encode(const torch::Tensor& grades, int64_t num_grades) {
  check(num_grades >= 1, "ordinal encoding: num_grades must be >= 1, got {}", num_grades);
  check(grades.dim() == 1, "ordinal encoding: grades must be a vector (N), got shape {}", shape_of(grades));
  check(!torch::isFloatingType(grades.scalar_type()), "ordinal encoding: grades must be integers");
  const auto g = grades.to(torch::kLong);
  if (g.numel() > 0) {
    const int64_t lo = g.min().item<int64_t>(), hi = g.max().item<int64_t>();
    check(lo >= 0 && hi < num_grades, "ordinal encoding: grades must lie in [0, {}), found {}..{}", num_grades, lo, hi);
  }
  const auto positions = torch::arange(num_grades, g.options()).unsqueeze(0);
  return (positions <= g.unsqueeze(1)).to(torch::kFloat32);
}

torch::Tensor ordinal_bce_loss(const torch::Tensor& logits, const torch::Tensor& target, LossReduction reduction) {
  check(logits.dim() == 2, "ordinal bce loss: logits must be (N, K), got shape {}", shape_of(logits));
  torch::Tensor encoded;
  if (target.dim() == 1) {
    check(target.size(0) == logits.size(0), "ordinal bce loss: {} grades for {} samples", target.size(0),
          logits.size(0));
    encoded = ordinal_encode(target, logits.size(1));
  } else {
    check(target.sizes() == logits.sizes(), "ordinal bce loss: target {} must be grades (N) or shaped like logits {}",
          shape_of(target), shape_of(logits));
    encoded = target;
  }
  return torch::binary_cross_entropy_with_logits(logits, encoded.to(logits.device(), float_type(logits)), {}, {},
                                                 to_at_reduction(reduction));
}

}  // namespace medssl::losses
