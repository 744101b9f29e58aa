// APTOS 2019 reader: train.csv + train_images/<id_code>.png, optional test.csv + test_images/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"

using namespace medssl::layout_test;
using medssl::data::read_aptos;
using testing::HasSubstr;

namespace {

void write_aptos(const std::string& root, const std::string& train_csv, const std::vector<std::string>& ids) {
  write_file(root + "/train.csv", train_csv);
  for (const auto& id : ids) write_picture(root + "/train_images/" + id + ".png");
}

}  // namespace

TEST(Aptos, ReadsTrainAndTest) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("aptos2019");
  // Written like Excel would: BOM, CRLF, a quoted id.
  write_aptos(root, "\xEF\xBB\xBFid_code,diagnosis\r\n000c1434d8d7,2\r\n\"001639a390f0\",4\r\n0024cdab0c1e,0\r\n",
              {"000c1434d8d7", "001639a390f0", "0024cdab0c1e"});
  write_file(root + "/test.csv", "id_code\n0005cfc8afb6\n");
  write_picture(root + "/test_images/0005cfc8afb6.png");
  for (bool check_headers : {false, true}) {
    medssl::data::OpenOptions options;
    options.check_headers = check_headers;
    auto index = read_aptos(root, options);
    EXPECT_EQ(index.layout, "aptos");
    EXPECT_EQ(index.spatial_dims, 2);
    EXPECT_EQ(index.num_classes(), 5);
    EXPECT_EQ(index.labels.at(0), "No DR");
    EXPECT_EQ(index.labels.at(4), "Proliferative DR");
    ASSERT_EQ(index.training.size(), 3u);  // in CSV order
    EXPECT_EQ(index.training[0].id, "000c1434d8d7");
    EXPECT_EQ(index.training[0].grade, 2);
    EXPECT_EQ(index.training[1].id, "001639a390f0");
    EXPECT_EQ(index.training[1].grade, 4);
    EXPECT_EQ(index.training[2].grade, 0);
    EXPECT_EQ(index.training[2].images, (std::vector<std::string>{root + "/train_images/0024cdab0c1e.png"}));
    EXPECT_EQ(index.training[2].label, "");
    ASSERT_EQ(index.test.size(), 1u);
    EXPECT_EQ(index.test[0].id, "0005cfc8afb6");
    EXPECT_EQ(index.test[0].grade, -1);
    EXPECT_EQ(index.test[0].images, (std::vector<std::string>{root + "/test_images/0005cfc8afb6.png"}));
    EXPECT_EQ(index.all_images().size(), 4u);
  }
}

TEST(Aptos, MissingColumn) {
  medssl::testkit::TempDir dir;
  write_aptos(dir.file("A"), "id_code,level\nabc,1\n", {"abc"});
  EXPECT_THAT(error_of([&] { read_aptos(dir.file("A")); }),
              HasSubstr(dir.file("A") + "/train.csv:1: missing column 'diagnosis'"));
}

TEST(Aptos, BadGradeNamesFileAndLine) {
  medssl::testkit::TempDir dir;
  const std::string csv = dir.file("A") + "/train.csv";
  write_aptos(dir.file("A"), "id_code,diagnosis\na,1\nb,two\n", {"a", "b"});
  EXPECT_THAT(error_of([&] { read_aptos(dir.file("A")); }),
              HasSubstr(csv + ":3: diagnosis 'two' is not an integer grade"));
  write_aptos(dir.file("A"), "id_code,diagnosis\na,1\n\nb,7\n", {"a", "b"});
  EXPECT_THAT(error_of([&] { read_aptos(dir.file("A")); }), HasSubstr(csv + ":4: diagnosis 7 is out of range"));
  write_aptos(dir.file("A"), "id_code,diagnosis\na,1.5\n", {"a"});
  EXPECT_THAT(error_of([&] { read_aptos(dir.file("A")); }), HasSubstr(csv + ":2: diagnosis '1.5' is not an integer"));
}

TEST(Aptos, RowWithoutImage) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("A");
  write_aptos(root, "id_code,diagnosis\na,1\nb,0\n", {"a"});
  EXPECT_THAT(error_of([&] { read_aptos(root); }),
              HasSubstr(root + "/train.csv:3: no image for id_code 'b' (expected " + root + "/train_images/b.png)"));
  write_file(root + "/test.csv", "id_code\nt1\n");
  write_picture(root + "/train_images/b.png");
  EXPECT_THAT(error_of([&] { read_aptos(root); }),
              HasSubstr("test.csv:2: no image for id_code 't1' (expected " + root + "/test_images/t1.png)"));
}

TEST(Aptos, DuplicateIds) {
  medssl::testkit::TempDir dir;
  const std::string root = dir.file("A");
  write_aptos(root, "id_code,diagnosis\na,1\nb,0\na,2\n", {"a", "b"});
  EXPECT_THAT(error_of([&] { read_aptos(root); }),
              HasSubstr(root + "/train.csv:4: id_code 'a' appears twice (first at " + root + "/train.csv:2)"));
}

TEST(Aptos, MissingTrainCsvAndEmptyCsv) {
  medssl::testkit::TempDir dir;
  make_dirs(dir.file("A"));
  EXPECT_THAT(error_of([&] { read_aptos(dir.file("A")); }), HasSubstr("has no train.csv"));
  write_aptos(dir.file("A"), "id_code,diagnosis\n", {});
  EXPECT_THAT(error_of([&] { read_aptos(dir.file("A")); }), HasSubstr("train.csv: no rows after the header"));
}
