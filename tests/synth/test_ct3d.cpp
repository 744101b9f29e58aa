// write_ct3d: MSD layout, file types, determinism, and the anatomy properties the pretext tasks rely on.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/synth/synth.h"
#include "medssl/io/nifti.h"
#include "testkit/testkit.h"

namespace {

using medssl::io::ImageData;
using medssl::synth::Ct3dOptions;
using medssl::testkit::TempDir;
namespace fs = std::filesystem;

Ct3dOptions small_set(const std::string& out, uint64_t seed = 7) {
  Ct3dOptions o;
  o.out = out;
  o.cases = 3;
  o.unlabelled = 2;
  o.size = 32;
  o.seed = seed;
  return o;
}

std::string case_path(const std::string& root, const std::string& folder, int n) {
  char name[64];
  std::snprintf(name, sizeof name, "/%s/pancreas_%03d.nii.gz", folder.c_str(), n);
  return root + name;
}

// Centroid (i, j, k) of voxels whose value satisfies `keep`, in voxel units of the (RAS-reoriented) image.
template <typename Keep>
std::array<double, 3> centroid(const ImageData& im, Keep keep, int k_from = 0, int k_to = 1 << 30) {
  const int64_t D = im.shape[0], H = im.shape[1], W = im.shape[2];
  std::array<double, 3> sum{0, 0, 0};
  double n = 0;
  for (int64_t k = std::max<int64_t>(0, k_from); k < std::min<int64_t>(D, k_to); ++k)
    for (int64_t j = 0; j < H; ++j)
      for (int64_t i = 0; i < W; ++i)
        if (keep(im.data[static_cast<size_t>((k * H + j) * W + i)])) {
          sum[0] += i, sum[1] += j, sum[2] += k;
          n += 1;
        }
  EXPECT_GT(n, 0) << "no voxels selected in " << im.path;
  return {sum[0] / n, sum[1] / n, sum[2] / n};
}

TEST(SynthCt3d, WritesMsdLayoutListingEveryFile) {
  TempDir dir;
  const std::string root = dir.file("Task");
  medssl::synth::write_ct3d(small_set(root));
  auto ds = nlohmann::json::parse(medssl::read_file(root + "/dataset.json"));
  EXPECT_EQ(ds.at("tensorImageSize"), "3D");
  EXPECT_EQ(ds.at("modality").at("0"), "CT");
  EXPECT_EQ(ds.at("labels"), (nlohmann::json{{"0", "background"}, {"1", "pancreas"}, {"2", "cancer"}}));
  EXPECT_EQ(ds.at("numTraining"), 3);
  EXPECT_EQ(ds.at("numTest"), 2);
  ASSERT_EQ(ds.at("training").size(), 3u);
  ASSERT_EQ(ds.at("test").size(), 2u);
  for (int n = 1; n <= 3; ++n) {
    const auto& entry = ds["training"][static_cast<size_t>(n - 1)];
    EXPECT_EQ(root + "/" + entry.at("image").get<std::string>().substr(2), case_path(root, "imagesTr", n));
    EXPECT_EQ(root + "/" + entry.at("label").get<std::string>().substr(2), case_path(root, "labelsTr", n));
    EXPECT_TRUE(fs::exists(case_path(root, "imagesTr", n)));
    EXPECT_TRUE(fs::exists(case_path(root, "labelsTr", n)));
  }
  for (int n = 4; n <= 5; ++n) {
    EXPECT_EQ(root + "/" + ds["test"][static_cast<size_t>(n - 4)].get<std::string>().substr(2),
              case_path(root, "imagesTs", n));
    EXPECT_TRUE(fs::exists(case_path(root, "imagesTs", n)));
    EXPECT_FALSE(fs::exists(case_path(root, "labelsTr", n)));
  }
  // Nothing but the data set is left behind (no temporary or probe files).
  int entries = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) entries += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(entries, 3 + 3 + 2 + 1);
}

TEST(SynthCt3d, ImagesAreInt16HuAndLabelsUint8WithMatchingGeometry) {
  TempDir dir;
  medssl::synth::write_ct3d(small_set(dir.path()));
  for (int n = 1; n <= 3; ++n) {
    auto image_header = medssl::io::read_nifti_header(case_path(dir.path(), "imagesTr", n));
    auto label_header = medssl::io::read_nifti_header(case_path(dir.path(), "labelsTr", n));
    EXPECT_EQ(image_header.dtype, medssl::io::DType::int16);
    EXPECT_EQ(label_header.dtype, medssl::io::DType::uint8);
    ImageData image = medssl::io::read_nifti(case_path(dir.path(), "imagesTr", n));
    ImageData label = medssl::io::read_nifti(case_path(dir.path(), "labelsTr", n));
    ASSERT_EQ(image.shape.size(), 3u);
    EXPECT_EQ(image.shape, label.shape);
    EXPECT_EQ(image.shape[1], 32);
    EXPECT_EQ(image.shape[2], 32);
    EXPECT_GE(image.shape[0], 21);  // depth about 3/4 of the in-plane size
    EXPECT_LE(image.shape[0], 27);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c) EXPECT_DOUBLE_EQ(image.affine[r][c], label.affine[r][c]);
    // Anisotropic like the real thing: thick slices, square in-plane pixels.
    EXPECT_DOUBLE_EQ(image.spacing[1], image.spacing[2]);
    EXPECT_GT(image.spacing[0], 2.0 * image.spacing[2]);
    std::set<float> values(label.data.begin(), label.data.end());
    for (float v : values) EXPECT_TRUE(v == 0 || v == 1 || v == 2) << "label value " << v;
    EXPECT_TRUE(values.count(1)) << "case " << n << " has no pancreas";
    auto [lo, hi] = std::minmax_element(image.data.begin(), image.data.end());
    EXPECT_GE(*lo, -1024);
    EXPECT_LT(*lo, -900);  // air
    EXPECT_GT(*hi, 350);   // bone
    EXPECT_LT(*hi, 1500);
  }
}

TEST(SynthCt3d, PancreasIntensityOverlapsOtherSoftTissue) {
  // Segmentation must need context: many non-pancreas voxels share the pancreas's HU range.
  TempDir dir;
  medssl::synth::write_ct3d(small_set(dir.path()));
  for (int n = 1; n <= 3; ++n) {
    ImageData image = medssl::io::read_nifti(case_path(dir.path(), "imagesTr", n));
    ImageData label = medssl::io::read_nifti(case_path(dir.path(), "labelsTr", n));
    std::vector<float> pancreas;
    for (size_t v = 0; v < image.data.size(); ++v)
      if (label.data[v] == 1) pancreas.push_back(image.data[v]);
    ASSERT_GT(pancreas.size(), 20u);
    std::sort(pancreas.begin(), pancreas.end());
    const float q25 = pancreas[pancreas.size() / 4], q75 = pancreas[pancreas.size() * 3 / 4];
    size_t lookalikes = 0;
    for (size_t v = 0; v < image.data.size(); ++v)
      if (label.data[v] == 0 && image.data[v] >= q25 && image.data[v] <= q75) ++lookalikes;
    EXPECT_GT(lookalikes, 5 * pancreas.size() / 2) << "case " << n << " IQR [" << q25 << ", " << q75 << "]";
  }
}

TEST(SynthCt3d, SameSeedGivesIdenticalFilesAndCasesDoNotDependOnCount) {
  TempDir a, b, c, d;
  medssl::synth::write_ct3d(small_set(a.path(), 11));
  medssl::synth::write_ct3d(small_set(b.path(), 11));
  medssl::synth::write_ct3d(small_set(c.path(), 12));
  for (const auto& e : fs::recursive_directory_iterator(a.path())) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), a.path()).string();
    EXPECT_EQ(medssl::read_file(e.path().string()), medssl::read_file(b.file(rel))) << rel;
    EXPECT_NE(medssl::read_file(e.path().string()), medssl::read_file(c.file(rel))) << rel;
  }
  Ct3dOptions one = small_set(d.path(), 11);
  one.cases = 1;
  one.unlabelled = 1;
  medssl::synth::write_ct3d(one);
  EXPECT_EQ(medssl::read_file(case_path(a.path(), "imagesTr", 1)), medssl::read_file(case_path(d.path(), "imagesTr", 1)));
  // The first unlabelled case is the same volume whatever the number of labelled cases (only its number moves).
  EXPECT_EQ(medssl::io::read_nifti(case_path(a.path(), "imagesTs", 4)).data,
            medssl::io::read_nifti(case_path(d.path(), "imagesTs", 2)).data);
}

TEST(SynthCt3d, AnatomyIsCanonicalAfterRasReorientation) {
  TempDir dir;
  medssl::synth::write_ct3d(small_set(dir.path(), 3));
  std::set<std::string> stored_codes;
  for (int n = 1; n <= 3; ++n) {
    const std::string path = case_path(dir.path(), "imagesTr", n);
    stored_codes.insert(medssl::orientation_code(medssl::io::read_nifti_header(path).affine));
    ImageData image = medssl::io::read_nifti(path);
    ImageData label = medssl::io::read_nifti(case_path(dir.path(), "labelsTr", n));
    EXPECT_EQ(medssl::orientation_code(image.affine), "RAS");
    const int D = static_cast<int>(image.shape[0]);
    auto body = centroid(image, [](float v) { return v > -500; });
    auto spine = centroid(image, [](float v) { return v > 300; });
    EXPECT_LT(spine[1], body[1] - 2) << path << ": spine must be posterior (lower j) of the body centre";
    EXPECT_NEAR(spine[0], body[0], 2.5) << path << ": spine must be midline";
    // Upper abdomen: the liver (patient right, +i) outweighs the spleen, so soft tissue sits right of centre.
    auto upper = centroid(image, [](float v) { return v > 20 && v < 120; }, 2 * D / 3, D);
    EXPECT_GT(upper[0], body[0] + 1) << path << ": liver must be on the patient's right";
    auto pancreas = centroid(label, [](float v) { return v >= 1; });
    EXPECT_GT(pancreas[1], spine[1] + 2) << path << ": pancreas must lie anterior to the spine";
  }
  // Odd cases are stored LPS, so the checks above went through a real reorientation...
  EXPECT_EQ(stored_codes, (std::set<std::string>{"RAS", "LPS"}));
  // ...and without it the spine of such a case is anterior in voxel terms.
  medssl::io::NiftiReadOptions raw;
  raw.to_ras = false;
  ImageData lps = medssl::io::read_nifti(case_path(dir.path(), "imagesTr", 2), raw);
  EXPECT_GT(centroid(lps, [](float v) { return v > 300; })[1], centroid(lps, [](float v) { return v > -500; })[1]);
}

TEST(SynthCt3d, NibabelSeesTheSameCanonicalAnatomy) {
  // An independent reader: nibabel's as_closest_canonical must also put the spine posterior and the liver side
  // right, for the RAS-stored and the LPS-stored cases alike.
  if (!medssl::testkit::python_has("nibabel numpy")) GTEST_SKIP() << "nibabel not available";
  TempDir dir;
  medssl::synth::write_ct3d(small_set(dir.path(), 3));
  auto r = medssl::testkit::run_python(
      "import nibabel as nib, numpy as np\n"
      "root = '" + dir.path() + "'\n"
      "for n in (1, 2, 3):\n"
      "    f = nib.load(f'{root}/imagesTr/pancreas_{n:03d}.nii.gz')\n"
      "    a = np.asanyarray(nib.as_closest_canonical(f).dataobj).astype(float)\n"
      "    body = np.argwhere(a > -500).mean(0); spine = np.argwhere(a > 300).mean(0)\n"
      "    top = a[:, :, 2 * a.shape[2] // 3:]\n"
      "    soft = np.argwhere((top > 20) & (top < 120)).mean(0)\n"
      "    print(n, ''.join(nib.aff2axcodes(f.affine)), spine[1] < body[1] - 2, soft[0] > body[0] + 1)\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 RAS True True"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 LPS True True"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("3 RAS True True"), std::string::npos) << r.output;
}

TEST(SynthCt3d, LesionsAreMassesSmallerThanTheGland) {
  TempDir dir;
  Ct3dOptions o = small_set(dir.path(), 5);
  o.cases = 8;
  o.unlabelled = 0;
  o.size = 48;
  medssl::synth::write_ct3d(o);
  int with_lesion = 0;
  for (int n = 1; n <= 8; ++n) {
    ImageData label = medssl::io::read_nifti(case_path(dir.path(), "labelsTr", n));
    const auto pancreas = std::count(label.data.begin(), label.data.end(), 1.0f);
    const auto lesion = std::count(label.data.begin(), label.data.end(), 2.0f);
    EXPECT_GT(pancreas, 100) << "case " << n;                                       // learnable, not a speck
    EXPECT_LT(pancreas, static_cast<int64_t>(label.data.size()) / 50) << "case " << n;  // and not trivial
    if (lesion > 0) {
      ++with_lesion;
      // A mass as thick as the gland (Task07's tumours are large): a learnable share of the labelled volume, but
      // never most of it (up to about half: at 48^3 the voxel grid can put a large one at exactly 50 %).
      EXPECT_GT(lesion, (pancreas + lesion) / 20) << "case " << n;
      EXPECT_LT(lesion * 5, (pancreas + lesion) * 3) << "case " << n;
    }
  }
  EXPECT_GE(with_lesion, 1);
  EXPECT_LE(with_lesion, 7);
}

TEST(SynthCt3d, LayoutReaderAcceptsTheDataSet) {
  TempDir dir;
  medssl::synth::write_ct3d(small_set(dir.path()));
  medssl::data::OpenOptions options;
  options.check_headers = true;
  auto index = medssl::data::open_dataset(dir.path(), options);
  EXPECT_EQ(index.layout, "msd");
  EXPECT_EQ(index.training.size(), 3u);
  EXPECT_EQ(index.num_classes(), 3);
  EXPECT_EQ(index.all_images().size(), 5u);
}

TEST(SynthCt3d, RejectsBadOptionsWithClearErrors) {
  TempDir dir;
  auto message = [](const Ct3dOptions& o) {
    try {
      medssl::synth::write_ct3d(o);
    } catch (const medssl::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Ct3dOptions o = small_set(dir.file("out"));
  o.size = 8;
  EXPECT_NE(message(o).find("size 8"), std::string::npos) << message(o);
  o = small_set(dir.file("out"));
  o.cases = 0;
  EXPECT_NE(message(o).find("cases 0"), std::string::npos) << message(o);
  o = small_set(dir.file("out"));
  o.unlabelled = -1;
  EXPECT_NE(message(o).find("unlabelled -1"), std::string::npos) << message(o);
  medssl::testkit::write_text(dir.file("plain-file"), "x");
  o = small_set(dir.file("plain-file") + "/sub");
  EXPECT_NE(message(o).find(dir.file("plain-file")), std::string::npos) << message(o);
  o = small_set(dir.file("plain-file"));
  EXPECT_NE(message(o).find("not a folder"), std::string::npos) << message(o);
}

}  // namespace
