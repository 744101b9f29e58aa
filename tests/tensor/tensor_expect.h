#pragma once
// Tensor comparison helpers for the tensor tests: gtest assertions that print both tensors on failure.
#include <gtest/gtest.h>

#include <sstream>

#include "medssl/core/geometry.h"
#include "medssl/core/torch_pch.h"

namespace medssl::test {

inline ::testing::AssertionResult tensors_close(const torch::Tensor& actual, const torch::Tensor& expected,
                                                double rtol = 1e-5, double atol = 1e-6) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream s;
    s << "shape " << actual.sizes() << " != expected " << expected.sizes();
    return ::testing::AssertionFailure() << s.str();
  }
  const torch::Tensor a = actual.to(torch::kFloat64), e = expected.to(torch::kFloat64);
  if (torch::allclose(a, e, rtol, atol)) return ::testing::AssertionSuccess();
  std::ostringstream s;
  s << "actual:\n" << a << "\nexpected:\n" << e;
  return ::testing::AssertionFailure() << s.str();
}

inline ::testing::AssertionResult affines_close(const Mat44& actual, const Mat44& expected, double tol = 1e-9) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      if (std::abs(actual[r][c] - expected[r][c]) > tol)
        return ::testing::AssertionFailure() << "affine[" << r << "][" << c << "] = " << actual[r][c] << ", expected "
                                             << expected[r][c];
  return ::testing::AssertionSuccess();
}

/// World position of tensor-order voxel coordinate (d, h, w) = NIfTI (k, j, i).
inline std::array<double, 3> world_of(const Mat44& a, double d, double h, double w) {
  std::array<double, 3> p{};
  for (int r = 0; r < 3; ++r) p[r] = a[r][0] * w + a[r][1] * h + a[r][2] * d + a[r][3];
  return p;
}

/// An oblique, permuted affine so that axis-order mistakes show up in tests.
inline Mat44 oblique_affine() {
  Mat44 a = identity44();
  a[0] = {0.0, 0.0, 2.5, -30.0};  // x from k
  a[1] = {-0.8, 0.1, 0.0, 12.0};  // y mostly from -i
  a[2] = {0.05, 1.2, 0.0, 7.5};   // z mostly from j
  return a;
}

}  // namespace medssl::test
