#pragma once
// report.md: the human-readable record of a data-efficiency study. It holds the summary tables (method x fraction,
// mean +- sample std over repetitions, one table per metric, plus the difference to the baseline), the per-repetition
// results, the plot, the exact configuration, per-stage timings, the machine and the software versions, and an
// honest-reporting note: scores are those of the final model on held-out test cases; learning-curve means
// (metrics named *_curve_mean) are shown in their own table and never mixed with test scores.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/study/results_table.h"

namespace medssl::study {

struct StageTiming {
  std::string stage;    ///< e.g. "prepare", "pretrain rotation", "finetune baseline 10% rep 0"
  double seconds = 0;
};

struct MachineInfo {
  int cores = 0;            ///< logical CPUs available to this process
  std::string cpu_model;    ///< from /proc/cpuinfo ("model name"), "unknown" if not found
  double memory_gib = 0;    ///< MemTotal from /proc/meminfo, 0 if not found
  std::string accelerator;  ///< free text set by the caller (e.g. "CUDA: NVIDIA H100"), empty = "none"
};

/// Reads the machine description from /proc (Linux); missing entries stay "unknown"/0 rather than failing.
MachineInfo probe_machine();

struct ReportInputs {
  std::string study_name;
  nlohmann::json config;                 ///< the validated study configuration, printed verbatim
  std::vector<SummaryRow> summary;
  std::vector<ResultRow> rows;
  std::vector<std::string> method_order; ///< as for ordered_methods: listed first, then baseline, then the rest by name
  std::vector<StageTiming> timings;
  MachineInfo machine;
  std::string libtorch_version;          ///< passed in by the caller (this layer has no LibTorch headers)
  std::vector<std::string> notes;        ///< extra lines for the notes section (e.g. skipped cells)
  /// Methods whose pretraining may have seen the test cases' images (never labels): cross-validation on the
  /// pretraining data set, or a pretraining run made outside the study. Empty: the test cases were held out of every
  /// pretraining, and the report says so.
  std::vector<std::string> pretraining_saw_test_images;
  std::string plot_png = "efficiency.png";  ///< relative to the report's folder; empty = no plot embedded
  std::string plot_svg = "efficiency.svg";  ///< linked under the plot; empty = not linked
};

/// The Markdown text of the report (no file access; for tests and for printing).
std::string render_report(const ReportInputs& inputs);

/// Writes <dir>/report.md atomically; returns its path. Throws medssl::Error naming the path on failure.
std::string write_report(const std::string& dir, const ReportInputs& inputs);

}  // namespace medssl::study
