#pragma once
// Tiny hand-made data sets for the layout reader tests: 4x5x6 NIfTI volumes, small PNGs and text files, written
// with medssl's own writers so that no other module's generators are needed.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <string>

#include "medssl/core/error.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace medssl::layout_test {

inline void make_dirs(const std::string& path) { std::filesystem::create_directories(path); }

/// Writes a text file, creating its folder.
inline void write_file(const std::string& path, const std::string& text) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  testkit::write_text(path, text);
}

/// A (D, H, W) = shape volume with `channels` channels; voxel values cycle through 0..modulo-1.
inline io::ImageData make_volume(std::array<int64_t, 3> shape = {6, 5, 4}, int64_t channels = 1, int modulo = 3) {
  io::ImageData image;
  image.shape = {shape[0], shape[1], shape[2]};
  image.channels = channels;
  image.data.resize(static_cast<size_t>(channels * shape[0] * shape[1] * shape[2]));
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<float>(i % static_cast<size_t>(modulo));
  image.spacing = {1.0, 1.0, 1.0};
  image.affine = identity44();
  return image;
}

/// Writes an image volume (float32) or, with `as_label`, a uint8 label map.
inline void write_volume(const std::string& path, const io::ImageData& image, bool as_label = false) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  io::NiftiWriteOptions options;
  options.dtype = as_label ? io::DType::uint8 : io::DType::float32;
  io::write_nifti(path, image, options);
}

/// A (H, W) picture with 1 or 3 channels, values cycling through 0..modulo-1.
inline void write_picture(const std::string& path, int64_t height = 8, int64_t width = 10, int64_t channels = 3,
                          int modulo = 256) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  io::ImageData image;
  image.shape = {height, width};
  image.channels = channels;
  image.data.resize(static_cast<size_t>(channels * height * width));
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = static_cast<float>(i % static_cast<size_t>(modulo));
  io::write_image2d(path, image);
}

/// Runs `f` and returns the message of the medssl::Error it throws (records a failure if it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const medssl::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a medssl::Error";
  return "";
}

}  // namespace medssl::layout_test
