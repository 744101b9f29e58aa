// Layout detection by open_dataset.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using medssl::data::open_dataset;
using testing::HasSubstr;

namespace {

void write_msd(const std::string& root) {
  write_file(root + "/dataset.json", R"({"name": "Spleen", "modality": {"0": "CT"},
    "labels": {"0": "background", "1": "spleen"}, "numTraining": 1,
    "training": [{"image": "./imagesTr/spleen_2.nii.gz", "label": "./labelsTr/spleen_2.nii.gz"}], "test": []})");
  write_volume(root + "/imagesTr/spleen_2.nii.gz", make_volume());
  write_volume(root + "/labelsTr/spleen_2.nii.gz", make_volume({6, 5, 4}, 1, 2), true);
}

void write_nnunet(const std::string& root) {
  write_file(root + "/dataset.json", R"({"channel_names": {"0": "CT"}, "labels": {"background": 0, "spleen": 1},
    "numTraining": 1, "file_ending": ".nii.gz"})");
  write_volume(root + "/imagesTr/spleen_2_0000.nii.gz", make_volume());
  write_volume(root + "/labelsTr/spleen_2.nii.gz", make_volume({6, 5, 4}, 1, 2), true);
}

}  // namespace

TEST(OpenDataset, DetectsEachLayout) {
  medssl::testkit::TempDir dir;
  write_msd(dir.file("msd"));
  write_nnunet(dir.file("nnunet"));
  write_file(dir.file("aptos") + "/train.csv", "id_code,diagnosis\nx,3\n");
  write_picture(dir.file("aptos") + "/train_images/x.png");
  write_volume(dir.file("folder") + "/scan.nii.gz", make_volume());
  EXPECT_EQ(open_dataset(dir.file("msd")).layout, "msd");
  EXPECT_EQ(open_dataset(dir.file("nnunet")).layout, "nnunet");
  EXPECT_EQ(open_dataset(dir.file("aptos")).layout, "aptos");
  EXPECT_EQ(open_dataset(dir.file("aptos")).training.at(0).grade, 3);
  EXPECT_EQ(open_dataset(dir.file("folder")).layout, "folder");
  // A dataset.json or train.csv path stands for its folder.
  auto via_json = open_dataset(dir.file("nnunet") + "/dataset.json");
  EXPECT_EQ(via_json.layout, "nnunet");
  EXPECT_EQ(via_json.root, dir.file("nnunet"));
  EXPECT_EQ(open_dataset(dir.file("aptos") + "/train.csv").layout, "aptos");
}

TEST(OpenDataset, PassesOptionsThrough) {
  medssl::testkit::TempDir dir;
  write_msd(dir.file("msd"));
  write_volume(dir.file("msd") + "/labelsTr/spleen_2.nii.gz", make_volume({6, 5, 4}, 1, 4), true);  // value 3
  EXPECT_NO_THROW(open_dataset(dir.file("msd")));
  medssl::data::OpenOptions options;
  options.check_headers = true;
  EXPECT_THAT(error_of([&] { open_dataset(dir.file("msd"), options); }), HasSubstr("spleen_2.nii.gz"));
}

TEST(OpenDataset, ErrorsNameThePath) {
  medssl::testkit::TempDir dir;
  EXPECT_THAT(error_of([&] { open_dataset(dir.file("missing")); }),
              HasSubstr("data set path '" + dir.file("missing") + "' does not exist"));
  write_file(dir.file("odd") + "/dataset.json", R"({"name": "x", "labels": {}})");
  EXPECT_THAT(error_of([&] { open_dataset(dir.file("odd")); }),
              HasSubstr(dir.file("odd") + "/dataset.json: neither an nnU-Net dataset.json"));
  write_file(dir.file("bad") + "/dataset.json", "{\"training\": [,]}");
  EXPECT_THAT(error_of([&] { open_dataset(dir.file("bad")); }), HasSubstr(dir.file("bad") + "/dataset.json:1:"));
  write_file(dir.file("file.txt"), "x");
  EXPECT_THAT(error_of([&] { open_dataset(dir.file("file.txt")); }),
              HasSubstr("data set path '" + dir.file("file.txt") + "' is a file"));
}
