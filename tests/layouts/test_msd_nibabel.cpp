// Cross-check with files written by nibabel the way the MSD ships Task07_Pancreas: int16 CT with an oblique-free
// LPS-style affine (negative x/y), 0.7 x 0.7 x 2.5 mm voxels, uint8 labels, "._" junk in imagesTr.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using testing::HasSubstr;

namespace {

const char* kWriter = R"(
import json, os, sys
import numpy as np, nibabel as nib
root = sys.argv[1]
for d in ("imagesTr", "labelsTr", "imagesTs"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
aff = np.array([[-0.7, 0, 0, 180.0], [0, -0.7, 0, 150.0], [0, 0, 2.5, -300.0], [0, 0, 0, 1]])
rng = np.random.default_rng(0)
training = []
for i, case in enumerate(["pancreas_004", "pancreas_005"]):
    img = rng.integers(-1000, 1000, size=(9, 8, 5)).astype(np.int16)
    lab = (np.arange(9 * 8 * 5).reshape(9, 8, 5) % (3 + int(sys.argv[2]) * i)).astype(np.uint8)
    nib.save(nib.Nifti1Image(img, aff), os.path.join(root, "imagesTr", case + ".nii.gz"))
    nib.save(nib.Nifti1Image(lab, aff), os.path.join(root, "labelsTr", case + ".nii.gz"))
    training.append({"image": "./imagesTr/%s.nii.gz" % case, "label": "./labelsTr/%s.nii.gz" % case})
nib.save(nib.Nifti1Image(np.zeros((9, 8, 5), np.int16), aff), os.path.join(root, "imagesTs", "pancreas_010.nii.gz"))
open(os.path.join(root, "imagesTr", "._pancreas_004.nii.gz"), "wb").write(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
json.dump({"name": "Pancreas", "tensorImageSize": "3D", "modality": {"0": "CT"},
           "labels": {"0": "background", "1": "pancreas", "2": "cancer"}, "numTraining": 2, "numTest": 1,
           "training": training, "test": ["./imagesTs/pancreas_010.nii.gz"]}, open(os.path.join(root, "dataset.json"), "w"), indent=4)
)";

bool write_with_nibabel(const std::string& root, bool bad_label) {
  medssl::testkit::write_text(root + ".py", kWriter);
  auto r = medssl::testkit::run_command(std::string(MEDSSL_PYTHON) + " " + medssl::testkit::shell_quote(root + ".py") +
                                        " " + medssl::testkit::shell_quote(root) + (bad_label ? " 2" : " 0"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0;
}

}  // namespace

TEST(MsdNibabel, ReadsAndChecksNibabelWrittenTask) {
  if (!medssl::testkit::python_has("nibabel numpy")) GTEST_SKIP() << "python3-nibabel not installed";
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("Task07_Pancreas");
  ASSERT_TRUE(write_with_nibabel(root, false));
  medssl::data::OpenOptions options;
  options.check_headers = true;
  auto index = medssl::data::open_dataset(root, options);
  EXPECT_EQ(index.layout, "msd");
  ASSERT_EQ(index.training.size(), 2u);
  EXPECT_EQ(index.training[1].id, "pancreas_005");
  EXPECT_EQ(index.all_images().size(), 3u);
}

TEST(MsdNibabel, FindsOutOfRangeLabelValue) {
  if (!medssl::testkit::python_has("nibabel numpy")) GTEST_SKIP() << "python3-nibabel not installed";
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("Task07_Pancreas");
  ASSERT_TRUE(write_with_nibabel(root, true));  // second case has labels 0..4
  medssl::data::OpenOptions options;
  options.check_headers = true;
  EXPECT_THAT(error_of([&] { medssl::data::open_dataset(root, options); }),
              HasSubstr(root + "/labelsTr/pancreas_005.nii.gz: label map holds value(s) 3, 4"));
}
