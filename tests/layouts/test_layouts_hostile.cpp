// Hostile dataset.json and CSV files (docs/reliability.md): each gives one medssl::Error naming the file, never a
// stack overflow or a library exception; and what medssl writes as CSV it reads back.
#include <gtest/gtest.h>

#include <string>

#include "layout_fixtures.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/io/csv.h"

namespace medssl {
namespace {

using testkit::error_of;

TEST(LayoutsHostile, DeeplyNestedDatasetJsonIsRefused) {
  testkit::TempDir dir;
  const int depth = 200000;
  layout_test::write_file(dir.file("ds/dataset.json"),
                          "{\"training\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
  const std::string msg = error_of([&] { data::open_dataset(dir.file("ds")); });
  EXPECT_NE(msg.find("dataset.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nested"), std::string::npos) << msg;
}

TEST(LayoutsHostile, NumbersNoDoubleHoldsAreNamed) {
  // Found by fuzz_dataset_json: nlohmann reports 4e444 as out_of_range (not parse_error), which escaped as a
  // library exception with no file name.
  testkit::TempDir dir;
  layout_test::write_file(dir.file("ds/dataset.json"), R"({"training": [], "numTraining": 4444444444444E44444})");
  const std::string msg = error_of([&] { data::open_dataset(dir.file("ds")); });
  EXPECT_NE(msg.find("dataset.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

TEST(LayoutsHostile, WrongTypesInDatasetJsonNameTheKey) {
  testkit::TempDir dir;
  const std::string root = dir.file("ds");
  for (const auto& [text, fragment] : std::vector<std::pair<std::string, std::string>>{
           {R"({"training": [], "modality": ["CT"], "labels": {"0": "bg"}})", "modality"},
           {R"({"channel_names": {"0": "CT"}, "labels": {"background": 0}, "numTraining": "2", "file_ending": ".nii.gz"})",
            "numTraining"},
           {R"({"channel_names": {"0": "CT"}, "labels": {"background": 1.5}, "numTraining": 0, "file_ending": ".png"})",
            "background"},
           {R"({"channel_names": {"99999999999": "CT"}, "labels": {"background": 0}})", "channel_names"},
       }) {
    layout_test::write_file(root + "/dataset.json", text);
    const std::string msg = error_of([&] { data::open_dataset(root); });
    EXPECT_NE(msg.find("dataset.json"), std::string::npos) << text << "\n" << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << text << "\n" << msg;
  }
}

TEST(LayoutsHostile, CsvRowOfOneEmptyFieldRoundTrips) {
  // csv_row({""}) used to give an empty line, which the reader skips as blank: the record was lost.
  const io::CsvTable t = io::parse_csv("note\n" + io::csv_row({""}) + "\n" + io::csv_row({"x"}) + "\n", "one.csv");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], std::vector<std::string>{""});
  EXPECT_EQ(t.rows[1], std::vector<std::string>{"x"});
}

TEST(LayoutsHostile, CsvFieldStartingWithAByteOrderMarkRoundTrips) {
  // Found by fuzz_aptos_csv: a header field "\xEF\xBB\xBF" written unquoted at the start of a file was read back as
  // the file's byte-order mark and dropped.
  const std::string bom = "\xEF\xBB\xBF";
  const io::CsvTable t = io::parse_csv(io::csv_row({bom, "b"}) + "\n" + io::csv_row({"1", bom + "x"}) + "\n", "bom.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{bom, "b"}));
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0][1], bom + "x");
}

TEST(LayoutsHostile, BinaryAndHugeCsvFieldsAreReadOrNamed) {
  const std::string binary = std::string("id_code,diagnosis\n", 18) + std::string("a\0b", 3) + ",1\n";
  const io::CsvTable t = io::parse_csv(binary, "bin.csv");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0][0], std::string("a\0b", 3));
  const std::string msg = error_of([] { io::parse_csv("a,b\n\"" + std::string(1 << 20, 'x'), "open.csv"); });
  EXPECT_NE(msg.find("open.csv:2"), std::string::npos) << msg;
}

}  // namespace
}  // namespace medssl
