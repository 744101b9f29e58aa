#include "medssl/data/transforms/intensity_window.h"

#include <algorithm>
#include <cmath>

#include "medssl/core/error.h"

namespace medssl {

torch::Tensor window_intensity(const torch::Tensor& data, double a_min, double a_max, double b_min, double b_max,
                               bool clip) {
  check(data.defined(), "window_intensity: tensor is undefined");
  check(std::isfinite(a_min) && std::isfinite(a_max) && std::isfinite(b_min) && std::isfinite(b_max),
        "window_intensity: bounds must be finite (a_min {}, a_max {}, b_min {}, b_max {})", a_min, a_max, b_min,
        b_max);
  check(a_max != a_min, "window_intensity: empty input window (a_min = a_max = {})", a_min);
  const double scale = (b_max - b_min) / (a_max - a_min);
  torch::Tensor y = (data.to(torch::kFloat32) - a_min) * scale + b_min;
  if (clip) y = y.clamp(std::min(b_min, b_max), std::max(b_min, b_max));
  return y;
}

}  // namespace medssl
