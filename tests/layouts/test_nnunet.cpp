// nnU-Net v2 raw reader, on hand-written DatasetXXX folders.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using medssl::data::read_nnunet;
using testing::HasSubstr;

namespace {

const char* kTwoChannelJson = R"({
  "channel_names": {"0": "T2", "1": "ADC"},
  "labels": {"background": 0, "PZ": 1, "TZ": 2},
  "numTraining": 3,
  "file_ending": ".nii.gz",
  "name": "Dataset005_Prostate"
})";

void write_two_channel(const std::string& root, const std::string& json = kTwoChannelJson) {
  write_file(root + "/dataset.json", json);
  for (const char* id : {"prostate_02", "prostate_00", "prostate_01"}) {
    for (int c = 0; c < 2; ++c)
      write_volume(root + "/imagesTr/" + id + "_000" + std::to_string(c) + ".nii.gz", make_volume());
    write_volume(root + "/labelsTr/" + std::string(id) + ".nii.gz", make_volume({6, 5, 4}, 1, 3), true);
  }
  for (int c = 0; c < 2; ++c)
    write_volume(root + "/imagesTs/prostate_10_000" + std::to_string(c) + ".nii.gz", make_volume());
  write_file(root + "/imagesTr/._prostate_00_0000.nii.gz", "junk");  // macOS resource fork: skipped
  write_file(root + "/imagesTr/README.txt", "not an image");          // other endings: ignored
}

}  // namespace

TEST(NnUnet, ReadsTwoChannelDataset) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("Dataset005_Prostate");
  write_two_channel(root);
  for (bool check_headers : {false, true}) {
    medssl::data::OpenOptions options;
    options.check_headers = check_headers;
    auto index = read_nnunet(root, options);
    EXPECT_EQ(index.layout, "nnunet");
    EXPECT_EQ(index.name, "Dataset005_Prostate");
    EXPECT_EQ(index.spatial_dims, 3);
    EXPECT_EQ(index.file_ending, ".nii.gz");
    EXPECT_EQ(index.channel_names, (std::vector<std::string>{"T2", "ADC"}));
    EXPECT_EQ(index.labels, (std::map<int, std::string>{{0, "background"}, {1, "PZ"}, {2, "TZ"}}));
    EXPECT_EQ(index.num_classes(), 3);
    ASSERT_EQ(index.training.size(), 3u);  // sorted by case id
    EXPECT_EQ(index.training[0].id, "prostate_00");
    EXPECT_EQ(index.training[2].id, "prostate_02");
    EXPECT_EQ(index.training[1].images, (std::vector<std::string>{root + "/imagesTr/prostate_01_0000.nii.gz",
                                                                  root + "/imagesTr/prostate_01_0001.nii.gz"}));
    EXPECT_EQ(index.training[1].label, root + "/labelsTr/prostate_01.nii.gz");
    ASSERT_EQ(index.test.size(), 1u);
    EXPECT_EQ(index.test[0].id, "prostate_10");
    EXPECT_EQ(index.test[0].images.size(), 2u);
    EXPECT_EQ(index.all_images().size(), 8u);
  }
}

TEST(NnUnet, MissingChannelNamesCaseAndChannel) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  write_two_channel(root);
  std::filesystem::remove(root + "/imagesTr/prostate_01_0001.nii.gz");
  std::string message = error_of([&] { read_nnunet(root); });
  EXPECT_THAT(message, HasSubstr("case 'prostate_01' is missing channel 0001 ('ADC')"));
  EXPECT_THAT(message, HasSubstr(root + "/imagesTr/prostate_01_0001.nii.gz"));
}

TEST(NnUnet, MissingLabelNamesCaseAndPath) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  write_two_channel(root);
  std::filesystem::remove(root + "/labelsTr/prostate_02.nii.gz");
  EXPECT_THAT(error_of([&] { read_nnunet(root); }),
              HasSubstr("case 'prostate_02' has no label map (expected " + root + "/labelsTr/prostate_02.nii.gz)"));
}

TEST(NnUnet, NumTrainingMismatchIsAnError) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  std::string json = kTwoChannelJson;
  json.replace(json.find("\"numTraining\": 3"), 16, "\"numTraining\": 4");
  write_two_channel(root, json);
  EXPECT_THAT(error_of([&] { read_nnunet(root); }),
              HasSubstr(root + "/dataset.json: numTraining is 4 but " + root + "/imagesTr holds 3 case(s)"));
}

TEST(NnUnet, LabelDictionaryErrors) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  write_two_channel(root);
  const std::string file = root + "/dataset.json";
  auto with_labels = [&](const std::string& labels) {
    write_file(file, R"({"channel_names": {"0": "T2", "1": "ADC"}, "numTraining": 3, "file_ending": ".nii.gz",
                         "labels": )" + labels + "}");
  };
  with_labels(R"({"background": 0, "whole": [1, 2], "core": 2})");
  EXPECT_THAT(error_of([&] { read_nnunet(root); }),
              HasSubstr(file + ": 'labels' entry \"whole\" is a list of values ([1,2]): region-based labels"));
  with_labels(R"({"background": 0, "a": 1, "b": 1})");
  EXPECT_THAT(error_of([&] { read_nnunet(root); }), HasSubstr("labels \"a\" and \"b\" both have value 1"));
  with_labels(R"({"background": 0, "a": "1"})");
  EXPECT_THAT(error_of([&] { read_nnunet(root); }), HasSubstr("'labels' entry \"a\" must be an integer, found string"));
  with_labels(R"({"a": 1})");
  EXPECT_THAT(error_of([&] { read_nnunet(root); }), HasSubstr("background the value 0"));
  write_file(file, R"({"channel_names": {"0": "T2", "1": "ADC"}, "labels": {"background": 0}, "numTraining": 3})");
  EXPECT_THAT(error_of([&] { read_nnunet(root); }), HasSubstr(file + ": missing required key 'file_ending'"));
}

TEST(NnUnet, BadFileNamesAndUnexpectedChannels) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("D");
  write_two_channel(root);
  write_volume(root + "/imagesTr/prostate_03.nii.gz", make_volume());
  EXPECT_THAT(error_of([&] { read_nnunet(root); }),
              HasSubstr(root + "/imagesTr/prostate_03.nii.gz: nnU-Net image files must be named CASE_XXXX.nii.gz"));
  std::filesystem::remove(root + "/imagesTr/prostate_03.nii.gz");
  write_volume(root + "/imagesTr/prostate_00_0002.nii.gz", make_volume());
  EXPECT_THAT(error_of([&] { read_nnunet(root); }),
              HasSubstr("prostate_00_0002.nii.gz: channel 0002 but dataset.json 'channel_names' declares 2"));
}

TEST(NnUnet, TwoDimensionalPngDataset) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("Dataset120_Roads");
  // nnU-Net's natural-image convention: one RGB file per case (_0000.png) for channels R, G, B.
  write_file(root + "/dataset.json", R"({"channel_names": {"0": "R", "1": "G", "2": "B"},
      "labels": {"background": 0, "road": 1}, "numTraining": 2, "file_ending": ".png"})");
  for (const char* id : {"img_a", "img_b"}) {
    write_picture(root + "/imagesTr/" + id + "_0000.png", 8, 10, 3);
    write_picture(root + "/labelsTr/" + std::string(id) + ".png", 8, 10, 1, 2);
  }
  medssl::data::OpenOptions options;
  options.check_headers = true;
  auto index = read_nnunet(root, options);
  EXPECT_EQ(index.spatial_dims, 2);
  EXPECT_EQ(index.file_ending, ".png");
  EXPECT_EQ(index.num_channels(), 3);
  ASSERT_EQ(index.training.size(), 2u);
  EXPECT_EQ(index.training[0].images, (std::vector<std::string>{root + "/imagesTr/img_a_0000.png"}));
  EXPECT_EQ(index.training[1].label, root + "/labelsTr/img_b.png");
  EXPECT_TRUE(index.test.empty());  // imagesTs is optional
}
