#pragma once
// Internal to medssl_io: a minimal 16-bit PNG encoder (stb_image_write writes only 8-bit PNG).
#include <cstdint>
#include <string>
#include <vector>

namespace medssl::io::detail {

/// Encodes interleaved 16-bit samples (grey: channels 1, RGB: channels 3) as a complete PNG file.
std::string encode_png16(const std::vector<uint16_t>& interleaved, int width, int height, int channels);

}  // namespace medssl::io::detail
