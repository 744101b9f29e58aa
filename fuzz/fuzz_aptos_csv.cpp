// libFuzzer target: the CSV parser and the APTOS 2019 reader. The input, up to its first NUL byte, is train.csv of a
// small APTOS data set on disk (fuzz_fixtures.h); what follows the NUL, if anything, is its test.csv. The whole input
// is also parsed as CSV text on its own.
#include <cstring>

#include "fuzz_fixtures.h"
#include "fuzz_support.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/io/csv.h"

namespace {
std::string g_root;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  g_root = medssl::fuzz::scratch_file("aptos");
  medssl::fuzz::write_aptos_fixture(g_root);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  fuzz::run_one([&] {
    const io::CsvTable table = io::parse_csv(std::string(input), "input.csv");
    fuzz::require(table.rows.size() == table.row_lines.size(), "a line per row");
    for (const auto& row : table.rows) fuzz::require(row.size() == table.header.size(), "rows as wide as the header");
    for (size_t r = 0; r < table.rows.size(); ++r) {
      // What a writer quotes, the parser reads back.
      const io::CsvTable back = io::parse_csv(io::csv_row(table.header) + "\n" + io::csv_row(table.rows[r]) + "\n",
                                              "back.csv");
      fuzz::require(back.header == table.header, "csv_row round trip of the header");
      fuzz::require(back.rows.size() == 1 && back.rows[0] == table.rows[r], "csv_row round trip of a row");
      if (r >= 8) break;
    }
  });
  const size_t nul = input.find('\0');
  fuzz::write_bytes(g_root + "/train.csv", input.substr(0, nul));
  std::error_code ec;
  if (nul != std::string_view::npos) fuzz::write_bytes(g_root + "/test.csv", input.substr(nul + 1));
  else std::filesystem::remove(g_root + "/test.csv", ec);
  fuzz::run_one([&] {
    const data::DatasetIndex index = data::open_dataset(g_root);
    fuzz::require(index.layout == "aptos", "train.csv makes an APTOS data set");
    for (const auto& c : index.training) fuzz::require(c.grade >= 0 && c.grade <= 4, "grades 0..4");
  });
  return 0;
}
