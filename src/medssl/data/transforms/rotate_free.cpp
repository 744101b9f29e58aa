#include "medssl/data/transforms/rotate_free.h"

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

torch::Tensor rotate_in_plane(const torch::Tensor& data, double degrees, const std::array<int64_t, 2>& plane,
                              double fill) {
  const auto shape = spatial_shape(data, "rotate_in_plane");
  const auto dims = static_cast<int64_t>(shape.size());
  const int64_t a = plane[0], b = plane[1];
  check(a >= 0 && a < dims && b >= 0 && b < dims && a != b,
        "rotate_in_plane: plane ({}, {}) must name two different spatial axes of {}", a, b, dims);
  check(std::isfinite(degrees), "rotate_in_plane: angle {} is not finite", degrees);
  const int64_t na = shape[static_cast<size_t>(a)], nb = shape[static_cast<size_t>(b)];
  check(na >= 2 && nb >= 2, "rotate_in_plane: plane sizes {} x {} must both be >= 2", na, nb);

  torch::Tensor x = data.is_floating_point() ? data : data.to(torch::kFloat32);
  // Move the plane to the last two axes and fold everything else (channels, the third axis) into grid_sample's
  // channel axis: one 2D resampling rotates every slice and channel with the same grid.
  std::vector<int64_t> order{0};
  for (int64_t d = 0; d < dims; ++d)
    if (d != a && d != b) order.push_back(d + 1);
  order.push_back(a + 1);
  order.push_back(b + 1);
  const torch::Tensor moved = x.permute(order).contiguous();
  const auto moved_sizes = moved.sizes().vec();
  const torch::Tensor planes = moved.reshape({1, -1, na, nb});

  // Sampling grid in double (so that 90-degree turns land on integer input voxels), then in the data's dtype.
  const double radians = degrees * M_PI / 180.0;
  const double cos_t = std::cos(radians), sin_t = std::sin(radians);
  const double ca = (static_cast<double>(na) - 1.0) / 2.0, cb = (static_cast<double>(nb) - 1.0) / 2.0;
  auto i = torch::arange(na, torch::kFloat64).view({na, 1}) - ca;
  auto j = torch::arange(nb, torch::kFloat64).view({1, nb}) - cb;
  auto source_a = ca + cos_t * i + sin_t * j;
  auto source_b = cb - sin_t * i + cos_t * j;
  // grid_sample (align_corners): last grid component indexes the last axis (b), the first-but-last the other (a).
  auto grid = torch::stack({source_b * (2.0 / (nb - 1)) - 1.0, source_a * (2.0 / (na - 1)) - 1.0}, -1)
                  .unsqueeze(0)
                  .to(planes.scalar_type());

  namespace F = torch::nn::functional;
  const auto options =
      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(true);
  torch::Tensor rotated = fill == 0.0 ? F::grid_sample(planes, grid, options)
                                      : F::grid_sample(planes - fill, grid, options) + fill;  // constant `fill` outside

  std::vector<int64_t> inverse(order.size());
  for (size_t d = 0; d < order.size(); ++d) inverse[static_cast<size_t>(order[d])] = static_cast<int64_t>(d);
  return rotated.reshape(moved_sizes).permute(inverse).contiguous();
}

}  // namespace medssl
