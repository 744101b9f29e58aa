#pragma once
// 2D pictures (PNG, JPEG, BMP) through stb_image / stb_image_write.
#include <string>

#include "medssl/io/image_data.h"

namespace medssl::io {

/// Reads a picture as shape (H, W) with 1 channel (grey, grey+alpha) or 3 channels (RGB, RGBA: alpha dropped).
/// Values are the stored integers as float (0..255, or 0..65535 for 16-bit PNG; disk_dtype says which).
/// Throws medssl::Error naming the file if it is missing or cannot be decoded.
ImageData read_image2d(const std::string& path);

/// Writes a (H, W) image with 1 or 3 channels; format from the extension (.png, .jpg/.jpeg). Values are rounded and
/// clamped to 0..255 (PNG with disk_dtype uint16: 0..65535); NaN is refused. Atomic (temporary file, then rename).
/// JPEG files are always stored as YCbCr (stb_image_write), so a 1-channel JPEG reads back with 3 equal channels.
void write_image2d(const std::string& path, const ImageData& image, int jpeg_quality = 95);

/// True if the path names a picture by extension (.png, .jpg, .jpeg, .bmp).
bool is_image2d_path(const std::string& path);

/// Reads NIfTI or picture by extension.
ImageData read_any_image(const std::string& path);

}  // namespace medssl::io
