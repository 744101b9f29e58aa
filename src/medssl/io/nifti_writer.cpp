// Writing NIfTI-1/-2: header from the affine (sform exact, qform as nifticlib's closest rigid+zoom approximation),
// values converted to the requested on-disk type with range checks, gzip by name, one atomic write.
#include <nifti2_io.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/io/nifti.h"
#include "medssl/io/nifti_header.h"

namespace medssl::io {
namespace {

// deflate level 1, as nibabel: volumes compress nearly as well as at level 6 and several times faster.
constexpr int kGzipLevel = 1;

bool ends_with_gz(const std::string& path) {
  if (path.size() < 3) return false;
  std::string tail = path.substr(path.size() - 3);
  std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
  return tail == ".gz";
}

std::string gzip_compress(const std::string& raw, const std::string& path) {
  z_stream zs{};
  check(deflateInit2(&zs, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
        "cannot compress '{}': zlib initialisation failed", path);
  std::string out(deflateBound(&zs, static_cast<uLong>(std::min<size_t>(raw.size(), 1u << 30))), '\0');
  size_t in_done = 0, out_done = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    const size_t in_chunk = std::min<size_t>(raw.size() - in_done, 1u << 30);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data() + in_done));
    zs.avail_in = static_cast<uInt>(in_chunk);
    const bool last = in_done + in_chunk == raw.size();
    if (out.size() - out_done < (1u << 20)) out.resize(out.size() + std::max<size_t>(out.size() / 2, 1u << 20));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - out_done, 1u << 30));
    const size_t avail_before = zs.avail_out;
    rc = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      fail("cannot compress '{}': zlib error {}", path, rc);
    }
    in_done += in_chunk - zs.avail_in;
    out_done += avail_before - zs.avail_out;
  }
  deflateEnd(&zs);
  out.resize(out_done);
  return out;
}

template <typename T>
void encode_values(const std::vector<float>& data, const NiftiWriteOptions& o, const std::string& path, char* dst) {
  const DType type = o.dtype;
  for (size_t i = 0; i < data.size(); ++i) {
    double stored = (static_cast<double>(data[i]) - o.scl_inter) / o.scl_slope;
    T value;
    if constexpr (std::is_integral_v<T>) {
      stored = std::round(stored);
      const double lo = static_cast<double>(std::numeric_limits<T>::min());
      const double hi = static_cast<double>(std::numeric_limits<T>::max());
      // `hi` of int64 rounds up to 2^63, which itself does not fit: hence the strict comparison there.
      const bool fits = std::isfinite(stored) && stored >= lo &&
                        (sizeof(T) == 8 ? stored < hi : stored <= hi);
      if (!fits)
        fail("cannot write '{}' as {}: value {} (element {}) becomes {} on disk, outside the type's range {}..{}",
             path, dtype_name(type), data[i], i, stored, std::numeric_limits<T>::min(),
             std::numeric_limits<T>::max());
      value = static_cast<T>(stored);
    } else {
      value = static_cast<T>(stored);
    }
    std::memcpy(dst + i * sizeof(T), &value, sizeof(T));
  }
}

void encode_data(const std::vector<float>& data, const NiftiWriteOptions& o, const std::string& path, char* dst) {
  switch (o.dtype) {
    case DType::uint8: return encode_values<uint8_t>(data, o, path, dst);
    case DType::int8: return encode_values<int8_t>(data, o, path, dst);
    case DType::int16: return encode_values<int16_t>(data, o, path, dst);
    case DType::uint16: return encode_values<uint16_t>(data, o, path, dst);
    case DType::int32: return encode_values<int32_t>(data, o, path, dst);
    case DType::uint32: return encode_values<uint32_t>(data, o, path, dst);
    case DType::int64: return encode_values<int64_t>(data, o, path, dst);
    case DType::float32: return encode_values<float>(data, o, path, dst);
    case DType::float64: return encode_values<double>(data, o, path, dst);
  }
}

detail::RawNiftiHeader make_header(const ImageData& image, const NiftiWriteOptions& o, const std::string& path) {
  detail::RawNiftiHeader raw;
  raw.version = o.version;
  const int64_t nz = image.shape.size() == 3 ? image.shape[0] : 1;
  const int64_t ny = image.shape[image.shape.size() - 2], nx = image.shape.back();
  raw.dim = {image.channels > 1 ? 4 : 3, nx, ny, nz, image.channels, 1, 1, 1};
  if (o.version == 1)
    for (int i = 1; i <= 4; ++i)
      check(raw.dim[i] <= std::numeric_limits<int16_t>::max(),
            "cannot write '{}' as NIfTI-1: dimension {} is {}, above NIfTI-1's limit of 32767 (use version 2)", path,
            i, raw.dim[i]);
  raw.datatype = detail::dtype_to_code(o.dtype);
  raw.bitpix = 8 * dtype_bytes(o.dtype);
  raw.vox_offset = (o.version == 2 ? detail::kNifti2HeaderSize : detail::kNifti1HeaderSize) + 4;
  raw.scl_slope = o.scl_slope;
  raw.scl_inter = o.scl_inter;
  raw.xyzt_units = NIFTI_UNITS_MM;
  // Both transforms hold the affine, coded "scanner": nibabel, nifticlib and ITK all read them.
  raw.sform_code = NIFTI_XFORM_SCANNER_ANAT;
  raw.qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nifti_dmat44 m{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = image.affine[r][c];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) raw.srow[r][c] = image.affine[r][c];
  double dx = 0, dy = 0, dz = 0, qfac = 1;
  nifti_dmat44_to_quatern(m, &raw.quatern[0], &raw.quatern[1], &raw.quatern[2], &raw.qoffset[0], &raw.qoffset[1],
                          &raw.qoffset[2], &dx, &dy, &dz, &qfac);
  const auto spacing = detail::spacing_from_affine(image.affine);  // (D, H, W) = (k, j, i)
  raw.pixdim = {qfac, spacing[2], spacing[1], spacing[0], 1.0, 1.0, 1.0, 1.0};
  return raw;
}

}  // namespace

void write_nifti(const std::string& path, const ImageData& image, const NiftiWriteOptions& options) {
  check(options.version == 1 || options.version == 2, "cannot write '{}': NIfTI version must be 1 or 2, not {}", path,
        options.version);
  check(image.shape.size() == 2 || image.shape.size() == 3,
        "cannot write '{}': NIfTI output needs 2 or 3 spatial dimensions, the image has {}", path,
        image.shape.size());
  for (auto s : image.shape) check(s > 0, "cannot write '{}': the image shape has a size {}", path, s);
  check(image.channels >= 1, "cannot write '{}': {} channels", path, image.channels);
  check(static_cast<int64_t>(image.data.size()) == image.voxels_per_channel() * image.channels,
        "cannot write '{}': {} values do not match the shape ({} voxels x {} channels)", path, image.data.size(),
        image.voxels_per_channel(), image.channels);
  check(std::isfinite(options.scl_slope) && options.scl_slope != 0 && std::isfinite(options.scl_inter),
        "cannot write '{}': scl_slope must be finite and non-zero and scl_inter finite (got {} and {})", path,
        options.scl_slope, options.scl_inter);
  check(all_finite(image.affine), "cannot write '{}': the affine has NaN or infinite entries", path);
  for (double s : detail::spacing_from_affine(image.affine))
    check(s > 0, "cannot write '{}': the affine maps a voxel axis to a zero vector", path);

  const ImageData* source = &image;
  ImageData restored;
  if (options.restore_orientation && !image.reorientation.is_identity()) {
    restored = image;
    reorient(restored, inverse(image.reorientation));
    source = &restored;
  }
  const detail::RawNiftiHeader raw = make_header(*source, options, path);
  std::string bytes = detail::encode_header(raw);
  bytes.append(4, '\0');  // extension flag: no extensions
  const size_t header_bytes = bytes.size();
  bytes.resize(header_bytes + source->data.size() * static_cast<size_t>(dtype_bytes(options.dtype)));
  encode_data(source->data, options, path, bytes.data() + header_bytes);
  if (ends_with_gz(path)) bytes = gzip_compress(bytes, path);
  write_file_atomic(path, bytes);
}

}  // namespace medssl::io
