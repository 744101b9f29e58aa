// libFuzzer target: the NIfTI-1/-2 reader on .nii and .nii.gz files.
//
// Input: one mode byte, then the file. Mode bit 0 set: the rest is gzip-compressed before it is written, so that the
// mutations reach the header and data behind the gzip layer (the bytes alone, when they start with 1f 8b, fuzz the
// gzip stream itself). Bit 1 (with bit 0): the compressed stream is cut short at a position taken from bytes 1-2.
// Bit 2: read without reorientation. An accepted file must be self-consistent and survive a write/read round trip.
#include <zlib.h>

#include <cmath>
#include <cstring>

#include "fuzz_support.h"
#include "medssl/io/nifti.h"

namespace {

std::string gzip(std::string_view raw) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // 15 + 16: gzip wrapper
  std::string out(deflateBound(&z, static_cast<uLong>(raw.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void check_accepted(const medssl::io::ImageData& image) {
  using medssl::fuzz::require;
  int64_t voxels = 1;
  for (int64_t s : image.shape) {
    require(s > 0, "positive shape");
    voxels *= s;
  }
  require(image.channels > 0 && image.data.size() == static_cast<size_t>(voxels * image.channels),
          "data size = voxels * channels");
  for (double s : image.spacing) require(std::isfinite(s) && s > 0, "finite positive spacing");
  for (const auto& row : image.affine)
    for (double v : row) require(std::isfinite(v), "finite affine");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl;
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string bytes(rest);
  if (mode & 1) {
    bytes = gzip(rest);
    if ((mode & 2) && size >= 3) bytes.resize(((size_t{data[1]} << 8) | data[2]) % (bytes.size() + 1));
  }
  const std::string path = fuzz::scratch_file((mode & 1) ? "input.nii.gz" : "input.nii");
  fuzz::write_bytes(path, bytes);

  fuzz::run_one([&] { io::read_nifti_header(path); });
  fuzz::run_one([&] {
    io::NiftiReadOptions options;
    options.to_ras = !(mode & 4);
    const io::ImageData image = io::read_nifti(path, options);
    check_accepted(image);
    if (image.data.size() > 4096) return;
    // Round trip: what medssl accepts it can write, and reading that back gives the same voxels (the writer stores
    // float32) and the same shape.
    const std::string copy = fuzz::scratch_file((mode & 8) ? "copy.nii.gz" : "copy.nii");
    io::NiftiWriteOptions write;
    write.version = image.nifti_version;  // NIfTI-1 would round a NIfTI-2 affine to float32
    io::write_nifti(copy, image, write);
    io::NiftiReadOptions same = options;
    const io::ImageData back = io::read_nifti(copy, same);
    fuzz::require(back.shape == image.shape && back.channels == image.channels, "round trip keeps the shape");
    for (size_t i = 0; i < image.data.size(); ++i) {
      const float a = image.data[i], b = back.data[i];
      // Bit for bit, except that a NaN may come back as another NaN (float -> double -> float quiets a signalling
      // NaN's payload; found by the fuzzer, harmless).
      fuzz::require(std::memcmp(&a, &b, sizeof(float)) == 0 || (std::isnan(a) && std::isnan(b)),
                    "round trip keeps the voxels");
    }
  });
  return 0;
}
