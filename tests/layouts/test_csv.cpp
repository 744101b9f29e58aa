// The RFC-4180 CSV reader in medssl_io (used by the APTOS reader, hence tested with the layouts).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layout_fixtures.h"
#include "medssl/io/csv.h"

using medssl::io::CsvTable;
using medssl::io::parse_csv;
using medssl::layout_test::error_of;
using testing::HasSubstr;

TEST(Csv, ReadsHeaderRowsAndLineNumbers) {
  CsvTable t = parse_csv("id_code,diagnosis\na,0\n\nb,4\n", "x.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"id_code", "diagnosis"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"b", "4"}));
  EXPECT_EQ(t.row_lines, (std::vector<int>{2, 4}));  // the blank line 3 is skipped but counted
  EXPECT_EQ(t.where(1), "x.csv:4");
  EXPECT_EQ(t.column("diagnosis"), 1);
  EXPECT_EQ(t.column("level"), -1);
}

TEST(Csv, QuotedFieldsWithCommasQuotesAndLineBreaks) {
  CsvTable t = parse_csv("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",\"\"\nlast,row\n", "q.csv");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][0], "x,y");
  EXPECT_EQ(t.rows[0][1], "say \"hi\"");
  EXPECT_EQ(t.rows[1][0], "two\nlines");
  EXPECT_EQ(t.rows[1][1], "");
  EXPECT_EQ(t.row_lines, (std::vector<int>{2, 3, 5}));  // the embedded line break moves the next row down
}

TEST(Csv, CrlfBomAndMissingFinalNewline) {
  CsvTable t = parse_csv("\xEF\xBB\xBFid_code,diagnosis\r\nab12,2\r\ncd34,3", "w.csv");
  EXPECT_EQ(t.header[0], "id_code");  // BOM removed
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "2");  // no stray \r
  EXPECT_EQ(t.rows[1][0], "cd34");
  EXPECT_EQ(t.rows[1][1], "3");
  EXPECT_EQ(t.row_lines[1], 3);
}

TEST(Csv, EmptyTrailingField) {
  CsvTable t = parse_csv("a,b\nx,\n", "e.csv");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"x", ""}));
}

TEST(Csv, ErrorsNameFileAndLine) {
  EXPECT_THAT(error_of([] { parse_csv("a,b\n1,2\n3\n", "f.csv"); }),
              HasSubstr("f.csv:3: row has 1 field(s) but the header has 2"));
  EXPECT_THAT(error_of([] { parse_csv("a,b\n1,2\n\"open,3\n4,5\n", "f.csv"); }),
              HasSubstr("f.csv:3: quoted field is never closed"));
  EXPECT_THAT(error_of([] { parse_csv("a,b\n\"x\"y,2\n", "f.csv"); }), HasSubstr("f.csv:2: unexpected character 'y'"));
  EXPECT_THAT(error_of([] { parse_csv("a,b\nx\"y,2\n", "f.csv"); }), HasSubstr("f.csv:2: quote inside an unquoted"));
  EXPECT_THAT(error_of([] { parse_csv("", "f.csv"); }), HasSubstr("f.csv: CSV file is empty"));
  EXPECT_THAT(error_of([] { parse_csv("a,b,a\n", "f.csv"); }), HasSubstr("f.csv:1: column 'a' appears twice"));
}

TEST(Csv, RequireColumnListsColumnsPresent) {
  CsvTable t = parse_csv("id_code,level\nx,1\n", "g.csv");
  EXPECT_THAT(error_of([&] { t.require_column("diagnosis"); }),
              HasSubstr("g.csv:1: missing column 'diagnosis' (columns present: 'id_code', 'level')"));
}

TEST(Csv, ReadCsvFromFileAndMissingFile) {
  medssl::testkit::TempDir dir;
  medssl::testkit::write_text(dir.file("t.csv"), "k,v\r\n\"a\"\"b\",1\r\n");
  CsvTable t = medssl::io::read_csv(dir.file("t.csv"));
  EXPECT_EQ(t.source, dir.file("t.csv"));
  EXPECT_EQ(t.rows.at(0).at(0), "a\"b");
  EXPECT_THAT(error_of([&] { medssl::io::read_csv(dir.file("missing.csv")); }),
              HasSubstr("cannot open CSV file '" + dir.file("missing.csv") + "'"));
}

TEST(Csv, QuoteRoundTrip) {
  std::vector<std::string> fields = {"plain", "with,comma", "with \"quote\"", "two\nlines", " padded ", ""};
  EXPECT_EQ(medssl::io::csv_quote("plain"), "plain");
  EXPECT_EQ(medssl::io::csv_quote("a\"b"), "\"a\"\"b\"");
  CsvTable t = parse_csv("a,b,c,d,e,f\n" + medssl::io::csv_row(fields) + "\n", "r.csv");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], fields);
}
