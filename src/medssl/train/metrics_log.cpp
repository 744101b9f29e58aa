#include "medssl/train/metrics_log.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"

namespace medssl::train {

namespace {

std::string csv_cell(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  if (v.is_number()) return v.dump();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

MetricsLog::MetricsLog(std::string run_dir) : run_dir_(std::move(run_dir)) {}

std::string MetricsLog::csv_path() const { return run_dir_ + "/metrics.csv"; }
std::string MetricsLog::jsonl_path() const { return run_dir_ + "/metrics.jsonl"; }

std::vector<std::string> MetricsLog::header() const {
  std::vector<std::string> keys;
  for (const auto& row : rows_)
    for (const auto& item : row.items())
      if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) keys.push_back(item.key());
  return keys;
}

void MetricsLog::append(const nlohmann::ordered_json& row) {
  check(row.is_object(), "metrics row must be a JSON object, got {}", row.dump());
  rows_.push_back(row);
  write_files();
}

void MetricsLog::reload(int64_t max_epoch) {
  rows_.clear();
  if (run_dir_.empty() || !std::filesystem::exists(jsonl_path())) return;
  std::istringstream in(read_file(jsonl_path()));
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::ordered_json row;
    try {
      row = nlohmann::ordered_json::parse(line);
    } catch (const std::exception& e) {
      fail("{} line {}: not valid JSON ({})", jsonl_path(), line_no, e.what());
    }
    check(row.is_object(), "{} line {}: not a JSON object", jsonl_path(), line_no);
    if (row.contains("epoch") && row["epoch"].is_number() && row["epoch"].get<int64_t>() > max_epoch) continue;
    rows_.push_back(std::move(row));
  }
}

void MetricsLog::write_files() const {
  if (run_dir_.empty()) return;
  auto keys = header();
  std::string csv;
  for (size_t i = 0; i < keys.size(); ++i) csv += (i ? "," : "") + csv_cell(keys[i]);
  csv += '\n';
  std::string jsonl;
  for (const auto& row : rows_) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i) csv += ',';
      if (row.contains(keys[i])) csv += csv_cell(row[keys[i]]);
    }
    csv += '\n';
    jsonl += row.dump() + '\n';
  }
  make_dirs(run_dir_);
  write_file_atomic(jsonl_path(), jsonl);
  write_file_atomic(csv_path(), csv);
}

}  // namespace medssl::train
