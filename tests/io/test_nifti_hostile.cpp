// Hostile and broken NIfTI files: each must give medssl::Error naming the file, never a crash or a huge allocation.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <limits>

#include "io_test_util.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace medssl::io {
namespace {
using test::expect_error_naming;
using test::poke;

// NIfTI-1 field offsets (see nifti1.h).
constexpr size_t kDim = 40, kDatatype = 70, kBitpix = 72, kPixdim = 76, kVoxOffset = 108, kSclSlope = 112,
                 kSclInter = 116, kSrowX = 280, kMagic = 344;

class HostileNifti : public ::testing::Test {
 protected:
  /// A valid uncompressed NIfTI-1 int16 file of 4 x 3 x 2 voxels.
  std::string valid_bytes(int version = 1) {
    ImageData image = test::make_image(2, 3, 4, 1, [](int64_t i) { return static_cast<float>(i); });
    const std::string path = dir_.file("valid.nii");
    NiftiWriteOptions options;
    options.dtype = DType::int16;
    options.version = version;
    write_nifti(path, image, options);
    return test::read_bytes(path);
  }
  std::string put(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.file(name);
    test::write_bytes(path, bytes);
    return path;
  }
  std::string put_gz(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.file(name);
    gzFile gz = gzopen(path.c_str(), "wb");
    EXPECT_NE(gz, nullptr);
    EXPECT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    gzclose(gz);
    return path;
  }
  /// Both the full read and the header-only read reject the file with a message naming it.
  void expect_rejected(const std::string& path, const std::string& fragment) {
    expect_error_naming([&] { read_nifti(path); }, path, fragment);
    expect_error_naming([&] { read_nifti_header(path); }, path, fragment);
  }
  testkit::TempDir dir_;
};

TEST_F(HostileNifti, MissingFile) {
  const std::string path = dir_.file("absent.nii.gz");
  expect_rejected(path, "no such file");
}

TEST_F(HostileNifti, NotANiftiFile) {
  expect_rejected(put("text.nii", "hello, this is not an image at all, but it is long enough"), "sizeof_hdr");
  expect_rejected(put("tiny.nii", "ab"), "only 2 bytes");
  expect_rejected(put("header_cut.nii", valid_bytes().substr(0, 200)), "truncated");
}

TEST_F(HostileNifti, WrongMagic) {
  std::string bytes = valid_bytes();
  std::memcpy(bytes.data() + kMagic, "xyz\0", 4);
  expect_rejected(put("magic.nii", bytes), "magic");
  std::memcpy(bytes.data() + kMagic, "ni1\0", 4);
  expect_rejected(put("pair.nii", bytes), ".hdr/.img");
  std::string two = valid_bytes(2);
  two[8] = 'X';  // the "\r\n\032\n" part of the NIfTI-2 magic, as a text-mode copy would damage it
  expect_rejected(put("text_mode.nii", two), "magic");
}

TEST_F(HostileNifti, TruncatedAndCorruptGzip) {
  // Enough noisy data that compression cannot hide it in a few bytes.
  ImageData image = test::make_image(16, 16, 16, 1, [](int64_t i) {
    return static_cast<float>((static_cast<uint64_t>(i) * 2654435761u >> 7) % 100003);
  });
  const std::string good = dir_.file("good.nii.gz");
  write_nifti(good, image);
  const std::string gz = test::read_bytes(good);
  ASSERT_GT(gz.size(), 2000u);
  expect_error_naming([&] { read_nifti(put("half.nii.gz", gz.substr(0, gz.size() / 2))); }, dir_.file("half.nii.gz"),
                      "");
  // Only the 8-byte gzip trailer (checksum, length) missing: the data is all there, the damage must still be seen.
  expect_error_naming([&] { read_nifti(put("no_trailer.nii.gz", gz.substr(0, gz.size() - 8))); },
                      dir_.file("no_trailer.nii.gz"), "gzip");
  std::string corrupt = gz;
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  expect_error_naming([&] { read_nifti(put("corrupt.nii.gz", corrupt)); }, dir_.file("corrupt.nii.gz"), "");
  expect_rejected(put("gz_header_cut.nii.gz", gz.substr(0, 12)), "");
}

TEST_F(HostileNifti, BadDimCount) {
  std::string bytes = valid_bytes();
  poke<int16_t>(bytes, kDim, 0);
  expect_rejected(put("dim0.nii", bytes), "dim[0] = 0");
  poke<int16_t>(bytes, kDim, 8);
  expect_rejected(put("dim8.nii", bytes), "dim[0] = 8");
}

TEST_F(HostileNifti, ZeroAndNegativeDims) {
  std::string bytes = valid_bytes();
  poke<int16_t>(bytes, kDim + 2 * 2, 0);
  expect_rejected(put("zero.nii", bytes), "dim[2] = 0");
  poke<int16_t>(bytes, kDim + 2 * 2, -3);
  expect_rejected(put("negative.nii", bytes), "dim[2] = -3");
}

TEST_F(HostileNifti, OverflowingDims) {
  std::string bytes = valid_bytes();
  poke<int16_t>(bytes, kDim, 7);
  for (int i = 1; i <= 7; ++i) poke<int16_t>(bytes, kDim + 2 * i, 32767);
  expect_rejected(put("overflow.nii", bytes), "overflow");
  std::string two = valid_bytes(2);
  for (int i = 1; i <= 3; ++i) poke<int64_t>(two, 16 + 8 * i, int64_t{1} << 40);
  expect_rejected(put("overflow2.nii", two), "overflow");
}

TEST_F(HostileNifti, HugeDimsAreRefusedBeforeAllocating) {
  std::string bytes = valid_bytes();
  for (int i = 1; i <= 3; ++i) poke<int16_t>(bytes, kDim + 2 * i, 30000);  // 2.7e13 voxels, 108 TB as float
  const std::string path = put("huge.nii", bytes);
  expect_error_naming([&] { read_nifti(path); }, path, "limit");
  // Under a tight limit even a small image is refused; it reads once the limit allows it.
  const std::string small = put("small.nii", valid_bytes());
  NiftiReadOptions options;
  options.max_bytes = 4 * 24 - 1;
  expect_error_naming([&] { read_nifti(small, options); }, small, "limit");
  options.max_bytes = 4 * 24;
  EXPECT_EQ(read_nifti(small, options).data.size(), 24u);
  // A tiny gzip file claiming a large image (under the limit) is caught as truncated without allocating it.
  std::string big = valid_bytes();
  for (int i = 1; i <= 3; ++i) poke<int16_t>(big, kDim + 2 * i, 1000);  // 2 GB of int16
  const std::string gz = put_gz("claims_big.nii.gz", big);
  expect_error_naming([&] { read_nifti(gz); }, gz, "truncated");
}

TEST_F(HostileNifti, UnsupportedDatatypeAndBitpixMismatch) {
  std::string bytes = valid_bytes();
  poke<int16_t>(bytes, kDatatype, 128);  // RGB24
  poke<int16_t>(bytes, kBitpix, 24);
  expect_rejected(put("rgb.nii", bytes), "unsupported datatype 128");
  poke<int16_t>(bytes, kDatatype, 1280);  // uint64
  poke<int16_t>(bytes, kBitpix, 64);
  expect_rejected(put("u64.nii", bytes), "unsupported datatype 1280");
  poke<int16_t>(bytes, kDatatype, 4);  // int16 ...
  poke<int16_t>(bytes, kBitpix, 8);    // ... with 8 bits
  expect_rejected(put("bitpix.nii", bytes), "bitpix 8");
}

TEST_F(HostileNifti, VoxOffsetBeyondFileAndShortData) {
  std::string bytes = valid_bytes();
  std::string far = bytes;
  poke<float>(far, kVoxOffset, 1.0e6f);
  expect_rejected(put("far.nii", far), "beyond the end");
  expect_error_naming([&] { read_nifti(put_gz("far.nii.gz", far)); }, dir_.file("far.nii.gz"), "beyond the end");
  std::string inside = bytes;
  poke<float>(inside, kVoxOffset, 100.f);
  expect_rejected(put("inside.nii", inside), "vox_offset");
  poke<float>(inside, kVoxOffset, 352.5f);
  expect_rejected(put("fraction.nii", inside), "whole number");
  const std::string cut = bytes.substr(0, bytes.size() - 3);
  expect_rejected(put("short.nii", cut), "truncated");
  expect_error_naming([&] { read_nifti(put_gz("short.nii.gz", cut)); }, dir_.file("short.nii.gz"), "truncated");
}

TEST_F(HostileNifti, NonFiniteGeometryAndScaling) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::string bytes = valid_bytes();
  std::string pix = bytes;
  poke<float>(pix, kPixdim + 4 * 2, nan);
  expect_rejected(put("nan_pixdim.nii", pix), "pixdim[2]");
  std::string srow = bytes;
  poke<float>(srow, kSrowX + 4, inf);
  expect_rejected(put("inf_sform.nii", srow), "sform");
  std::string inter = bytes;
  poke<float>(inter, kSclSlope, 2.f);
  poke<float>(inter, kSclInter, nan);
  expect_rejected(put("nan_inter.nii", inter), "scl_inter");
}

TEST_F(HostileNifti, AbsurdAffinesAreRefused) {
  // Found by fuzz_nifti: a NIfTI-2 sform entry of -4.7e226 is finite, but the voxel size computed from it overflowed
  // to inf and the file was accepted with an infinite spacing.
  std::string two = valid_bytes(2);
  constexpr size_t kSrowX2 = 400, kSformCode2 = 348;
  poke<int32_t>(two, kSformCode2, 1);
  poke<double>(two, kSrowX2 + 8 * (4 + 2), -4.737909217226286e+226);  // srow_y[2]
  expect_rejected(put("overflowing_sform.nii", two), "absurd");
  std::string one = valid_bytes();
  poke<int16_t>(one, 254, 1);  // sform_code
  poke<float>(one, kSrowX + 4 * 3, 1e20f);  // srow_x[3], the x offset
  expect_rejected(put("far_origin.nii", one), "absurd");
  // Found by fuzz_nifti: an sform whose i and j columns (nearly) coincide. It was accepted, and its voxel order
  // changed after a write and re-read; a singular affine has no orientation.
  std::string parallel = valid_bytes(2);
  poke<int32_t>(parallel, kSformCode2, 1);
  const double rows[3][4] = {{1, 1, 0, 0}, {0, 1e-9, 0, 0}, {0, 0, 1, 0}};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) poke<double>(parallel, kSrowX2 + 8 * (4 * r + c), rows[r][c]);
  expect_rejected(put("parallel_axes.nii", parallel), "singular");
  // A NaN in the quaternion of a qform-only file.
  std::string q = valid_bytes();
  poke<int16_t>(q, 254, 0);  // sform_code 0: the qform is used
  poke<int16_t>(q, 252, 1);  // qform_code
  poke<float>(q, 256, std::numeric_limits<float>::quiet_NaN());  // quatern_b
  expect_rejected(put("nan_qform.nii", q), "qform");
}

TEST_F(HostileNifti, InvalidSlopeMeansNoScalingAsInNibabel) {
  const std::string reference = put("ref.nii", valid_bytes());
  const std::vector<float> expected = read_nifti(reference).data;
  for (float slope : {0.f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::string bytes = valid_bytes();
    poke<float>(bytes, kSclSlope, slope);
    poke<float>(bytes, kSclInter, 5.f);
    EXPECT_EQ(read_nifti(put("slope.nii", bytes)).data, expected) << "slope " << slope;
  }
}

TEST_F(HostileNifti, ByteSwappedFileReadsCorrectly) {
  // A big-endian NIfTI-1 file built field by field.
  std::string header(352, '\0');
  auto be16 = [&](size_t off, int v) {
    header[off] = static_cast<char>((v >> 8) & 0xff);
    header[off + 1] = static_cast<char>(v & 0xff);
  };
  auto be32f = [&](size_t off, float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int b = 0; b < 4; ++b) header[off + b] = static_cast<char>((u >> (24 - 8 * b)) & 0xff);
  };
  header[0] = 0, header[1] = 0, header[2] = 0x01, header[3] = 0x5c;  // 348 big-endian
  const int dims[8] = {3, 3, 2, 1, 1, 1, 1, 1};
  for (int i = 0; i < 8; ++i) be16(kDim + 2 * i, dims[i]);
  be16(kDatatype, 4);
  be16(kBitpix, 16);
  const float pixdim[4] = {1, 2, 3, 4};
  for (int i = 0; i < 4; ++i) be32f(kPixdim + 4 * i, pixdim[i]);
  be32f(kVoxOffset, 352);
  std::memcpy(header.data() + kMagic, "n+1\0", 4);
  const int16_t values[6] = {-2, 300, 7, -1000, 0, 32767};
  std::string data;
  for (int16_t v : values) {
    data.push_back(static_cast<char>((static_cast<uint16_t>(v) >> 8) & 0xff));
    data.push_back(static_cast<char>(static_cast<uint16_t>(v) & 0xff));
  }
  const std::string path = put("big_endian.nii", header + data);
  const ImageData image = read_nifti(path);
  EXPECT_EQ(image.data, (std::vector<float>{-2, 300, 7, -1000, 0, 32767}));
  EXPECT_EQ(image.shape, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(image.affine_source, "pixdim");
  EXPECT_DOUBLE_EQ(image.spacing[1], 3.0);
  EXPECT_DOUBLE_EQ(image.spacing[2], 2.0);
  EXPECT_EQ(read_nifti_header(path).dims, (std::vector<int64_t>{3, 2, 1}));
}

}  // namespace
}  // namespace medssl::io
