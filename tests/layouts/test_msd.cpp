// Medical Segmentation Decathlon reader, on a Task07_Pancreas-shaped folder written by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using medssl::data::read_msd;
using testing::HasSubstr;

namespace {

// The dataset.json of Task07_Pancreas as distributed (same keys, order and "./" paths), shortened to three cases.
const char* kPancreasJson = R"({
"name": "Pancreas",
"description": "Pancreas and cancer segmentation",
"reference": "Memorial Sloan Kettering Cancer Center",
"licence":"CC-BY-SA 4.0",
"relase":"1.0 04/05/2018",
"tensorImageSize": "3D",
"modality": {
   "0": "CT"
 },
 "labels": {
   "0": "background",
   "1": "pancreas",
   "2": "cancer"
 },
 "numTraining": 2,
 "numTest": 1,
 "training":[{"image":"./imagesTr/pancreas_290.nii.gz","label":"./labelsTr/pancreas_290.nii.gz"},{"image":"./imagesTr/pancreas_001.nii.gz","label":"./labelsTr/pancreas_001.nii.gz"}],
 "test": ["./imagesTs/pancreas_309.nii.gz"]
}
)";

void write_pancreas(const std::string& root, const std::string& json = kPancreasJson) {
  write_file(root + "/dataset.json", json);
  for (const char* id : {"pancreas_290", "pancreas_001"}) {
    write_volume(root + "/imagesTr/" + id + ".nii.gz", make_volume({6, 5, 4}, 1, 7));
    write_volume(root + "/labelsTr/" + id + ".nii.gz", make_volume({6, 5, 4}, 1, 3), true);
  }
  write_volume(root + "/imagesTs/pancreas_309.nii.gz", make_volume());
  // The MSD archives carry macOS resource forks next to the real files; they are not NIfTI at all.
  write_file(root + "/imagesTr/._pancreas_001.nii.gz", std::string("\x00\x05\x16\x07junk", 8));
  write_file(root + "/labelsTr/._pancreas_001.nii.gz", std::string("\x00\x05\x16\x07junk", 8));
}

}  // namespace

TEST(Msd, ReadsPancreasLayout) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("Task07_Pancreas");
  write_pancreas(root);
  for (bool check_headers : {false, true}) {
    medssl::data::OpenOptions options;
    options.check_headers = check_headers;
    auto index = read_msd(root, options);
    EXPECT_EQ(index.layout, "msd");
    EXPECT_EQ(index.root, root);
    EXPECT_EQ(index.name, "Pancreas");
    EXPECT_EQ(index.spatial_dims, 3);
    EXPECT_EQ(index.file_ending, ".nii.gz");
    EXPECT_EQ(index.channel_names, (std::vector<std::string>{"CT"}));
    EXPECT_EQ(index.labels, (std::map<int, std::string>{{0, "background"}, {1, "pancreas"}, {2, "cancer"}}));
    EXPECT_EQ(index.num_classes(), 3);
    EXPECT_EQ(index.num_channels(), 1);
    ASSERT_EQ(index.training.size(), 2u);  // in dataset.json order; the "._" files are not listed, so never read
    EXPECT_EQ(index.training[0].id, "pancreas_290");
    EXPECT_EQ(index.training[0].images, (std::vector<std::string>{root + "/imagesTr/pancreas_290.nii.gz"}));
    EXPECT_EQ(index.training[0].label, root + "/labelsTr/pancreas_290.nii.gz");
    EXPECT_EQ(index.training[1].id, "pancreas_001");
    ASSERT_EQ(index.test.size(), 1u);
    EXPECT_EQ(index.test[0].id, "pancreas_309");
    EXPECT_EQ(index.test[0].label, "");
    EXPECT_TRUE(index.unlabelled.empty());
    EXPECT_EQ(index.all_images(), (std::vector<std::string>{root + "/imagesTr/pancreas_290.nii.gz",
                                                            root + "/imagesTr/pancreas_001.nii.gz",
                                                            root + "/imagesTs/pancreas_309.nii.gz"}));
  }
}

TEST(Msd, NormalisesRootAndAcceptsPathsWithoutDotSlash) {
  medssl::testkit::TempDir dir;
  std::string json = kPancreasJson;
  for (size_t at; (at = json.find("\"./")) != std::string::npos;) json.replace(at, 3, "\"");
  write_pancreas(dir.file("T"), json);
  auto index = read_msd(dir.file("T") + "/./");
  EXPECT_EQ(index.root, dir.file("T"));
  EXPECT_EQ(index.training[1].label, dir.file("T") + "/labelsTr/pancreas_001.nii.gz");
}

TEST(Msd, MultiModalFourDimensionalImage) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("Task01_BrainTumour");
  write_file(root + "/dataset.json", R"({"name": "BRATS", "modality": {"0": "FLAIR", "1": "T1w", "2": "t1gd",
    "3": "T2w"}, "labels": {"0": "background", "1": "edema", "2": "non-enhancing tumor", "3": "enhancing tumour"},
    "numTraining": 1, "training": [{"image": "./imagesTr/BRATS_001.nii.gz", "label": "./labelsTr/BRATS_001.nii.gz"}],
    "test": []})");
  write_volume(root + "/imagesTr/BRATS_001.nii.gz", make_volume({6, 5, 4}, 4));
  write_volume(root + "/labelsTr/BRATS_001.nii.gz", make_volume({6, 5, 4}, 1, 4), true);
  medssl::data::OpenOptions options;
  options.check_headers = true;
  auto index = read_msd(root, options);
  EXPECT_EQ(index.num_channels(), 4);
  EXPECT_EQ(index.channel_names[3], "T2w");
  ASSERT_EQ(index.training.size(), 1u);
  EXPECT_EQ(index.training[0].images.size(), 1u);  // one 4D file holds all channels
  EXPECT_EQ(index.num_classes(), 4);
}

TEST(Msd, NumTrainingMismatchOnlyWarns) {
  medssl::testkit::TempDir dir;
  std::string json = kPancreasJson;
  json.replace(json.find("\"numTraining\": 2"), 16, "\"numTraining\": 5");
  write_pancreas(dir.file("T"), json);
  EXPECT_EQ(read_msd(dir.file("T")).training.size(), 2u);
}

TEST(Msd, MissingListedFilesNameTheEntryAndPath) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("T");
  write_pancreas(root);
  std::filesystem::remove(root + "/labelsTr/pancreas_001.nii.gz");
  std::string message = error_of([&] { read_msd(root); });
  EXPECT_THAT(message, HasSubstr(root + "/dataset.json: training[1].label './labelsTr/pancreas_001.nii.gz' does not "
                                        "exist"));
  EXPECT_THAT(message, HasSubstr(root + "/labelsTr/pancreas_001.nii.gz"));
  write_pancreas(root);
  std::filesystem::remove(root + "/imagesTs/pancreas_309.nii.gz");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr("test[0] './imagesTs/pancreas_309.nii.gz' does not exist"));
}

TEST(Msd, InvalidJsonGivesPosition) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("T");
  write_pancreas(root, "{\n  \"name\": \"x\",\n  \"labels\": {\"0\" \"background\"}\n}\n");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr(root + "/dataset.json:3:"));
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr("not valid JSON"));
}

TEST(Msd, MissingKeysAndWrongTypes) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("T");
  const std::string file = root + "/dataset.json";
  write_pancreas(root, R"({"modality": {"0": "CT"}, "labels": {"0": "background"}})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr(file + ": missing required key 'training'"));
  write_file(file, R"({"modality": {"0": "CT"}, "training": []})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr(file + ": missing required key 'labels'"));
  write_file(file, R"({"modality": {"0": "CT"}, "labels": {"0": "background"}, "training": {}})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr(file + ": 'training' must be an array, found object"));
  write_file(file, R"({"modality": {"0": "CT"}, "labels": {"zero": "background"}, "training": []})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr("'labels' key 'zero' is not a non-negative integer"));
  write_file(file, R"({"modality": {"1": "CT"}, "labels": {"0": "background"}, "training": []})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr("'modality' must number its entries 0..0"));
  write_file(file, R"({"modality": {"0": "CT"}, "labels": {"0": "background"},
                       "training": [{"image": "./imagesTr/pancreas_001.nii.gz"}]})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr("training[0]: missing required key 'label'"));
  write_file(file, R"({"modality": {"0": "CT"}, "labels": {"0": "background"}, "numTraining": "2",
                       "training": [{"image": 7, "label": "./labelsTr/pancreas_001.nii.gz"}]})");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr("training[0].image must be a string, found integer"));
  write_file(file, "[1, 2]");
  EXPECT_THAT(error_of([&] { read_msd(root); }), HasSubstr(file + ": the top level must be a JSON object"));
}

TEST(Msd, DuplicateCaseIds) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("T");
  write_pancreas(root);
  std::string json = kPancreasJson;
  json.replace(json.find("\"./imagesTs/pancreas_309.nii.gz\""), 32, "\"./imagesTr/pancreas_001.nii.gz\"");
  write_file(root + "/dataset.json", json);
  EXPECT_THAT(error_of([&] { read_msd(root); }),
              HasSubstr(root + "/dataset.json: case id 'pancreas_001' appears twice (in training and in test)"));
}
