#include "medssl/pretext/patch_grid.h"

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop.h"

namespace medssl::pretext {

int64_t PatchGrid::cell(int64_t side) const {
  check(patches_per_side >= 1, "patches_per_side must be >= 1, got {}", patches_per_side);
  const int64_t overlap = jitter < 0 ? -jitter : 0;
  const int64_t c = (side - overlap) / patches_per_side;
  check(c >= 1, "patch grid: image side {} is too small for patches_per_side {} and patch_jitter {}", side,
        patches_per_side, jitter);
  return c;
}

int64_t PatchGrid::patch(int64_t side) const {
  const int64_t p = cell(side) - jitter;
  check(p >= 1, "patch grid: patch_jitter {} leaves no voxels in a cell of {} (image side {}, patches_per_side {})",
        jitter, cell(side), side, patches_per_side);
  return p;
}

int64_t PatchGrid::count(int spatial_dims) const {
  int64_t n = 1;
  for (int d = 0; d < spatial_dims; ++d) n *= patches_per_side;
  return n;
}

std::vector<torch::Tensor> PatchGrid::cut(const torch::Tensor& image, bool training, Rng& rng) const {
  const int64_t dims = image.dim() - 1;
  check(dims == 2 || dims == 3, "patch grid: expected a (C, H, W) or (C, D, H, W) image, got {} dimensions",
        image.dim());
  const int64_t side = image.size(1);
  for (int64_t d = 1; d <= dims; ++d)
    check(image.size(d) == side, "patch grid: image must be square/cubic, got side {} and {}", side, image.size(d));
  const int64_t stride = cell(side);
  const int64_t patch_side = patch(side);
  const int64_t window = stride + (jitter < 0 ? -jitter : 0);  // extent of one cell
  std::vector<torch::Tensor> patches;
  patches.reserve(static_cast<size_t>(count(static_cast<int>(dims))));
  std::vector<int64_t> index(static_cast<size_t>(dims), 0);
  const std::vector<int64_t> patch_size(static_cast<size_t>(dims), patch_side);
  for (int64_t n = 0; n < count(static_cast<int>(dims)); ++n) {
    int64_t rest = n;
    for (int64_t d = dims - 1; d >= 0; --d) {
      index[static_cast<size_t>(d)] = rest % patches_per_side;
      rest /= patches_per_side;
    }
    torch::Tensor cell_view = image;
    for (int64_t d = 0; d < dims; ++d) cell_view = cell_view.narrow(d + 1, index[static_cast<size_t>(d)] * stride, window);
    if (patch_side < window) {
      patches.push_back(training ? random_crop(cell_view, patch_size, rng) : center_crop(cell_view, patch_size));
    } else {
      patches.push_back(cell_view.contiguous());
    }
  }
  return patches;
}

}  // namespace medssl::pretext
