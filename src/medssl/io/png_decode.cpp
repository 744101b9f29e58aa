// PNG decoding through libpng's classic API (its "simplified" API converts gamma and premultiplies alpha, which
// would change the stored values). libpng reports errors by longjmp: every C++ object used after the setjmp is
// created before it, so nothing is skipped when libpng jumps back.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <memory>

#include "medssl/core/error.h"
#include "medssl/io/picture_decode.h"

namespace medssl::io::detail {
namespace {

struct Source {
  std::string_view bytes;
  size_t pos = 0;
  std::string error;  ///< libpng's message for the error that made it jump back
};

void read_bytes(png_structp png, png_bytep out, png_size_t n) {
  auto* source = static_cast<Source*>(png_get_io_ptr(png));
  if (n > source->bytes.size() - source->pos) png_error(png, "the file ends early (truncated)");
  std::memcpy(out, source->bytes.data() + source->pos, n);
  source->pos += n;
}

void on_error(png_structp png, png_const_charp message) {
  static_cast<Source*>(png_get_error_ptr(png))->error = message ? message : "unknown libpng error";
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // e.g. a damaged ancillary chunk, which libpng skips

/// Owns libpng's structures whatever way decode_png is left (return, exception, longjmp then exception).
struct PngReader {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReader() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

struct Buffers {
  std::vector<unsigned char> pixels;
  std::vector<png_bytep> rows;
};

}  // namespace

DecodedPicture decode_png(std::string_view bytes, const std::string& path) {
  // The size from IHDR (always the first chunk) is checked before libpng reads further: a file that claims an
  // absurd size is refused whatever follows.
  if (bytes.size() >= 24 && bytes.substr(12, 4) == "IHDR") {
    auto be32 = [&](size_t at) {
      uint32_t v = 0;
      for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
      return v;
    };
    check_picture_size(be32(16), be32(20), 1, 1, path);
  }
  Source source{bytes, 0, {}};
  PngReader reader;
  auto out = std::make_unique<DecodedPicture>();
  auto buffers = std::make_unique<Buffers>();
  reader.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_error, on_warning);
  check(reader.png != nullptr, "cannot decode picture '{}': libpng is out of memory", path);
  reader.info = png_create_info_struct(reader.png);
  check(reader.info != nullptr, "cannot decode picture '{}': libpng is out of memory", path);
  if (setjmp(png_jmpbuf(reader.png)))
    fail("cannot decode picture '{}': {} (truncated or corrupt PNG)", path, source.error);

  png_set_read_fn(reader.png, &source, read_bytes);
  png_read_info(reader.png, reader.info);
  const png_uint_32 width = png_get_image_width(reader.png, reader.info);
  const png_uint_32 height = png_get_image_height(reader.png, reader.info);
  const int color_type = png_get_color_type(reader.png, reader.info);
  const int bit_depth = png_get_bit_depth(reader.png, reader.info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(reader.png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(reader.png);
  if (bit_depth == 16) png_set_swap(reader.png);  // PNG stores big-endian; every supported host is little-endian
  png_set_interlace_handling(reader.png);
  png_read_update_info(reader.png, reader.info);
  out->width = width;
  out->height = height;
  out->channels = png_get_channels(reader.png, reader.info);
  out->sixteen_bit = png_get_bit_depth(reader.png, reader.info) == 16;
  const int sample_bytes = out->sixteen_bit ? 2 : 1;
  check_picture_size(out->width, out->height, out->channels, sample_bytes, path);

  const size_t row_bytes = png_get_rowbytes(reader.png, reader.info);
  check(row_bytes == static_cast<size_t>(out->width) * out->channels * sample_bytes,
        "cannot decode picture '{}': unexpected PNG row size {}", path, row_bytes);
  buffers->pixels.resize(row_bytes * height);
  buffers->rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) buffers->rows[y] = buffers->pixels.data() + y * row_bytes;
  png_read_image(reader.png, buffers->rows.data());
  png_read_end(reader.png, nullptr);  // the chunks after the image data: a cut or damaged file is reported

  const size_t count = static_cast<size_t>(out->width) * out->height * out->channels;
  out->samples.resize(count);
  if (out->sixteen_bit) std::memcpy(out->samples.data(), buffers->pixels.data(), count * 2);
  else
    for (size_t i = 0; i < count; ++i) out->samples[i] = buffers->pixels[i];
  return std::move(*out);
}

}  // namespace medssl::io::detail
