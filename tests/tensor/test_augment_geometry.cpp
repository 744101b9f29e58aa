// Geometric augmentations: flips, 90-degree and free rotations in a plane, zoom that keeps the shape.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "medssl/core/error.h"
#include "medssl/data/transforms/random_flip.h"
#include "medssl/data/transforms/random_zoom.h"
#include "medssl/data/transforms/rotate90.h"
#include "medssl/data/transforms/rotate_free.h"
#include "tensor_expect.h"
#include "testkit/testkit.h"

namespace medssl {
namespace {

torch::Tensor ramp(std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return torch::arange(n, torch::kFloat32).reshape(shape);
}

bool same_multiset(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::equal(std::get<0>(a.flatten().sort()), std::get<0>(b.flatten().sort()));
}

TEST(AugmentFlip, ReversesExactlyTheNamedAxes) {
  const torch::Tensor x = ramp({2, 3, 4, 5});
  const torch::Tensor f = flip_spatial(x, {1});
  for (int64_t h = 0; h < 4; ++h) EXPECT_TRUE(torch::equal(f.select(2, h), x.select(2, 3 - h)));
  EXPECT_TRUE(same_multiset(f, x));
  EXPECT_TRUE(torch::equal(flip_spatial(flip_spatial(x, {0, 2}), {2, 0}), x));
  EXPECT_TRUE(torch::equal(flip_spatial(x, {}), x));
  EXPECT_NE(testkit::error_of([&] { flip_spatial(x, {3}); }).find("out of range"), std::string::npos);
}

TEST(AugmentFlip, RandomFlipUsesOneDrawAndItsProbability) {
  const torch::Tensor x = ramp({1, 4, 6});
  Rng never(1), always(1);
  EXPECT_TRUE(torch::equal(random_flip(x, 1, 0.0, never), x));
  EXPECT_TRUE(torch::equal(random_flip(x, 1, 1.0, always), flip_spatial(x, {1})));
  EXPECT_EQ(never.next_u64(), always.next_u64());  // both consumed exactly one draw
  Rng rng(7);
  int flipped = 0;
  for (int i = 0; i < 400; ++i) flipped += torch::equal(random_flip(x, 0, 0.5, rng), x) ? 0 : 1;
  EXPECT_GT(flipped, 160);
  EXPECT_LT(flipped, 240);
}

TEST(AugmentRotate90, MatchesNumpyRot90Convention) {
  // np.rot90(m, 1, axes=(0, 1)): out[i, j] = m[j, n - 1 - i].
  const torch::Tensor x = ramp({1, 4, 4});
  const torch::Tensor r = rotate90(x, 1, {0, 1});
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(r[0][i][j].item<float>(), x[0][j][3 - i].item<float>());
  EXPECT_TRUE(same_multiset(r, x));
  EXPECT_TRUE(torch::equal(rotate90(x, 4, {0, 1}), x));
  EXPECT_TRUE(torch::equal(rotate90(x, -1, {0, 1}), rotate90(x, 3, {0, 1})));
  EXPECT_TRUE(torch::equal(rotate90(x, 1, {1, 0}), rotate90(x, 3, {0, 1})));
}

TEST(AugmentRotate90, EveryPlaneOfAVolumeIsAPermutation) {
  const torch::Tensor x = ramp({2, 5, 5, 5});
  for (const std::array<int64_t, 2> plane : {std::array<int64_t, 2>{0, 1}, {1, 2}, {0, 2}}) {
    for (int64_t k = 0; k < 4; ++k) {
      const torch::Tensor r = rotate90(x, k, plane);
      ASSERT_EQ(r.sizes(), x.sizes());
      EXPECT_TRUE(same_multiset(r, x));
      EXPECT_EQ(torch::equal(r, x), k == 0) << "k " << k;
    }
    // The axis outside the plane is untouched: slices along it rotate on their own.
    const int64_t other = 3 - plane[0] - plane[1];
    const torch::Tensor r = rotate90(x, 1, plane);
    const torch::Tensor slice_rotated =
        torch::rot90(x.select(other + 1, 2), 1,
                     {plane[0] < other ? plane[0] + 1 : plane[0], plane[1] < other ? plane[1] + 1 : plane[1]});
    EXPECT_TRUE(torch::equal(r.select(other + 1, 2), slice_rotated));
  }
  Rng rng(3);
  std::set<int64_t> seen;
  for (int i = 0; i < 64; ++i) {
    const torch::Tensor r = random_rotate90(x, {1, 2}, rng);
    for (int64_t k = 0; k < 4; ++k)
      if (torch::equal(r, rotate90(x, k, {1, 2}))) seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(AugmentRotateFree, ZeroDegreesIsIdentityAndNinetyMatchesRot90) {
  const torch::Tensor x = torch::rand({2, 7, 7});
  EXPECT_TRUE(test::tensors_close(rotate_in_plane(x, 0.0, {0, 1}), x, 0, 1e-6));
  EXPECT_TRUE(test::tensors_close(rotate_in_plane(x, 360.0, {0, 1}), x, 0, 1e-5));
  EXPECT_TRUE(test::tensors_close(rotate_in_plane(x, 90.0, {0, 1}), rotate90(x, 1, {0, 1}), 0, 1e-5));
  EXPECT_TRUE(test::tensors_close(rotate_in_plane(x, 180.0, {0, 1}), rotate90(x, 2, {0, 1}), 0, 1e-5));
  EXPECT_TRUE(test::tensors_close(rotate_in_plane(x, -90.0, {0, 1}), rotate90(x, 3, {0, 1}), 0, 1e-5));
  // 3D, every plane; even sides put the centre between voxels, still an exact quarter turn.
  const torch::Tensor v = torch::rand({1, 6, 6, 6});
  for (const std::array<int64_t, 2> plane : {std::array<int64_t, 2>{0, 1}, {1, 2}, {0, 2}})
    EXPECT_TRUE(test::tensors_close(rotate_in_plane(v, 90.0, plane), rotate90(v, 1, plane), 0, 1e-5));
}

TEST(AugmentRotateFree, ObliqueAngleKeepsCentreAndFillsCorners) {
  const torch::Tensor x = torch::ones({1, 9, 9});
  const torch::Tensor r = rotate_in_plane(x, 45.0, {0, 1});
  ASSERT_EQ(r.sizes(), x.sizes());
  EXPECT_NEAR(r[0][4][4].item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(r[0][0][0].item<float>(), 0.0f, 1e-6);  // corners come from outside the image: constant 0
  const torch::Tensor filled = rotate_in_plane(x, 45.0, {0, 1}, /*fill=*/-2.0);
  EXPECT_NEAR(filled[0][0][0].item<float>(), -2.0f, 1e-6);
  EXPECT_NEAR(filled[0][4][4].item<float>(), 1.0f, 1e-6);
  EXPECT_NE(testkit::error_of([&] { rotate_in_plane(x, 10.0, {0, 0}); }).find("plane"), std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              rotate_in_plane(torch::ones({1, 1, 5}), 10.0, {0, 1});
            }).find(">= 2"),
            std::string::npos);
}

TEST(AugmentRotateFree, MatchesScipyRotateOrderOne) {
  if (!testkit::python_has("numpy scipy")) GTEST_SKIP() << "python3 scipy not available";
  // The same non-linear volume on both sides. scipy's mode="grid-constant" blends towards cval within one voxel
  // outside the image, exactly as grid_sample's zero padding; its default "constant" (the reference's) instead
  // returns cval for every sample point outside [0, n-1], which differs only in that one-voxel border band.
  const torch::Tensor v = torch::sin(torch::arange(5 * 8 * 7, torch::kFloat64) * 0.37).reshape({1, 5, 8, 7});
  const auto r = testkit::run_python(
      "import numpy as np, scipy.ndimage as nd\n"
      "v = np.sin(np.arange(5*8*7) * 0.37).reshape(5, 8, 7)\n"
      "for angle, axes in ((37.0, (0, 1)), (123.0, (1, 2)), (290.0, (0, 2))):\n"
      "  y = nd.rotate(v, angle, axes=axes, reshape=False, order=1, mode='grid-constant', cval=0.0)\n"
      "  print(' '.join(repr(float(t)) for t in y.flatten()))\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  const std::vector<std::pair<double, std::array<int64_t, 2>>> cases = {
      {37.0, {0, 1}}, {123.0, {1, 2}}, {290.0, {0, 2}}};
  for (const auto& [angle, plane] : cases) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    std::istringstream values(line);
    std::vector<double> expected;
    double value;
    while (values >> value) expected.push_back(value);
    const torch::Tensor mine = rotate_in_plane(v, angle, plane).flatten();
    EXPECT_TRUE(test::tensors_close(mine, torch::tensor(expected, torch::kFloat64), 0, 1e-7)) << "angle " << angle;
  }
}

TEST(AugmentZoom, KeepsShapeAndZoomsAboutTheContent) {
  Rng rng(11);
  const torch::Tensor x = torch::rand({2, 10, 12, 9});
  for (double f : {0.8, 1.2, 0.5, 1.9}) {
    const torch::Tensor z = zoom_keep_shape(x, {f, f, f}, rng);
    EXPECT_EQ(z.sizes(), x.sizes()) << f;
  }
  EXPECT_TRUE(torch::equal(zoom_keep_shape(x, {1.0, 1.0, 1.0}, rng), x));
  // Zooming out by 0.5: 10 -> 5 voxels, padded 2 before / 3 after; the crop back is then the whole padded axis.
  const torch::Tensor ones = torch::ones({1, 10, 10});
  const torch::Tensor out = zoom_keep_shape(ones, {0.5, 0.5}, rng);
  EXPECT_EQ(out.sum().item<float>(), 25.0f);
  EXPECT_TRUE(torch::equal(out.narrow(1, 2, 5).narrow(2, 2, 5), torch::ones({1, 5, 5})));
  // Zooming in by 2 on one axis: 10 -> 20 voxels, then a random 10-voxel window; a constant stays constant.
  const torch::Tensor in = zoom_keep_shape(torch::full({1, 10, 6}, 3.0), {2.0, 1.0}, rng);
  EXPECT_TRUE(test::tensors_close(in, torch::full({1, 10, 6}, 3.0), 0, 1e-6));
  // Random zoom: factors within the range, shape kept, and draws from the Rng only.
  Rng a(5), b(5);
  EXPECT_TRUE(torch::equal(random_zoom(x, 0.2, a), random_zoom(x, 0.2, b)));
  EXPECT_NE(testkit::error_of([&] { zoom_keep_shape(x, {1.0, 0.0, 1.0}, rng); }).find("positive"), std::string::npos);
}

}  // namespace
}  // namespace medssl
