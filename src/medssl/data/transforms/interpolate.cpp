#include "medssl/data/transforms/interpolate.h"

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

const char* interp_name(Interp interp) { return interp == Interp::linear ? "linear" : "nearest"; }

namespace {

// Source index of each output voxel along one axis for nearest-exact sampling.
torch::Tensor nearest_indices(int64_t in_size, int64_t out_size, double ratio) {
  std::vector<int64_t> idx(static_cast<size_t>(out_size));
  for (int64_t j = 0; j < out_size; ++j) {
    auto src = static_cast<int64_t>(std::floor((static_cast<double>(j) + 0.5) * ratio));
    idx[static_cast<size_t>(j)] = std::min<int64_t>(std::max<int64_t>(src, 0), in_size - 1);
  }
  return torch::tensor(idx, torch::kInt64);
}

}  // namespace

torch::Tensor interpolate_spatial(const torch::Tensor& input, const std::vector<int64_t>& out_size,
                                  const std::vector<double>& ratio, Interp interp) {
  const std::vector<int64_t> in_size = spatial_shape(input, "interpolate");
  const size_t dims = in_size.size();
  check(out_size.size() == dims && ratio.size() == dims,
        "interpolate: {} spatial dims but {} output sizes and {} ratios", dims, out_size.size(), ratio.size());
  for (size_t a = 0; a < dims; ++a) {
    check(out_size[a] > 0, "interpolate: output size {} on axis {} must be positive", out_size[a], a);
    check(std::isfinite(ratio[a]) && ratio[a] > 0, "interpolate: ratio {} on axis {} must be positive", ratio[a], a);
    check(in_size[a] > 0, "interpolate: input has an empty axis {}", a);
  }

  if (interp == Interp::nearest) {
    torch::Tensor out = input;
    for (size_t a = 0; a < dims; ++a) {
      if (out_size[a] == in_size[a] && ratio[a] == 1.0) continue;
      out = out.index_select(static_cast<int64_t>(a) + 1, nearest_indices(in_size[a], out_size[a], ratio[a]));
    }
    return out.contiguous();
  }

  // PyTorch's upsample kernels take "scale" = output/input, and map x = (x' + 0.5) / scale - 0.5 when
  // align_corners is false and a scale is given: exactly our rule with scale = 1 / ratio.
  torch::Tensor batch = input.to(torch::kFloat32).unsqueeze(0);
  torch::Tensor out;
  if (dims == 3) {
    out = torch::upsample_trilinear3d(batch, out_size, /*align_corners=*/false, 1.0 / ratio[0], 1.0 / ratio[1],
                                      1.0 / ratio[2]);
  } else {
    out = torch::upsample_bilinear2d(batch, out_size, /*align_corners=*/false, 1.0 / ratio[0], 1.0 / ratio[1]);
  }
  return out.squeeze(0);
}

}  // namespace medssl
