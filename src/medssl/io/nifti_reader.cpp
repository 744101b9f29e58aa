// Reading NIfTI-1/-2 files: header validation first, every size checked before anything large is allocated, then the
// data converted to float32 in bounded chunks (so peak memory is the output plus a few MiB).
#include <algorithm>
#include <cctype>
#include <cstring>
#include <type_traits>
#include <vector>

#include "medssl/core/alloc_limit.h"
#include "medssl/core/error.h"
#include "medssl/io/byte_source.h"
#include "medssl/io/nifti.h"
#include "medssl/io/nifti_header.h"

namespace medssl::io {
namespace {

using detail::ByteSource;
using detail::CheckedHeader;

constexpr size_t kChunkBytes = 8u << 20;
// deflate cannot compress better than about 1032:1; a gzip file claiming more data than this bound is truncated.
constexpr uint64_t kMaxDeflateRatio = 1100;

CheckedHeader read_checked_header(ByteSource& src) {
  const std::string& path = src.path();
  unsigned char bytes[detail::kNifti2HeaderSize];
  size_t got = src.read(bytes, 4);
  check(got == 4, "'{}' is not a NIfTI file: it holds only {} bytes", path, got);
  bool swapped = false;
  const int size = detail::header_size_from_prefix(bytes, swapped, path);
  got = src.read(bytes + 4, static_cast<size_t>(size - 4));
  check(got == static_cast<size_t>(size - 4), "NIfTI file '{}' is truncated: its header needs {} bytes, found {}",
        path, size, got + 4);
  return detail::check_header(detail::decode_header(bytes, size, swapped), path);
}

/// The size checks possible before reading the data: exact for plain files, an upper bound for gzip.
void check_file_holds_data(const ByteSource& src, const CheckedHeader& h) {
  const uint64_t offset = static_cast<uint64_t>(h.info.vox_offset);
  uint64_t needed = 0;
  check(!__builtin_add_overflow(offset, h.data_bytes, &needed), "NIfTI file '{}': vox_offset + data size overflows",
        src.path());
  if (!src.compressed()) {
    check(offset <= src.file_size(), "NIfTI file '{}': vox_offset {} is beyond the end of the file ({} bytes)",
          src.path(), offset, src.file_size());
    check(needed <= src.file_size(),
          "NIfTI file '{}' is truncated: the header declares {} bytes of data at offset {}, the file holds only {}",
          src.path(), h.data_bytes, offset, src.file_size() - offset);
  } else {
    const uint64_t bound = src.file_size() * kMaxDeflateRatio + (1u << 20);
    check(needed <= bound,
          "NIfTI file '{}' is truncated: the header declares {} bytes of data, more than a {}-byte gzip file can hold",
          src.path(), h.data_bytes, src.file_size());
  }
}

template <typename T>
void convert(const unsigned char* src, size_t count, const CheckedHeader& h, float* dst) {
  const double slope = h.info.scl_slope, inter = h.info.scl_inter;
  for (size_t i = 0; i < count; ++i) {
    unsigned char buf[sizeof(T)];
    std::memcpy(buf, src + i * sizeof(T), sizeof(T));
    if (h.swapped) std::reverse(buf, buf + sizeof(T));
    T value;
    std::memcpy(&value, buf, sizeof(T));
    dst[i] = h.scaled ? static_cast<float>(static_cast<double>(value) * slope + inter) : static_cast<float>(value);
  }
}

void convert_chunk(const unsigned char* src, size_t count, const CheckedHeader& h, float* dst) {
  switch (h.info.dtype) {
    case DType::uint8: return convert<uint8_t>(src, count, h, dst);
    case DType::int8: return convert<int8_t>(src, count, h, dst);
    case DType::int16: return convert<int16_t>(src, count, h, dst);
    case DType::uint16: return convert<uint16_t>(src, count, h, dst);
    case DType::int32: return convert<int32_t>(src, count, h, dst);
    case DType::uint32: return convert<uint32_t>(src, count, h, dst);
    case DType::int64: return convert<int64_t>(src, count, h, dst);
    case DType::float32: return convert<float>(src, count, h, dst);
    case DType::float64: return convert<double>(src, count, h, dst);
  }
}

std::vector<float> read_data(ByteSource& src, const CheckedHeader& h) {
  const uint64_t gap = static_cast<uint64_t>(h.info.vox_offset) - static_cast<uint64_t>(h.header_size);
  check(src.skip(gap) == gap, "NIfTI file '{}': vox_offset {} is beyond the end of the (decompressed) file",
        src.path(), h.info.vox_offset);
  const size_t element_bytes = static_cast<size_t>(dtype_bytes(h.info.dtype));
  std::vector<float> out(static_cast<size_t>(h.elements));
  std::vector<unsigned char> chunk(std::min<uint64_t>(kChunkBytes, h.data_bytes));
  const size_t per_chunk = chunk.size() / element_bytes;
  size_t done = 0;
  while (done < out.size()) {
    const size_t count = std::min(per_chunk, out.size() - done);
    const size_t got = src.read(chunk.data(), count * element_bytes);
    check(got == count * element_bytes,
          "NIfTI file '{}' is truncated: the header declares {} bytes of data, the file ends after {}", src.path(),
          h.data_bytes, done * element_bytes + got);
    convert_chunk(chunk.data(), count, h, out.data() + done);
    done += count;
  }
  src.drain(16u << 20);  // lets zlib verify the gzip checksum, so a damaged tail is reported, not ignored
  return out;
}

}  // namespace

ImageData read_nifti(const std::string& path, const NiftiReadOptions& options) {
  ByteSource src(path);
  const CheckedHeader h = read_checked_header(src);
  uint64_t decoded_bytes = 0;
  if (__builtin_mul_overflow(h.elements, uint64_t{sizeof(float)}, &decoded_bytes)) decoded_bytes = ~uint64_t{0};
  check_alloc(decoded_bytes, options.max_bytes ? options.max_bytes : max_alloc_bytes(), path,
              fmt::format("the image ({} voxels) as float32", h.elements));
  check_file_holds_data(src, h);

  ImageData image;
  image.data = read_data(src, h);
  image.shape = {h.nz, h.ny, h.nx};
  image.channels = h.channels;
  image.affine = h.info.affine;
  image.spacing = detail::spacing_from_affine(image.affine);
  image.affine_source = h.info.affine_source;
  image.disk_dtype = h.info.dtype;
  image.nifti_version = h.info.version;
  image.path = path;
  if (options.to_ras) {
    const AxisReorientation r = ras_reorientation(image.affine);
    if (!r.is_identity()) reorient(image, r);
  }
  return image;
}

NiftiHeaderInfo read_nifti_header(const std::string& path) {
  ByteSource src(path);
  const CheckedHeader h = read_checked_header(src);
  check_file_holds_data(src, h);
  return h.info;
}

bool is_nifti_path(const std::string& path) {
  std::string lower(path);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto ends_with = [&](const std::string& suffix) {
    return lower.size() >= suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".nii") || ends_with(".nii.gz");
}

}  // namespace medssl::io
