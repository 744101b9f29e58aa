#include "medssl/data/transforms/random_zoom.h"

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/data/transforms/pad.h"
#include "medssl/data/transforms/resize.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

torch::Tensor zoom_keep_shape(const torch::Tensor& data, const std::vector<double>& factors, Rng& rng) {
  const auto shape = spatial_shape(data, "zoom");
  check(factors.size() == shape.size(), "zoom: {} factors for {} spatial dims", factors.size(), shape.size());
  std::vector<int64_t> zoomed_size;
  for (size_t a = 0; a < shape.size(); ++a) {
    check(std::isfinite(factors[a]) && factors[a] > 0, "zoom: factor {} on axis {} must be positive", factors[a], a);
    // std::nearbyint rounds half to even under the default rounding mode, as Python's round in ndimage.zoom.
    zoomed_size.push_back(std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(shape[a] * factors[a]))));
  }
  const torch::Tensor zoomed = zoomed_size == shape ? data.to(torch::kFloat32) : resize_to(data, zoomed_size);
  return random_crop(pad_to(zoomed, shape), shape, rng);
}

torch::Tensor random_zoom(const torch::Tensor& data, double max_change, Rng& rng) {
  check(max_change >= 0 && max_change < 1, "random_zoom: max_change {} must be in [0, 1)", max_change);
  const auto shape = spatial_shape(data, "random_zoom");
  std::vector<double> factors;
  for (size_t a = 0; a < shape.size(); ++a) factors.push_back(rng.uniform(1.0 - max_change, 1.0 + max_change));
  return zoom_keep_shape(data, factors, rng);
}

}  // namespace medssl
