// APTOS 2019 blindness detection (Kaggle) layout:
//   train.csv        id_code,diagnosis     (grade 0..4)
//   train_images/<id_code>.png
//   test.csv         id_code               (optional, with test_images/<id_code>.png)
// The competition ships PNGs; .jpg/.jpeg copies of the same names are accepted too.
#include <filesystem>
#include <map>

#include "medssl/core/error.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/layouts/header_checks.h"
#include "medssl/data/layouts/layout_common.h"
#include "medssl/io/csv.h"

namespace medssl::data {
namespace {

const std::map<int, std::string> kAptosGrades = {
    {0, "No DR"}, {1, "Mild"}, {2, "Moderate"}, {3, "Severe"}, {4, "Proliferative DR"}};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

/// The image of `id` in `folder` (.png first); throws naming the row, the id and the expected path.
std::string find_image(const std::string& folder, const std::string& id, const std::string& where) {
  for (const char* ending : {".png", ".jpg", ".jpeg"}) {
    std::string path = folder + "/" + id + ending;
    if (layout::is_regular_file(path)) return path;
  }
  fail("{}: no image for id_code '{}' (expected {}/{}.png)", where, id, folder, id);
}

int parse_grade(const std::string& text, const std::string& where) {
  const std::string t = trim(text);
  size_t used = 0;
  long value = -1;
  try {
    value = std::stol(t, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (t.empty() || used != t.size()) fail("{}: diagnosis '{}' is not an integer grade (expected 0..4)", where, text);
  if (value < 0 || value > 4) fail("{}: diagnosis {} is out of range (expected 0..4)", where, value);
  return static_cast<int>(value);
}

/// Reads the cases of one CSV; `with_grades` for train.csv. Ids must be non-empty and unique within the file.
std::vector<CaseRecord> read_aptos_csv(const std::string& csv_path, const std::string& image_folder,
                                       bool with_grades) {
  const io::CsvTable table = io::read_csv(csv_path);
  const int id_column = table.require_column("id_code");
  const int grade_column = with_grades ? table.require_column("diagnosis") : -1;
  std::map<std::string, size_t> row_of_id;
  std::vector<CaseRecord> records;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const std::string where = table.where(r);
    CaseRecord record;
    record.id = trim(row[static_cast<size_t>(id_column)]);
    check(!record.id.empty(), "{}: empty id_code", where);
    auto [it, inserted] = row_of_id.emplace(record.id, r);
    if (!inserted) fail("{}: id_code '{}' appears twice (first at {})", where, record.id, table.where(it->second));
    if (with_grades) record.grade = parse_grade(row[static_cast<size_t>(grade_column)], where);
    record.images.push_back(find_image(image_folder, record.id, where));
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace

DatasetIndex read_aptos(const std::string& root_arg, const OpenOptions& options) {
  DatasetIndex index;
  index.root = layout::absolute_path(root_arg);
  index.layout = "aptos";
  layout::require_folder(index.root, "APTOS data set folder");
  const std::string train_csv = index.root + "/train.csv";
  check(layout::is_regular_file(train_csv), "APTOS data set '{}' has no train.csv", index.root);
  index.name = std::filesystem::path(index.root).filename().string();
  index.spatial_dims = 2;
  index.file_ending = ".png";
  index.channel_names = {"R", "G", "B"};  // colour fundus photographs
  index.labels = kAptosGrades;

  index.training = read_aptos_csv(train_csv, index.root + "/train_images", /*with_grades=*/true);
  check(!index.training.empty(), "{}: no rows after the header", train_csv);
  const std::string test_csv = index.root + "/test.csv";
  if (layout::is_regular_file(test_csv))
    index.test = read_aptos_csv(test_csv, index.root + "/test_images", /*with_grades=*/false);

  layout::check_unique_case_ids(index, index.root + "/{train,test}.csv");
  if (options.check_headers) layout::check_index_headers(index);
  return index;
}

}  // namespace medssl::data
