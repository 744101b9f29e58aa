#include "medssl/data/volume/affine_update.h"

namespace medssl {

Mat44 affine_shift_origin(const Mat44& affine, const std::array<double, 3>& offset_dhw) {
  Mat44 out = affine;
  for (int axis = 0; axis < 3; ++axis) {
    const int column = 2 - axis;  // D -> k, H -> j, W -> i
    for (int row = 0; row < 3; ++row) out[row][3] += affine[row][column] * offset_dhw[axis];
  }
  return out;
}

Mat44 affine_rescale(const Mat44& affine, const std::array<double, 3>& ratio_dhw) {
  std::array<double, 3> shift{};
  for (int axis = 0; axis < 3; ++axis) shift[axis] = (ratio_dhw[axis] - 1.0) / 2.0;
  Mat44 out = affine_shift_origin(affine, shift);
  for (int axis = 0; axis < 3; ++axis) {
    const int column = 2 - axis;
    for (int row = 0; row < 3; ++row) out[row][column] = affine[row][column] * ratio_dhw[axis];
  }
  return out;
}

}  // namespace medssl
