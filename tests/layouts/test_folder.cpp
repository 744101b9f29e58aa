// Plain image folders (unlabelled): NIfTI volumes or pictures, sorted, hidden files skipped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using medssl::data::read_image_folder;
using testing::HasSubstr;

TEST(Folder, NiftiVolumesSortedHiddenSkipped) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("scans");
  write_volume(root + "/b.nii.gz", make_volume());
  write_volume(root + "/a.nii", make_volume());
  write_volume(root + "/c.nii.gz", make_volume());
  write_file(root + "/._a.nii.gz", "macOS resource fork");
  write_file(root + "/.hidden.nii.gz", "hidden");
  write_file(root + "/notes.txt", "ignored");
  make_dirs(root + "/sub.nii.gz");  // a folder, not a file
  medssl::data::OpenOptions options;
  options.check_headers = true;
  auto index = read_image_folder(root, options);
  EXPECT_EQ(index.layout, "folder");
  EXPECT_EQ(index.name, "scans");
  EXPECT_EQ(index.spatial_dims, 3);
  EXPECT_EQ(index.file_ending, "");  // .nii and .nii.gz together
  EXPECT_TRUE(index.training.empty());
  EXPECT_TRUE(index.labels.empty());
  ASSERT_EQ(index.unlabelled.size(), 3u);
  EXPECT_EQ(index.unlabelled[0].id, "a");
  EXPECT_EQ(index.unlabelled[2].id, "c");
  EXPECT_EQ(index.all_images(),
            (std::vector<std::string>{root + "/a.nii", root + "/b.nii.gz", root + "/c.nii.gz"}));
}

TEST(Folder, Pictures) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("fundus");
  write_picture(root + "/img2.png");
  write_picture(root + "/img1.png", 6, 6, 1);
  write_file(root + "/.DS_Store", "x");
  auto index = read_image_folder(root);
  EXPECT_EQ(index.spatial_dims, 2);
  EXPECT_EQ(index.file_ending, ".png");
  ASSERT_EQ(index.unlabelled.size(), 2u);
  EXPECT_EQ(index.unlabelled[0].images, (std::vector<std::string>{root + "/img1.png"}));
}

TEST(Folder, MixingVolumesAndPicturesIsAnError) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("mixed");
  write_volume(root + "/a.nii.gz", make_volume());
  write_picture(root + "/b.png");
  EXPECT_THAT(error_of([&] { read_image_folder(root); }),
              HasSubstr("image folder '" + root + "' mixes NIfTI volumes and 2D pictures ('a.nii.gz' and 'b.png')"));
}

TEST(Folder, EmptyAndMissingFolders) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("empty");
  make_dirs(root);
  write_file(root + "/._x.nii.gz", "only junk");
  EXPECT_THAT(error_of([&] { read_image_folder(root); }), HasSubstr("image folder '" + root + "' holds no images"));
  EXPECT_THAT(error_of([&] { read_image_folder(dir.file("nope")); }),
              HasSubstr("image folder '" + dir.file("nope") + "' does not exist"));
}

TEST(Folder, DuplicateStems) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("dup");
  write_volume(root + "/a.nii", make_volume());
  write_volume(root + "/a.nii.gz", make_volume());
  EXPECT_THAT(error_of([&] { read_image_folder(root); }), HasSubstr("case id 'a' appears twice"));
}
