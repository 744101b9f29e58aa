#include "medssl/core/geometry.h"

#include <algorithm>
#include <cmath>

#include "medssl/core/error.h"

namespace medssl {
namespace {

using Mat33 = std::array<std::array<double, 3>, 3>;

double det33(const Mat33& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

/// Inverse of a 3x3 matrix via cofactors; the caller checks the determinant.
Mat33 inverse33(const Mat33& m, double det) {
  Mat33 r{};
  r[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
  r[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
  r[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
  r[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
  r[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
  r[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
  r[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
  r[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
  r[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
  return r;
}

/// The orthogonal factor of the polar decomposition (= U V^T of the SVD, which nibabel uses), by Newton iteration
/// X <- (X + X^-T) / 2. Rank-deficient input is returned unchanged: the greedy assignment below copes with it.
Mat33 nearest_orthogonal(const Mat33& m) {
  Mat33 x = m;
  for (int iter = 0; iter < 100; ++iter) {
    double det = det33(x);
    if (!(std::fabs(det) > 1e-12)) return m;
    Mat33 inv = inverse33(x, det);
    double change = 0;
    Mat33 next{};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) {
        next[r][c] = 0.5 * (x[r][c] + inv[c][r]);
        change = std::max(change, std::fabs(next[r][c] - x[r][c]));
      }
    x = next;
    if (change < 1e-14) break;
  }
  return x;
}

}  // namespace

Mat44 matmul(const Mat44& a, const Mat44& b) {
  Mat44 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[i][k] * b[k][j];
      r[i][j] = s;
    }
  return r;
}

Mat44 inverse_affine(const Mat44& m) {
  check(all_finite(m), "cannot invert an affine with NaN or infinite entries");
  Mat33 rzs{};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) rzs[r][c] = m[r][c];
  double det = det33(rzs);
  double scale = 0;
  for (const auto& row : rzs)
    for (double v : row) scale = std::max(scale, std::fabs(v));
  // Relative test: a voxel-size-independent notion of "singular".
  check(scale > 0 && std::fabs(det) > 1e-12 * scale * scale * scale,
        "cannot invert a singular affine (determinant {} of its 3x3 part)", det);
  Mat33 inv = inverse33(rzs, det);
  Mat44 r = identity44();
  for (int i = 0; i < 3; ++i) {
    double t = 0;
    for (int j = 0; j < 3; ++j) {
      r[i][j] = inv[i][j];
      t += inv[i][j] * m[j][3];
    }
    r[i][3] = -t;
  }
  return r;
}

bool all_finite(const Mat44& m) {
  for (const auto& row : m)
    for (double v : row)
      if (!std::isfinite(v)) return false;
  return true;
}

std::array<AxisDirection, 3> voxel_axis_directions(const Mat44& affine) {
  Mat33 rs{};
  for (int c = 0; c < 3; ++c) {
    double norm = 0;
    for (int r = 0; r < 3; ++r) norm += affine[r][c] * affine[r][c];
    norm = std::sqrt(norm);
    if (!(norm > 0) || !std::isfinite(norm)) norm = 1;
    for (int r = 0; r < 3; ++r) rs[r][c] = std::isfinite(affine[r][c]) ? affine[r][c] / norm : 0.0;
  }
  Mat33 rot = nearest_orthogonal(rs);
  std::array<AxisDirection, 3> out{};
  std::array<bool, 3> voxel_done{false, false, false};
  std::array<bool, 3> world_used{false, false, false};
  // Greedy in voxel-axis order, each chosen world axis then removed (nibabel zeroes that row).
  for (int c = 0; c < 3; ++c) {
    int best = -1;
    double best_abs = 1e-8;  // np.allclose(col, 0)
    for (int r = 0; r < 3; ++r) {
      if (world_used[r]) continue;
      if (std::fabs(rot[r][c]) > best_abs) {
        best_abs = std::fabs(rot[r][c]);
        best = r;
      }
    }
    if (best < 0) continue;
    out[c] = AxisDirection{best, rot[best][c] < 0 ? -1 : 1};
    voxel_done[c] = true;
    world_used[best] = true;
  }
  for (int c = 0; c < 3; ++c) {
    if (voxel_done[c]) continue;
    for (int r = 0; r < 3; ++r)
      if (!world_used[r]) {
        out[c] = AxisDirection{r, 1};
        world_used[r] = true;
        break;
      }
  }
  return out;
}

std::string orientation_code(const Mat44& affine) {
  static const char negative[3] = {'L', 'P', 'I'};
  static const char positive[3] = {'R', 'A', 'S'};
  std::string code;
  for (const auto& d : voxel_axis_directions(affine))
    code += d.sign > 0 ? positive[d.world_axis] : negative[d.world_axis];
  return code;
}

}  // namespace medssl
