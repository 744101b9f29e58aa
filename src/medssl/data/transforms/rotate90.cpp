#include "medssl/data/transforms/rotate90.h"

#include "medssl/core/error.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

torch::Tensor rotate90(const torch::Tensor& data, int64_t k, const std::array<int64_t, 2>& plane) {
  const auto shape = spatial_shape(data, "rotate90");
  const auto dims = static_cast<int64_t>(shape.size());
  check(plane[0] >= 0 && plane[0] < dims && plane[1] >= 0 && plane[1] < dims && plane[0] != plane[1],
        "rotate90: plane ({}, {}) must name two different spatial axes of {}", plane[0], plane[1], dims);
  const int64_t turns = ((k % 4) + 4) % 4;
  if (turns == 0) return data.clone(at::MemoryFormat::Contiguous);
  return torch::rot90(data, turns, {plane[0] + 1, plane[1] + 1}).contiguous();
}

torch::Tensor random_rotate90(const torch::Tensor& data, const std::array<int64_t, 2>& plane, Rng& rng) {
  return rotate90(data, rng.uniform_int(0, 3), plane);
}

}  // namespace medssl
