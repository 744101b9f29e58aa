#pragma once
// Helpers shared by the io tests: small synthetic images and byte-level file surgery for hostile inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "medssl/core/error.h"
#include "medssl/io/image_data.h"

namespace medssl::io::test {

/// A (D, H, W) image with `channels` channels whose values follow `value(index)`.
inline ImageData make_image(int64_t d, int64_t h, int64_t w, int64_t channels,
                            const std::function<float(int64_t)>& value) {
  ImageData image;
  image.shape = {d, h, w};
  image.channels = channels;
  image.data.resize(static_cast<size_t>(d * h * w * channels));
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = value(static_cast<int64_t>(i));
  return image;
}

/// Affine with voxel sizes (sx, sy, sz) along i, j, k and an origin.
inline Mat44 scaled_affine(double sx, double sy, double sz, double ox = 0, double oy = 0, double oz = 0) {
  Mat44 a = identity44();
  a[0][0] = sx;
  a[1][1] = sy;
  a[2][2] = sz;
  a[0][3] = ox;
  a[1][3] = oy;
  a[2][3] = oz;
  return a;
}

/// A rotated, anisotropic affine (rotation about an arbitrary axis), i.e. an oblique acquisition.
inline Mat44 oblique_affine() {
  const double ax = 0.3, ay = -0.2, az = 0.45;  // Euler angles in radians
  const double cx = std::cos(ax), sx = std::sin(ax), cy = std::cos(ay), sy = std::sin(ay), cz = std::cos(az),
               sz = std::sin(az);
  const double r[3][3] = {{cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx},
                          {sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx},
                          {-sy, cy * sx, cy * cx}};
  const double zoom[3] = {0.8, 1.25, 2.5};
  Mat44 a = identity44();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) a[i][j] = r[i][j] * zoom[j];
  a[0][3] = -12.5;
  a[1][3] = 30.25;
  a[2][3] = 7.0;
  return a;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
void poke(std::string& bytes, size_t offset, T value) {
  ASSERT_LE(offset + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

inline void expect_affine_near(const Mat44& a, const Mat44& b, double tol) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(a[r][c], b[r][c], tol) << "affine entry (" << r << ", " << c << ")";
}

/// Runs `fn`, expects medssl::Error, and checks that its message names `path` and contains `fragment`.
inline void expect_error_naming(const std::function<void()>& fn, const std::string& path,
                                const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected medssl::Error mentioning '" << fragment << "' for " << path;
  } catch (const medssl::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << "message does not name the file: " << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "message lacks '" << fragment << "': " << message;
  }
}

}  // namespace medssl::io::test
