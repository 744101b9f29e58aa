// Axis permutations and flips that bring a volume to RAS+ (and back), like nibabel's io_orientation +
// apply_orientation. Only the voxel order changes: the world position of every voxel stays the same.
#include "medssl/core/error.h"
#include "medssl/io/nifti.h"
#include "medssl/io/nifti_header.h"

namespace medssl::io {

AxisReorientation ras_reorientation(const Mat44& affine) {
  check(all_finite(affine), "cannot reorient: the affine has NaN or infinite entries");
  AxisReorientation r;
  const auto directions = voxel_axis_directions(affine);
  for (int source = 0; source < 3; ++source) {
    const int target = directions[source].world_axis;
    r.source_axis[target] = source;
    r.flipped[target] = directions[source].sign < 0;
  }
  return r;
}

AxisReorientation inverse(const AxisReorientation& r) {
  AxisReorientation inv;
  for (int a = 0; a < 3; ++a) {
    inv.source_axis[r.source_axis[a]] = a;
    inv.flipped[r.source_axis[a]] = r.flipped[a];
  }
  return inv;
}

void reorient(ImageData& image, const AxisReorientation& r) {
  std::array<bool, 3> seen{false, false, false};
  for (int s : r.source_axis) {
    check(s >= 0 && s < 3 && !seen[s], "invalid axis reorientation: source axes {}, {}, {} are not a permutation",
          r.source_axis[0], r.source_axis[1], r.source_axis[2]);
    seen[s] = true;
  }
  if (r.is_identity()) return;
  check(image.shape.size() == 3, "cannot reorient '{}': it has {} spatial dimensions, reorientation needs 3",
        image.path, image.shape.size());
  // Sizes and strides per voxel axis (i, j, k) = tensor axes (W, H, D).
  const std::array<int64_t, 3> in_size{image.shape[2], image.shape[1], image.shape[0]};
  const std::array<int64_t, 3> in_stride{1, in_size[0], in_size[0] * in_size[1]};
  const int64_t per_channel = image.voxels_per_channel();
  check(static_cast<int64_t>(image.data.size()) == per_channel * image.channels,
        "cannot reorient '{}': {} values do not match shape and {} channels", image.path, image.data.size(),
        image.channels);

  std::array<int64_t, 3> out_size{}, step{};
  int64_t start = 0;
  Mat44 t{};  // out voxel -> source voxel, so that new affine = affine * t
  t[3][3] = 1;
  for (int a = 0; a < 3; ++a) {
    const int s = r.source_axis[a];
    out_size[a] = in_size[s];
    step[a] = r.flipped[a] ? -in_stride[s] : in_stride[s];
    if (r.flipped[a]) start += (in_size[s] - 1) * in_stride[s];
    t[s][a] = r.flipped[a] ? -1.0 : 1.0;
    t[s][3] = r.flipped[a] ? static_cast<double>(in_size[s] - 1) : 0.0;
  }

  std::vector<float> out(image.data.size());
  for (int64_t c = 0; c < image.channels; ++c) {
    const float* src = image.data.data() + c * per_channel;
    float* dst = out.data() + c * per_channel;
    for (int64_t k = 0; k < out_size[2]; ++k)
      for (int64_t j = 0; j < out_size[1]; ++j) {
        int64_t offset = start + k * step[2] + j * step[1];
        for (int64_t i = 0; i < out_size[0]; ++i, offset += step[0]) *dst++ = src[offset];
      }
  }
  image.data = std::move(out);
  image.shape = {out_size[2], out_size[1], out_size[0]};
  image.affine = matmul(image.affine, t);
  image.spacing = detail::spacing_from_affine(image.affine);

  // Compose with what was applied before, so image.reorientation always maps the original file's voxel order to now.
  AxisReorientation total;
  for (int a = 0; a < 3; ++a) {
    const int s = r.source_axis[a];
    total.source_axis[a] = image.reorientation.source_axis[s];
    total.flipped[a] = r.flipped[a] != image.reorientation.flipped[s];
  }
  image.reorientation = total;
}

}  // namespace medssl::io
