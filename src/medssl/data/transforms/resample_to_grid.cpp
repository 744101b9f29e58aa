#include "medssl/data/transforms/resample_to_grid.h"

#include <algorithm>

#include "medssl/core/error.h"

namespace medssl {

namespace F = torch::nn::functional;

torch::Tensor labels_on_grid(const torch::Tensor& scores, const Mat44& source_affine,
                             const std::array<int64_t, 3>& target_shape, const Mat44& target_affine) {
  check(scores.dim() == 4, "labels_on_grid: scores must be (K, D, H, W), got {} dims", scores.dim());
  const int64_t classes = scores.size(0);
  check(classes >= 1 && classes <= 256, "labels_on_grid: {} classes do not fit a uint8 label map", classes);
  check(all_finite(source_affine) && all_finite(target_affine), "labels_on_grid: affines must be finite");
  const Mat44 m = matmul(inverse_affine(source_affine), target_affine);  // target (i, j, k) -> source (i', j', k')
  const std::array<int64_t, 3> source_dhw{scores.size(1), scores.size(2), scores.size(3)};
  const auto [depth, height, width] = target_shape;

  torch::Tensor input = scores.to(torch::kFloat32).unsqueeze(0);  // (1, K, D', H', W')
  torch::Tensor inside = torch::ones({1, 1, source_dhw[0], source_dhw[1], source_dhw[2]}, torch::kFloat32);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor w = torch::arange(width, f64).view({1, 1, width});
  const torch::Tensor h = torch::arange(height, f64).view({1, height, 1});

  // About 64 MiB of interpolated scores per slab.
  const int64_t slab = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, classes * height * width));
  torch::Tensor labels = torch::empty({depth, height, width}, torch::kUInt8);
  for (int64_t d0 = 0; d0 < depth; d0 += slab) {
    const int64_t d1 = std::min(depth, d0 + slab);
    const torch::Tensor d = torch::arange(d0, d1, f64).view({d1 - d0, 1, 1});
    // grid_sample's last axis is (x, y, z) = (W, H, D) = (i', j', k'); with align_corners=false voxel centre c of an
    // axis of n voxels sits at (2c + 1) / n - 1.
    std::vector<torch::Tensor> normalised;
    for (int row = 0; row < 3; ++row) {
      const torch::Tensor c = w * m[row][0] + h * m[row][1] + d * m[row][2] + m[row][3];
      const double n = static_cast<double>(source_dhw[static_cast<size_t>(2 - row)]);
      normalised.push_back((2.0 * c + 1.0) / n - 1.0);
    }
    const torch::Tensor grid = torch::stack(normalised, -1).to(torch::kFloat32).unsqueeze(0);  // (1, S, H, W, 3)
    const auto options = F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false);
    torch::Tensor sampled = F::grid_sample(input, grid, options).squeeze(0);    // (K, S, H, W)
    torch::Tensor covered = F::grid_sample(inside, grid, options).squeeze(0);  // (1, S, H, W)
    sampled[0] += 1.0 - covered[0];
    labels.slice(0, d0, d1).copy_(sampled.argmax(0).to(torch::kUInt8));
  }
  return labels;
}

}  // namespace medssl
