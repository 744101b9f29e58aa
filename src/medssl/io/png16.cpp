#include "medssl/io/png16.h"

#include <zlib.h>

#include "medssl/core/error.h"

namespace medssl::io::detail {
namespace {

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void append_chunk(std::string& out, const char type[4], const std::string& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put_be32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string encode_png16(const std::vector<uint16_t>& interleaved, int width, int height, int channels) {
  check(channels == 1 || channels == 3, "16-bit PNG needs 1 or 3 channels, not {}", channels);
  // Scanlines: filter byte 0 ("none") then big-endian samples, as PNG stores them.
  const size_t row_bytes = 1 + static_cast<size_t>(width) * channels * 2;
  std::string raw(row_bytes * static_cast<size_t>(height), '\0');
  size_t sample = 0;
  for (int y = 0; y < height; ++y) {
    char* row = raw.data() + y * row_bytes + 1;
    for (int x = 0; x < width * channels; ++x, ++sample) {
      row[2 * x] = static_cast<char>(interleaved[sample] >> 8);
      row[2 * x + 1] = static_cast<char>(interleaved[sample] & 0xff);
    }
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  check(compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
                  static_cast<uLong>(raw.size()), 6) == Z_OK,
        "zlib failed to compress a {}x{} 16-bit PNG", width, height);
  packed.resize(packed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_be32(ihdr, static_cast<uint32_t>(width));
  put_be32(ihdr, static_cast<uint32_t>(height));
  ihdr.push_back(16);                                  // bit depth
  ihdr.push_back(static_cast<char>(channels == 3 ? 2 : 0));  // colour type: truecolour or greyscale
  ihdr.append(3, '\0');                                // deflate, adaptive filtering, no interlace
  append_chunk(png, "IHDR", ihdr);
  append_chunk(png, "IDAT", packed);
  append_chunk(png, "IEND", "");
  return png;
}

}  // namespace medssl::io::detail
