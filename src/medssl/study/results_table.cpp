#include "medssl/study/results_table.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/io/csv.h"

namespace medssl::study {
namespace {

const std::vector<std::string> kResultColumns = {"method", "fraction", "repetition", "metric", "value"};
const std::vector<std::string> kSummaryColumns = {"method", "fraction", "metric", "n", "mean", "std", "min", "max"};

// Shortest text that reads back to the same double ("0.1", not "0.10000000000000001"); NaN as "nan".
std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);
}

// strtod on the whole field: "0.1x" or "" are errors, not 0.1 or 0. Accepts "nan" (a run without a score).
bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && errno != ERANGE;
}

// Index of each name in `order`, for sorting; names are looked up, never absent (order covers all methods).
std::map<std::string, size_t> rank_of(const std::vector<std::string>& order) {
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < order.size(); ++i) rank.emplace(order[i], i);
  return rank;
}

template <typename Row>
std::vector<std::string> distinct(const std::vector<Row>& rows, std::string Row::*field) {
  std::vector<std::string> names;
  for (const auto& r : rows)
    if (std::find(names.begin(), names.end(), r.*field) == names.end()) names.push_back(r.*field);
  return names;
}

// Metrics are ordered by name so that the order never depends on the order in which cells were produced.
std::map<std::string, size_t> metric_ranks(const std::vector<ResultRow>& rows) {
  auto names = distinct(rows, &ResultRow::metric);
  std::sort(names.begin(), names.end());
  return rank_of(names);
}

std::string cell_name(const ResultRow& r) {
  return fmt::format("method '{}', fraction {}, repetition {}, metric '{}'", r.method, number_text(r.fraction),
                     r.repetition, r.metric);
}

}  // namespace

bool is_curve_metric(const std::string& metric) {
  static const std::string suffix = "_curve_mean";
  return metric.size() >= suffix.size() && metric.compare(metric.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> ordered_methods(const std::vector<std::string>& methods,
                                         const std::vector<std::string>& preferred) {
  std::vector<std::string> out;
  auto add = [&](const std::string& m) {
    if (std::find(methods.begin(), methods.end(), m) != methods.end() &&
        std::find(out.begin(), out.end(), m) == out.end())
      out.push_back(m);
  };
  for (const auto& m : preferred) add(m);
  add(kBaselineMethod);
  // The rest alphabetically, not in order of appearance: the order must not depend on which cells finished first,
  // or a resumed study would write a different file than an uninterrupted one.
  std::vector<std::string> rest = methods;
  std::sort(rest.begin(), rest.end());
  for (const auto& m : rest) add(m);
  return out;
}

void sort_results(std::vector<ResultRow>& rows, const std::vector<std::string>& method_order) {
  auto method_rank = rank_of(ordered_methods(distinct(rows, &ResultRow::method), method_order));
  auto metric_rank = metric_ranks(rows);
  auto key = [&](const ResultRow& r) {
    return std::make_tuple(method_rank.at(r.method), r.fraction, r.repetition, metric_rank.at(r.metric));
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const ResultRow& a, const ResultRow& b) { return key(a) < key(b); });
  for (size_t i = 1; i < rows.size(); ++i)
    check(key(rows[i - 1]) != key(rows[i]), "study results: two values for the same cell ({})", cell_name(rows[i]));
}

void write_results_csv(const std::string& path, std::vector<ResultRow> rows,
                       const std::vector<std::string>& method_order) {
  sort_results(rows, method_order);
  std::string text = io::csv_row(kResultColumns) + "\n";
  for (const auto& r : rows)
    text += io::csv_row({r.method, number_text(r.fraction), std::to_string(r.repetition), r.metric,
                         number_text(r.value)}) + "\n";
  write_file_atomic(path, text);
}

std::vector<ResultRow> read_results_csv(const std::string& path) {
  io::CsvTable table = io::read_csv(path);
  std::vector<std::string> header;  // compared without surrounding spaces, as CsvTable::column does
  for (const auto& h : table.header) {
    size_t b = h.find_first_not_of(" \t"), e = h.find_last_not_of(" \t");
    header.push_back(b == std::string::npos ? "" : h.substr(b, e - b + 1));
  }
  check(header == kResultColumns, "{}:1: results header must be exactly '{}', found '{}'", path,
        fmt::join(kResultColumns, ","), fmt::join(table.header, ","));
  std::vector<ResultRow> rows;
  std::map<std::tuple<std::string, double, int, std::string>, int> seen;  // cell -> line, for duplicate messages
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const auto& f = table.rows[i];
    const std::string where = table.where(i);
    ResultRow r;
    r.method = f[0];
    r.metric = f[3];
    check(!r.method.empty(), "{}: empty method name", where);
    check(!r.metric.empty(), "{}: empty metric name", where);
    check(parse_number(f[1], r.fraction) && r.fraction > 0 && r.fraction <= 100,
          "{}: fraction '{}' is not a percentage in (0, 100]", where, f[1]);
    double repetition = 0;
    check(parse_number(f[2], repetition) && repetition >= 0 && repetition == std::floor(repetition) &&
              repetition < 1e9,
          "{}: repetition '{}' is not a non-negative integer", where, f[2]);
    r.repetition = static_cast<int>(repetition);
    check(parse_number(f[4], r.value), "{}: value '{}' is not a number", where, f[4]);
    auto [it, inserted] = seen.emplace(std::make_tuple(r.method, r.fraction, r.repetition, r.metric),
                                       table.row_lines[i]);
    check(inserted, "{}: duplicate of line {} ({})", where, it->second, cell_name(r));
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<SummaryRow> summarize(const std::vector<ResultRow>& rows, const std::vector<std::string>& method_order) {
  std::vector<ResultRow> sorted = rows;
  sort_results(sorted, method_order);  // also rejects duplicate cells
  // After sorting by (method, fraction, repetition, metric) the values of one (method, fraction, metric) group are
  // interleaved with other metrics' values; collect them per group, then order the groups by (method, fraction,
  // metric).
  auto metric_rank = metric_ranks(rows);
  std::vector<SummaryRow> out;
  std::map<std::tuple<std::string, double, std::string>, std::vector<double>> values;
  for (const auto& r : sorted) {
    auto key = std::make_tuple(r.method, r.fraction, r.metric);
    auto it = values.find(key);
    if (it == values.end()) {
      SummaryRow s;
      s.method = r.method;
      s.fraction = r.fraction;
      s.metric = r.metric;
      out.push_back(s);
      it = values.emplace(key, std::vector<double>{}).first;
    }
    it->second.push_back(r.value);
  }
  auto method_rank = rank_of(ordered_methods(distinct(rows, &ResultRow::method), method_order));
  std::stable_sort(out.begin(), out.end(), [&](const SummaryRow& a, const SummaryRow& b) {
    return std::make_tuple(method_rank.at(a.method), a.fraction, metric_rank.at(a.metric)) <
           std::make_tuple(method_rank.at(b.method), b.fraction, metric_rank.at(b.metric));
  });
  for (auto& s : out) {
    const auto& v = values.at(std::make_tuple(s.method, s.fraction, s.metric));
    s.n = static_cast<int>(v.size());
    bool any_nan = std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
    if (any_nan) {
      s.mean = s.std = s.min = s.max = std::nan("");
      continue;
    }
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / s.n;
    double squares = 0;
    for (double x : v) squares += (x - s.mean) * (x - s.mean);
    s.std = s.n > 1 ? std::sqrt(squares / (s.n - 1)) : 0.0;
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
  }
  return out;
}

void write_summary_csv(const std::string& path, const std::vector<SummaryRow>& summary) {
  std::string text = io::csv_row(kSummaryColumns) + "\n";
  for (const auto& s : summary)
    text += io::csv_row({s.method, number_text(s.fraction), s.metric, std::to_string(s.n), number_text(s.mean),
                         number_text(s.std), number_text(s.min), number_text(s.max)}) + "\n";
  write_file_atomic(path, text);
}

std::string format_percent(double fraction) {
  // Round to 4 decimals so that a computed 7.000000000000001 (0.07 * 100) prints as "7".
  return fmt::format("{}", std::round(fraction * 1e4) / 1e4);
}

}  // namespace medssl::study
