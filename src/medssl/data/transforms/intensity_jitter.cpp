#include "medssl/data/transforms/intensity_jitter.h"

#include <cmath>

#include "medssl/core/error.h"

namespace medssl {

torch::Tensor shift_brightness_scale_contrast(const torch::Tensor& data, double delta, double contrast) {
  check(data.defined(), "shift_brightness_scale_contrast: tensor is undefined");
  check(std::isfinite(delta) && std::isfinite(contrast),
        "shift_brightness_scale_contrast: delta {} and contrast {} must be finite", delta, contrast);
  const torch::Tensor shifted = (data.is_floating_point() ? data : data.to(torch::kFloat32)) + delta;
  const torch::Tensor mean = shifted.mean();
  return (shifted - mean) * contrast + mean;
}

torch::Tensor brightness_contrast_by_max(const torch::Tensor& data, double alpha, double beta, double max_value,
                                         bool clip) {
  check(data.defined(), "brightness_contrast_by_max: tensor is undefined");
  check(std::isfinite(alpha) && std::isfinite(beta), "brightness_contrast_by_max: alpha {} and beta {} must be finite",
        alpha, beta);
  check(max_value > 0, "brightness_contrast_by_max: max_value {} must be positive", max_value);
  torch::Tensor out = (data.is_floating_point() ? data : data.to(torch::kFloat32)) * alpha + beta * max_value;
  return clip ? out.clamp(0.0, max_value) : out;
}

}  // namespace medssl
