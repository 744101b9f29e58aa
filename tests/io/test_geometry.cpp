// core/geometry: matrix helpers and nibabel-style orientation codes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "io_test_util.h"
#include "medssl/core/geometry.h"

namespace medssl {
namespace {

TEST(Geometry, InverseAffineUndoesTheAffine) {
  const Mat44 a = io::test::oblique_affine();
  const Mat44 product = matmul(a, inverse_affine(a));
  io::test::expect_affine_near(product, identity44(), 1e-12);
  const Mat44 other = matmul(inverse_affine(a), a);
  io::test::expect_affine_near(other, identity44(), 1e-12);
}

TEST(Geometry, MatmulComposesTranslations) {
  Mat44 t1 = identity44(), t2 = identity44();
  t1[0][3] = 2;
  t2[0][0] = 3;
  t2[0][3] = 1;
  const Mat44 m = matmul(t1, t2);  // x -> 3x + 1 + 2
  EXPECT_DOUBLE_EQ(m[0][0], 3);
  EXPECT_DOUBLE_EQ(m[0][3], 3);
  EXPECT_DOUBLE_EQ(matmul(t2, t1)[0][3], 7);  // x -> 3(x + 2) + 1
}

TEST(Geometry, SingularAndNonFiniteAffinesAreRejected) {
  Mat44 flat = identity44();
  flat[2][2] = 0;
  EXPECT_THROW(inverse_affine(flat), Error);
  Mat44 nan = identity44();
  nan[1][3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(all_finite(nan));
  EXPECT_TRUE(all_finite(identity44()));
  EXPECT_THROW(inverse_affine(nan), Error);
  // Tiny but regular voxels are not "singular".
  EXPECT_NO_THROW(inverse_affine(io::test::scaled_affine(1e-3, 1e-3, 1e-3)));
}

TEST(Geometry, OrientationCodesMatchNibabelConventions) {
  EXPECT_EQ(orientation_code(identity44()), "RAS");
  EXPECT_EQ(orientation_code(io::test::scaled_affine(-1, -1, 1)), "LPS");
  EXPECT_EQ(orientation_code(io::test::scaled_affine(-2, 1, -3)), "LAI");
  Mat44 swapped{};
  swapped[0] = {0, 0, 1.5, 0};
  swapped[1] = {-1, 0, 0, 0};
  swapped[2] = {0, 2, 0, 0};
  swapped[3] = {0, 0, 0, 1};
  EXPECT_EQ(orientation_code(swapped), "PSR");
  // Near 45 degrees the nearest orthogonal matrix decides, each world axis used once.
  Mat44 diagonal = identity44();
  diagonal[0] = {1, 1, 0, 0};
  diagonal[1] = {-1, 1.01, 0, 0};
  const std::string code = orientation_code(diagonal);
  EXPECT_EQ(code.size(), 3u);
  EXPECT_EQ(code[2], 'S');
  EXPECT_NE(code[0], code[1]);
  const auto dirs = voxel_axis_directions(diagonal);
  EXPECT_NE(dirs[0].world_axis, dirs[1].world_axis);
}

}  // namespace
}  // namespace medssl
