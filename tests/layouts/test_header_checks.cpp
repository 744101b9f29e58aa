// OpenOptions::check_headers: image/label shape and affine agreement, channel counts, label values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using medssl::data::read_msd;
using medssl::data::read_nnunet;
using testing::HasSubstr;

namespace {

medssl::data::OpenOptions checked() {
  medssl::data::OpenOptions options;
  options.check_headers = true;
  return options;
}

/// One-case MSD task with labels 0..2; the caller then overwrites a file to break it.
std::string write_task(const medssl::testkit::TempDir& dir, const std::string& modality = R"({"0": "CT"})") {
  const std::string root = dir.file("Task");
  write_file(root + "/dataset.json", R"({"name": "T", "modality": )" + modality + R"(,
    "labels": {"0": "background", "1": "pancreas", "2": "cancer"}, "numTraining": 1,
    "training": [{"image": "./imagesTr/case_1.nii.gz", "label": "./labelsTr/case_1.nii.gz"}]})");
  write_volume(root + "/imagesTr/case_1.nii.gz", make_volume());
  write_volume(root + "/labelsTr/case_1.nii.gz", make_volume({6, 5, 4}, 1, 3), true);
  return root;
}

}  // namespace

TEST(HeaderChecks, ConsistentTaskPasses) {
  medssl::testkit::TempDir dir;
  EXPECT_EQ(read_msd(write_task(dir), checked()).training.size(), 1u);
}

TEST(HeaderChecks, ShapeMismatchNamesLabelFile) {
  medssl::testkit::TempDir dir;
  const std::string root = write_task(dir);
  write_volume(root + "/labelsTr/case_1.nii.gz", make_volume({7, 5, 4}, 1, 3), true);
  EXPECT_NO_THROW(read_msd(root));  // only checked on request
  std::string message = error_of([&] { read_msd(root, checked()); });
  EXPECT_THAT(message, HasSubstr(root + "/labelsTr/case_1.nii.gz: shape 4x5x7 does not match 4x5x6 of '" + root +
                                 "/imagesTr/case_1.nii.gz' (case 'case_1')"));
}

TEST(HeaderChecks, AffineMismatchNamesLabelFile) {
  medssl::testkit::TempDir dir;
  const std::string root = write_task(dir);
  auto label = make_volume({6, 5, 4}, 1, 3);
  label.affine[0][3] = 5.0;  // shifted 5 mm along x
  write_volume(root + "/labelsTr/case_1.nii.gz", label, true);
  std::string message = error_of([&] { read_msd(root, checked()); });
  EXPECT_THAT(message, HasSubstr(root + "/labelsTr/case_1.nii.gz: affine"));
  EXPECT_THAT(message, HasSubstr("does not match"));
  // Differences within the relative tolerance (1e-3) are rounding, not a mismatch.
  label.affine[0][3] = 0.0;
  label.affine[0][0] = 1.0 + 1e-5;
  write_volume(root + "/labelsTr/case_1.nii.gz", label, true);
  EXPECT_NO_THROW(read_msd(root, checked()));
}

TEST(HeaderChecks, LabelValueOutsideLabelsNamesFileAndValue) {
  medssl::testkit::TempDir dir;
  const std::string root = write_task(dir);
  write_volume(root + "/labelsTr/case_1.nii.gz", make_volume({6, 5, 4}, 1, 4), true);  // values 0..3
  EXPECT_THAT(error_of([&] { read_msd(root, checked()); }),
              HasSubstr(root + "/labelsTr/case_1.nii.gz: label map holds value(s) 3 that are not among the declared "
                               "labels (0, 1, 2)"));
}

TEST(HeaderChecks, ChannelCountMustMatchModality) {
  medssl::testkit::TempDir dir;
  const std::string root = write_task(dir, R"({"0": "T1", "1": "T2"})");
  EXPECT_THAT(error_of([&] { read_msd(root, checked()); }),
              HasSubstr(root + "/imagesTr/case_1.nii.gz: case 'case_1' has 1 image channel(s) but the data set "
                               "declares 2"));
}

TEST(HeaderChecks, LabelWithSeveralChannelsIsRejected) {
  medssl::testkit::TempDir dir;
  const std::string root = write_task(dir);
  write_volume(root + "/labelsTr/case_1.nii.gz", make_volume({6, 5, 4}, 2, 3), true);
  EXPECT_THAT(error_of([&] { read_msd(root, checked()); }),
              HasSubstr(root + "/labelsTr/case_1.nii.gz: a label map must have one channel, found 2"));
}

TEST(HeaderChecks, NnUnetChannelFilesMustAgree) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  write_file(root + "/dataset.json", R"({"channel_names": {"0": "T2", "1": "ADC"},
    "labels": {"background": 0, "lesion": 1}, "numTraining": 1, "file_ending": ".nii.gz"})");
  write_volume(root + "/imagesTr/p_0000.nii.gz", make_volume());
  write_volume(root + "/imagesTr/p_0001.nii.gz", make_volume({6, 4, 4}));
  write_volume(root + "/labelsTr/p.nii.gz", make_volume({6, 5, 4}, 1, 2), true);
  EXPECT_THAT(error_of([&] { read_nnunet(root, checked()); }),
              HasSubstr(root + "/imagesTr/p_0001.nii.gz: shape 4x4x6 does not match 4x5x6"));
}

TEST(HeaderChecks, PngLabelValues) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  write_file(root + "/dataset.json", R"({"channel_names": {"0": "grey"},
    "labels": {"background": 0, "vessel": 1}, "numTraining": 1, "file_ending": ".png"})");
  write_picture(root + "/imagesTr/a_0000.png", 8, 10, 1);
  write_picture(root + "/labelsTr/a.png", 8, 10, 1, 3);  // values 0, 1, 2
  EXPECT_THAT(error_of([&] { read_nnunet(root, checked()); }),
              HasSubstr(root + "/labelsTr/a.png: label map holds value(s) 2"));
  write_picture(root + "/labelsTr/a.png", 8, 9, 1, 2);
  EXPECT_THAT(error_of([&] { read_nnunet(root, checked()); }), HasSubstr(root + "/labelsTr/a.png: shape 8x9"));
}
