#pragma once
// Internal to medssl_io: decoding pictures from bytes. PNG and JPEG go through libpng and libjpeg(-turbo), which are
// hardened against hostile files (both are fuzzed continuously upstream); stb_image, which medssl used before and
// still uses for BMP, wrote past a Huffman table on a crafted JPEG that fuzz_image2d found (docs/reliability.md).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace medssl::io::detail {

/// Interleaved samples as stored: channels 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA); 8- or 16-bit values.
struct DecodedPicture {
  int64_t width = 0, height = 0;
  int channels = 0;
  bool sixteen_bit = false;
  std::vector<uint16_t> samples;  ///< height * width * channels, row-major, interleaved
};

/// Throws medssl::Error naming `path` unless a width x height picture of `channels` samples of `sample_bytes` each
/// is within medssl's limits (2^28 pixels, and MEDSSL_MAX_ALLOC for what decoding allocates). Called by every decoder
/// after reading the header, before allocating the pixels.
void check_picture_size(int64_t width, int64_t height, int channels, int sample_bytes, const std::string& path);

/// PNG: palettes expanded to RGB, grey of 1, 2 or 4 bits scaled to 8, 16 bits kept, no gamma or colour conversion
/// (the stored values, as nibabel / PIL give them); transparency (tRNS) is ignored, alpha channels are kept.
/// A truncated file, a damaged critical chunk or a bad checksum is an error naming `path`.
DecodedPicture decode_png(std::string_view bytes, const std::string& path);

/// JPEG: grey, RGB (YCbCr converted), and CMYK / YCCK converted to RGB. Corrupt data, which libjpeg would otherwise
/// fill in with grey and only warn about, is an error naming `path`, as is a progressive file with an absurd number
/// of scans (a known way to make decoding take minutes).
DecodedPicture decode_jpeg(std::string_view bytes, const std::string& path);

}  // namespace medssl::io::detail
