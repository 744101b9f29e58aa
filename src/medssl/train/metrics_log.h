#pragma once
// Per-epoch metrics of a run: RUN_DIR/metrics.csv (header = union of keys in first-seen order) and
// RUN_DIR/metrics.jsonl (one JSON object per epoch). Both files are rewritten atomically after every epoch from the
// rows held in memory, so they are always complete, and a resumed run reloads them from metrics.jsonl.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medssl::train {

class MetricsLog {
 public:
  /// Rows are kept in memory only when `run_dir` is empty (nothing is written).
  explicit MetricsLog(std::string run_dir);

  /// Appends one row (a JSON object; numbers and strings as values, keys in the order they should appear) and
  /// rewrites both files. Throws medssl::Error if `row` is not an object or a file cannot be written.
  void append(const nlohmann::ordered_json& row);

  /// Reloads rows from RUN_DIR/metrics.jsonl and keeps those whose "epoch" is <= `max_epoch` (rows written after the
  /// checkpoint a run resumes from are dropped). A missing file means no rows.
  void reload(int64_t max_epoch);

  const std::vector<nlohmann::ordered_json>& rows() const { return rows_; }
  std::vector<std::string> header() const;
  std::string csv_path() const;
  std::string jsonl_path() const;

 private:
  void write_files() const;
  std::string run_dir_;
  std::vector<nlohmann::ordered_json> rows_;
};

}  // namespace medssl::train
