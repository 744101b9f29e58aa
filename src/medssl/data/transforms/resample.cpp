#include "medssl/data/transforms/resample.h"

#include <algorithm>
#include <cmath>

#include "medssl/core/error.h"
#include "medssl/data/volume/affine_update.h"

namespace medssl {
namespace {

// Output sizes and per-axis ratios (new / old spacing) for any number of axes; validates the spacings.
template <size_t N>
void plan(const std::string& path, const std::vector<int64_t>& in_size, const std::array<double, N>& old_spacing,
          const std::array<double, N>& new_spacing, std::vector<int64_t>& out_size, std::vector<double>& ratio) {
  check(in_size.size() == N, "resample_to_spacing '{}': expected {} spatial dims, the data has {}", path, N,
        in_size.size());
  for (size_t a = 0; a < N; ++a) {
    check(std::isfinite(new_spacing[a]) && new_spacing[a] > 0,
          "resample_to_spacing '{}': target spacing {} on axis {} must be a positive number", path, new_spacing[a], a);
    check(std::isfinite(old_spacing[a]) && old_spacing[a] > 0,
          "resample_to_spacing '{}': image spacing {} on axis {} is not positive", path, old_spacing[a], a);
    out_size.push_back(resampled_size(in_size[a], old_spacing[a], new_spacing[a]));
    ratio.push_back(new_spacing[a] / old_spacing[a]);
  }
}

}  // namespace

int64_t resampled_size(int64_t n, double old_spacing, double new_spacing) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(n) * old_spacing / new_spacing));
}

Volume resample_to_spacing(const Volume& volume, const std::array<double, 3>& target, Interp interp) {
  std::vector<int64_t> out_size;
  std::vector<double> ratio;
  plan(volume.path, spatial_shape(volume.data, "resample_to_spacing"), volume.spacing, target, out_size, ratio);
  Volume out = volume;
  out.data = interpolate_spatial(volume.data, out_size, ratio, interp);
  out.spacing = target;
  out.affine = affine_rescale(volume.affine, {ratio[0], ratio[1], ratio[2]});
  return out;
}

Volume resample_label_to_spacing(const Volume& label, const std::array<double, 3>& target) {
  return resample_to_spacing(label, target, Interp::nearest);
}

Image2D resample_to_spacing(const Image2D& image, const std::array<double, 2>& target, Interp interp) {
  std::vector<int64_t> out_size;
  std::vector<double> ratio;
  plan(image.path, spatial_shape(image.data, "resample_to_spacing"), image.spacing, target, out_size, ratio);
  Image2D out = image;
  out.data = interpolate_spatial(image.data, out_size, ratio, interp);
  out.spacing = target;
  return out;
}

Image2D resample_label_to_spacing(const Image2D& label, const std::array<double, 2>& target) {
  return resample_to_spacing(label, target, Interp::nearest);
}

}  // namespace medssl
