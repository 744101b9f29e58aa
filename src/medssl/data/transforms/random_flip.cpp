#include "medssl/data/transforms/random_flip.h"

#include "medssl/core/error.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

torch::Tensor flip_spatial(const torch::Tensor& data, const std::vector<int64_t>& spatial_axes) {
  const auto shape = spatial_shape(data, "flip");
  std::vector<int64_t> dims;
  for (int64_t axis : spatial_axes) {
    check(axis >= 0 && axis < static_cast<int64_t>(shape.size()),
          "flip: spatial axis {} out of range for {} spatial dims", axis, shape.size());
    dims.push_back(axis + 1);
  }
  if (dims.empty()) return data.clone(at::MemoryFormat::Contiguous);
  return torch::flip(data, dims).contiguous();
}

torch::Tensor random_flip(const torch::Tensor& data, int64_t spatial_axis, double p, Rng& rng) {
  const bool flip = rng.bernoulli(p);
  return flip ? flip_spatial(data, {spatial_axis}) : flip_spatial(data, {});
}

}  // namespace medssl
