// JPEG decoding through libjpeg(-turbo). libjpeg reports errors by calling error_exit, which must not return: it
// longjmps back here, and every C++ object used after the setjmp is created before it.
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <jpeglib.h>

#include <csetjmp>
#include <cstring>
#include <memory>

#include "medssl/core/error.h"
#include "medssl/io/picture_decode.h"

namespace medssl::io::detail {
namespace {

// A progressive JPEG may hold any number of scans, and each one makes the decoder pass over the whole picture:
// a few kilobytes can cost minutes. Real encoders write about 10 scans.
constexpr int kMaxScans = 256;

struct ErrorHandler {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
};

[[noreturn]] void jump_back(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<ErrorHandler*>(cinfo->err)->jump, 1);
}

[[noreturn]] void on_error(j_common_ptr cinfo) {
  (*cinfo->err->format_message)(cinfo, reinterpret_cast<ErrorHandler*>(cinfo->err)->message);
  jump_back(cinfo);
}

void on_message(j_common_ptr cinfo, int level) {
  // Level -1 is a warning about corrupt data (libjpeg then fills the damaged part with grey): an error for medssl.
  if (level < 0) on_error(cinfo);
}

void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    std::snprintf(reinterpret_cast<ErrorHandler*>(cinfo->err)->message, JMSG_LENGTH_MAX,
                  "more than %d progressive scans", kMaxScans);
    jump_back(cinfo);
  }
}

/// Owns libjpeg's decompressor whatever way decode_jpeg is left.
struct JpegReader {
  jpeg_decompress_struct cinfo{};
  bool created = false;
  ~JpegReader() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

}  // namespace

DecodedPicture decode_jpeg(std::string_view bytes, const std::string& path) {
  auto reader = std::make_unique<JpegReader>();
  auto errors = std::make_unique<ErrorHandler>();
  auto progress = std::make_unique<jpeg_progress_mgr>();
  auto out = std::make_unique<DecodedPicture>();
  auto scanline = std::make_unique<std::vector<unsigned char>>();
  jpeg_decompress_struct& cinfo = reader->cinfo;
  cinfo.err = jpeg_std_error(&errors->mgr);
  errors->mgr.error_exit = on_error;
  errors->mgr.emit_message = on_message;
  if (setjmp(errors->jump)) fail("cannot decode picture '{}': {} (truncated or corrupt JPEG)", path, errors->message);

  jpeg_create_decompress(&cinfo);
  reader->created = true;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  progress->progress_monitor = on_progress;
  cinfo.progress = progress.get();
  jpeg_calc_output_dimensions(&cinfo);
  const int components = cinfo.out_color_components;
  check_picture_size(cinfo.output_width, cinfo.output_height, components, 1, path);

  out->width = cinfo.output_width;
  out->height = cinfo.output_height;
  out->channels = cmyk ? 3 : components;
  out->samples.resize(static_cast<size_t>(out->width) * out->height * out->channels);
  scanline->resize(static_cast<size_t>(out->width) * components);
  jpeg_start_decompress(&cinfo);
  while (cinfo.output_scanline < cinfo.output_height) {
    unsigned char* row = scanline->data();
    const size_t y = cinfo.output_scanline;
    check(jpeg_read_scanlines(&cinfo, &row, 1) == 1, "cannot decode picture '{}': JPEG row {} missing", path, y);
    uint16_t* dst = out->samples.data() + y * static_cast<size_t>(out->width) * out->channels;
    if (!cmyk) {
      for (size_t i = 0; i < scanline->size(); ++i) dst[i] = row[i];
      continue;
    }
    // Adobe writes CMYK inverted (255 = no ink), so R = C * K / 255, as stb_image and browsers decode it.
    for (int64_t x = 0; x < out->width; ++x)
      for (int c = 0; c < 3; ++c) dst[x * 3 + c] = static_cast<uint16_t>((row[x * 4 + c] * row[x * 4 + 3] + 127) / 255);
  }
  jpeg_finish_decompress(&cinfo);
  return std::move(*out);
}

}  // namespace medssl::io::detail
