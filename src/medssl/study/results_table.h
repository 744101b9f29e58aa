#pragma once
// The numbers a data-efficiency study produces, and their two CSV files.
//   results.csv: one row per method x fraction x repetition x metric, columns `method,fraction,repetition,metric,value`
//   summary.csv: one row per method x fraction x metric, columns `method,fraction,metric,n,mean,std,min,max`
// `fraction` is the PERCENTAGE of the labelled training cases used for finetuning, in (0, 100] (100 = all of them),
// the same convention as `medssl finetune --fraction 10` and the `exp_splits` config key. Rows are always written in one deterministic order (methods in the study's order
// in the given order, then `baseline`, then the others alphabetically; fractions ascending, repetitions ascending,
// metrics alphabetically), so a resumed study writes a byte-identical results.csv to an uninterrupted one.
// Metrics named like `*_curve_mean` are learning-curve averages (mean over the validation checks of a run), not
// final-model test scores; reports keep them in a separate table (see is_curve_metric).
// No LibTorch here: this layer is plain C++ so that tools and tests can use it without a model.
#include <string>
#include <vector>

namespace medssl::study {

/// The method name of the random-initialisation control. It comes first in every table and plot unless the caller
/// gives an explicit method order.
inline constexpr const char* kBaselineMethod = "baseline";

struct ResultRow {
  std::string method;   ///< e.g. "baseline", "rotation", "simsiam_iou_0.3_0.6"
  double fraction = 100;  ///< percent of the labelled training cases, in (0, 100]
  int repetition = 0;   ///< repetition or fold index, >= 0
  std::string metric;   ///< e.g. "dice", "qwk", "dice_curve_mean"
  double value = 0;     ///< NaN allowed (written as "nan"): a run that produced no score
};

struct SummaryRow {
  std::string method;
  double fraction = 100;  ///< percent, as in ResultRow
  std::string metric;
  int n = 0;         ///< number of repetitions summarised
  double mean = 0;   ///< NaN if any repetition's value is NaN (a failed run is never silently averaged away)
  double std = 0;    ///< sample standard deviation (divides by n-1); 0 when n == 1
  double min = 0;
  double max = 0;
};

/// True for learning-curve metrics (name ends in "_curve_mean"): never mixed with final test scores in a report.
bool is_curve_metric(const std::string& metric);

/// The method order used for tables and plots: the names of `preferred` that occur in `methods` (in that order),
/// then "baseline" if not listed, then the rest alphabetically. Pass the study's method list as `preferred` to get
/// the config's order. Never depends on the order of `methods`.
std::vector<std::string> ordered_methods(const std::vector<std::string>& methods,
                                         const std::vector<std::string>& preferred = {});

/// Sorts rows into the deterministic order described above. Throws medssl::Error if two rows describe the same
/// (method, fraction, repetition, metric) cell, naming it.
void sort_results(std::vector<ResultRow>& rows, const std::vector<std::string>& method_order = {});

/// Writes results.csv atomically (sorted as by sort_results). Values use the shortest text that reads back to the
/// same double. Throws medssl::Error naming the path on failure or the cell on a duplicate.
void write_results_csv(const std::string& path, std::vector<ResultRow> rows,
                       const std::vector<std::string>& method_order = {});

/// Reads results.csv. The header must be exactly `method,fraction,repetition,metric,value`; every problem (missing
/// file, wrong header, bad number, fraction outside (0,100], negative repetition, empty name, duplicate cell) is a
/// medssl::Error naming "file:line". Rows come back in file order.
std::vector<ResultRow> read_results_csv(const std::string& path);

/// Mean, sample std, min and max over repetitions for every (method, fraction, metric), ordered by method order,
/// fraction ascending, then metric name. Throws medssl::Error on duplicate cells.
std::vector<SummaryRow> summarize(const std::vector<ResultRow>& rows,
                                  const std::vector<std::string>& method_order = {});

/// Writes summary.csv atomically with columns `method,fraction,metric,n,mean,std,min,max`, in the given order.
void write_summary_csv(const std::string& path, const std::vector<SummaryRow>& summary);

/// Formats a fraction (a percentage) for tables and axes without float noise: 0.07 * 100 -> "7", 12.5 -> "12.5",
/// 100.0 / 3 -> "33.3333".
std::string format_percent(double fraction);

}  // namespace medssl::study
