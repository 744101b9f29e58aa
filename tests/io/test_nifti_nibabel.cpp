// Cross-checks against nibabel (Debian's python3-nibabel): files nibabel writes read identically in medssl, files
// medssl writes read identically in nibabel, and RAS reorientation and orientation codes agree with nibabel's.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "io_test_util.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace medssl::io {
namespace {

std::vector<double> read_f64(const std::string& path) {
  const std::string bytes = test::read_bytes(path);
  std::vector<double> v(bytes.size() / sizeof(double));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(double));
  return v;
}

void write_f64(const std::string& path, const std::vector<double>& v) {
  test::write_bytes(path, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double)));
}

Mat44 to_mat(const std::vector<double>& v, size_t at = 0) {
  Mat44 m{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m[r][c] = v.at(at + 4 * r + c);
  return m;
}

void expect_values_near(const std::vector<float>& actual, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[i], 1e-6 * std::max(1.0, std::fabs(expected[i]))) << what << " element " << i;
}

class Nibabel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testkit::python_has("nibabel numpy")) GTEST_SKIP() << "python3 with nibabel and numpy is not available";
  }
  testkit::TempDir dir_;
};

const char* kNibabelWrites = R"PY(
import numpy as np, nibabel as nib
out = OUT
rng = np.random.default_rng(7)
def rot(a, b, c):
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rz = np.array([[cc, -sc, 0], [sc, cc, 0], [0, 0, 1]])
    return rz @ ry @ rx
def affine(r, zooms, origin):
    a = np.eye(4); a[:3, :3] = r * np.array(zooms); a[:3, 3] = origin; return a
lps = affine(np.diag([-1.0, -1.0, 1.0]), [0.9, 1.1, 2.0], [40, 55, -70])
# oblique and with permuted axes: i -> mostly S, j -> mostly L, k -> mostly A
perm = np.array([[0, -1, 0], [0, 0, 1], [1, 0, 0]], dtype=float)
oblique = affine(rot(0.2, -0.15, 0.3) @ perm, [0.7, 1.3, 2.2], [-12.5, 30.25, 7])
names = []
def save(name, img):
    path = out + '/' + name
    nib.save(img, path)
    back = nib.load(path)
    np.asarray(back.get_fdata(), dtype=np.float64).ravel(order='F').astype('<f8').tofile(path + '.values')
    back.affine.astype('<f8').tofile(path + '.affine')
    canon = nib.as_closest_canonical(back)
    np.asarray(canon.get_fdata(), dtype=np.float64).ravel(order='F').astype('<f8').tofile(path + '.ras_values')
    canon.affine.astype('<f8').tofile(path + '.ras_affine')
    open(path + '.ras_shape', 'w').write(' '.join(str(s) for s in canon.shape))
    names.append(name)
    return back

img = nib.Nifti1Image(rng.normal(0, 1e5, (7, 6, 5)), lps)  # beyond int16: nibabel must scale
img.set_data_dtype(np.int16)
back = save('scaled_int16.nii.gz', img)
assert back.get_data_dtype() == np.int16
slope, inter = back.dataobj.slope, back.dataobj.inter  # nibabel moves scaling from the header to the proxy
assert slope != 1 or inter != 0, (slope, inter)
save('uint8.nii', nib.Nifti1Image(rng.integers(0, 256, (8, 7, 6)).astype(np.uint8), lps))
save('oblique_float64.nii.gz', nib.Nifti1Image(rng.normal(0, 1, (6, 5, 4)), oblique, dtype=np.float64))
save('four_d.nii', nib.Nifti1Image(rng.normal(0, 1, (5, 4, 3, 2)).astype(np.float32), oblique))
save('nifti2_int32.nii.gz', nib.Nifti2Image(rng.integers(-100000, 100000, (6, 5, 4)).astype(np.int32), oblique))
save('nifti2_uint16.nii', nib.Nifti2Image(rng.integers(0, 65536, (4, 5, 6)).astype(np.uint16), lps))
save('int8.nii', nib.Nifti1Image(rng.integers(-128, 128, (3, 4, 5)).astype(np.int8), lps))
hdr = nib.Nifti1Header(endianness='>')
save('big_endian.nii', nib.Nifti1Image(rng.integers(-3000, 3000, (5, 4, 3)).astype('>i2'), oblique, header=hdr))
q = nib.Nifti1Image(rng.normal(0, 1, (4, 3, 5)).astype(np.float32), oblique)
q.header.set_qform(oblique, code=1)
q.header.set_sform(oblique, code=0)
save('qform_only.nii', nib.Nifti1Image(q.get_fdata().astype(np.float32), None, header=q.header))
assert nib.load(out + '/qform_only.nii').header['sform_code'] == 0
assert open(out + '/big_endian.nii', 'rb').read(4) == b'\x00\x00\x01\x5c'
open(out + '/names.txt', 'w').write('\n'.join(names))

# Orientation codes of random affines (incl. near-degenerate ones) for the io_orientation comparison.
affs = [np.eye(4) for _ in range(40)]
for i, a in enumerate(affs):
    a[:3, :3] = rng.normal(0, 1, (3, 3)) * (rng.uniform(0.3, 3, 3) if i % 2 else 1)
affs.append(lps); affs.append(oblique)
np.stack(affs).astype('<f8').tofile(out + '/affines.f64')
open(out + '/codes.txt', 'w').write('\n'.join(''.join(nib.aff2axcodes(a)) for a in affs))
)PY";

TEST_F(Nibabel, FilesNibabelWritesReadIdentically) {
  std::string code = kNibabelWrites;
  code.replace(code.find("OUT"), 3, "'" + dir_.path() + "'");
  const auto result = testkit::run_python(code);
  ASSERT_EQ(result.exit_code, 0) << result.output;

  std::ifstream names(dir_.file("names.txt"));
  std::string name;
  int checked = 0;
  while (std::getline(names, name)) {
    SCOPED_TRACE(name);
    const std::string path = dir_.file(name);
    NiftiReadOptions as_stored;
    as_stored.to_ras = false;
    const ImageData image = read_nifti(path, as_stored);
    expect_values_near(image.data, read_f64(path + ".values"), name);
    const Mat44 expected_affine = to_mat(read_f64(path + ".affine"));
    test::expect_affine_near(image.affine, expected_affine, 1e-5);
    EXPECT_EQ(image.affine_source, name == "qform_only.nii" ? "qform" : "sform");
    EXPECT_EQ(image.nifti_version, name.rfind("nifti2", 0) == 0 ? 2 : 1);

    // nibabel's as_closest_canonical and medssl's to_ras give the same voxels and affine.
    const ImageData ras = read_nifti(path);
    std::istringstream shape_text(test::read_bytes(path + ".ras_shape"));
    std::vector<int64_t> nib_shape;
    for (int64_t s; shape_text >> s;) nib_shape.push_back(s);
    ASSERT_GE(nib_shape.size(), 3u);
    EXPECT_EQ(ras.shape, (std::vector<int64_t>{nib_shape[2], nib_shape[1], nib_shape[0]}));
    expect_values_near(ras.data, read_f64(path + ".ras_values"), name + " (RAS)");
    test::expect_affine_near(ras.affine, to_mat(read_f64(path + ".ras_affine")), 1e-5);
    EXPECT_EQ(orientation_code(ras.affine), "RAS");
    ++checked;
  }
  EXPECT_EQ(checked, 9);

  const std::vector<double> affines = read_f64(dir_.file("affines.f64"));
  std::ifstream codes(dir_.file("codes.txt"));
  std::string expected;
  size_t index = 0;
  while (std::getline(codes, expected)) {
    EXPECT_EQ(orientation_code(to_mat(affines, 16 * index)), expected) << "affine " << index;
    ++index;
  }
  EXPECT_EQ(index, 42u);
}

struct WriteCase {
  std::string name;
  DType dtype;
  int version;
  int64_t channels;
  double slope = 1, inter = 0;
};

TEST_F(Nibabel, FilesMedsslWritesReadIdenticallyInNibabel) {
  const WriteCase cases[] = {
      {"uint8.nii", DType::uint8, 1, 1},
      {"int8.nii.gz", DType::int8, 2, 1},
      {"int16_scaled.nii.gz", DType::int16, 1, 1, 0.5, -20},
      {"uint16.nii", DType::uint16, 2, 1},
      {"int32_4d.nii.gz", DType::int32, 1, 3},
      {"uint32.nii.gz", DType::uint32, 2, 1},
      {"int64.nii", DType::int64, 1, 1},
      {"float32_4d.nii.gz", DType::float32, 2, 2},
      {"float64.nii.gz", DType::float64, 1, 1},
  };
  std::string listing;
  for (const auto& c : cases) {
    ImageData image = test::make_image(3, 4, 5, c.channels, [&](int64_t i) {
      const double stored = static_cast<double>((i * 37) % 120);  // fits every type, also signed 8 bit
      return static_cast<float>(c.dtype == DType::float32 || c.dtype == DType::float64 ? stored * 0.37 - 7.5
                                                                                        : stored * c.slope + c.inter);
    });
    image.affine = test::oblique_affine();
    NiftiWriteOptions options;
    options.dtype = c.dtype;
    options.version = c.version;
    options.scl_slope = c.slope;
    options.scl_inter = c.inter;
    const std::string path = dir_.file(c.name);
    write_nifti(path, image, options);
    write_f64(path + ".values", std::vector<double>(image.data.begin(), image.data.end()));
    std::vector<double> affine;
    for (const auto& row : image.affine) affine.insert(affine.end(), row.begin(), row.end());
    write_f64(path + ".affine", affine);
    listing += fmt::format("{} {} {} {} 5 4 3 {}\n", c.name, c.version, dtype_name(c.dtype), c.channels, c.slope);
  }
  // An LPS image taken to RAS and written back must reach nibabel in its original orientation.
  ImageData lps = test::make_image(3, 4, 5, 1, [](int64_t i) { return static_cast<float>(i); });
  lps.affine = test::scaled_affine(-0.9, -1.1, 2.0, 40, 55, -70);
  write_nifti(dir_.file("lps_source.nii"), lps);
  const ImageData ras = read_nifti(dir_.file("lps_source.nii"));
  ASSERT_EQ(orientation_code(ras.affine), "RAS");
  write_nifti(dir_.file("lps_restored.nii.gz"), ras);
  write_f64(dir_.file("lps_restored.nii.gz.values"), std::vector<double>(lps.data.begin(), lps.data.end()));
  std::vector<double> lps_affine;
  for (const auto& row : lps.affine) lps_affine.insert(lps_affine.end(), row.begin(), row.end());
  write_f64(dir_.file("lps_restored.nii.gz.affine"), lps_affine);
  listing += "lps_restored.nii.gz 1 float32 1 5 4 3 1\n";
  test::write_bytes(dir_.file("cases.txt"), listing);

  const std::string code = R"PY(
import numpy as np, nibabel as nib
out = OUT
for line in open(out + '/cases.txt'):
    name, version, dtype, channels, nx, ny, nz, slope = line.split()
    path = out + '/' + name
    img = nib.load(path)
    assert type(img).__name__ == ('Nifti2Image' if version == '2' else 'Nifti1Image'), (name, type(img))
    assert img.get_data_dtype() == np.dtype(dtype), (name, img.get_data_dtype())
    shape = (int(nx), int(ny), int(nz)) + ((int(channels),) if channels != '1' else ())
    data = img.get_fdata()
    assert data.shape == shape, (name, data.shape, shape)
    expected = np.fromfile(path + '.values', '<f8')
    assert np.allclose(data.ravel(order='F'), expected, rtol=1e-6, atol=1e-6), name
    aff = np.fromfile(path + '.affine', '<f8').reshape(4, 4)
    assert np.allclose(img.affine, aff, atol=1e-5), (name, img.affine, aff)
    assert np.allclose(img.get_qform(), aff, atol=1e-4), (name, img.get_qform(), aff)
    assert img.header['sform_code'] > 0 and img.header['qform_code'] > 0
    assert np.allclose(img.header.get_zooms()[:3], np.sqrt((aff[:3, :3] ** 2).sum(0)), atol=1e-5)
    assert np.isclose(img.dataobj.slope, float(slope)), (name, img.dataobj.slope)
    print('OK', name, ''.join(nib.aff2axcodes(img.affine)))
)PY";
  std::string script = code;
  script.replace(script.find("OUT"), 3, "'" + dir_.path() + "'");
  const auto result = testkit::run_python(script);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  size_t ok = 0;
  for (size_t at = result.output.find("OK "); at != std::string::npos; at = result.output.find("OK ", at + 1)) ++ok;
  EXPECT_EQ(ok, std::size(cases) + 1) << result.output;
  EXPECT_NE(result.output.find("OK lps_restored.nii.gz LPS"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace medssl::io
