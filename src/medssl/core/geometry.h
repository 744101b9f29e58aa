#pragma once
// Spatial metadata shared by the NIfTI reader, Volume and the preprocessing functions. Kept free of LibTorch.
//
// Axis convention (recorded in every manifest as "RAS+, C-D-H-W"):
//   * A NIfTI voxel index is (i, j, k); the affine maps (i, j, k, 1) to world millimetres.
//   * In memory and in tensors a 3D image is (C, D, H, W) with D = k, H = j, W = i, so the on-disk order (i fastest)
//     is the tensor's row-major order and no transpose is ever needed.
//   * After `reorient_to_ras` the voxel axes i, j, k point (as closely as the affine allows) to +R, +A, +S.
//   * `spacing` is always given in tensor order (D, H, W) = (pixdim k, pixdim j, pixdim i).
#include <array>
#include <string>

namespace medssl {

using Mat44 = std::array<std::array<double, 4>, 4>;

inline Mat44 identity44() {
  Mat44 m{};
  for (int i = 0; i < 4; ++i) m[i][i] = 1.0;
  return m;
}

Mat44 matmul(const Mat44& a, const Mat44& b);
/// Inverse of an affine matrix (last row 0 0 0 1); throws medssl::Error if singular.
Mat44 inverse_affine(const Mat44& m);
bool all_finite(const Mat44& m);

/// How voxel axes were permuted and flipped to reach RAS+; lets a writer restore the source orientation.
/// Output voxel axis `a` (0 = i, 1 = j, 2 = k) comes from source axis `source_axis[a]`, reversed if `flipped[a]`.
struct AxisReorientation {
  std::array<int, 3> source_axis{0, 1, 2};
  std::array<bool, 3> flipped{false, false, false};
  bool is_identity() const {
    return source_axis == std::array<int, 3>{0, 1, 2} && !flipped[0] && !flipped[1] && !flipped[2];
  }
};

/// The world axis a voxel axis points along most closely, like one row of nibabel's io_orientation.
struct AxisDirection {
  int world_axis = 0;  ///< 0 = L-R, 1 = P-A, 2 = I-S
  int sign = 1;        ///< +1 if increasing the voxel index moves towards R, A or S; -1 towards L, P or I
};
/// For each voxel axis (i, j, k) its closest world axis (nibabel's io_orientation: columns normalised, the nearest
/// orthogonal matrix taken, then world axes assigned greedily in voxel-axis order). Every world axis is used exactly
/// once; voxel axes with a zero column get the world axes left over, with sign +1.
std::array<AxisDirection, 3> voxel_axis_directions(const Mat44& affine);

/// Orientation code of an affine like nibabel's aff2axcodes, e.g. "RAS" or "LPS".
std::string orientation_code(const Mat44& affine);

}  // namespace medssl
