#include "medssl/study/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/progress.h"
#include "medssl/core/version.h"

namespace medssl::study {
namespace {

// Markdown table cells: a '|' would split the cell, a line break would end the table.
std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

std::string value_text(double v) { return std::isnan(v) ? "nan (failed run)" : fmt::format("{:.4f}", v); }

std::string mean_std_text(const SummaryRow& s) {
  if (std::isnan(s.mean)) return fmt::format("nan (n={})", s.n);
  return fmt::format("{:.4f} ± {:.4f} (n={})", s.mean, s.std, s.n);
}

std::vector<std::string> metrics_of(const std::vector<SummaryRow>& summary, bool curves) {
  std::vector<std::string> out;
  for (const auto& s : summary)
    if (is_curve_metric(s.metric) == curves && std::find(out.begin(), out.end(), s.metric) == out.end())
      out.push_back(s.metric);
  return out;
}

const SummaryRow* find_row(const std::vector<SummaryRow>& summary, const std::string& method, double fraction,
                           const std::string& metric) {
  for (const auto& s : summary)
    if (s.method == method && s.fraction == fraction && s.metric == metric) return &s;
  return nullptr;
}

// One table per metric: methods down, fractions across, "mean ± std (n)" in each cell; then, when a baseline is
// present, the difference of each method's mean to the baseline's mean at the same fraction (positive = better for
// scores where higher is better; the table says which way the difference goes, not whether it is significant).
void metric_tables(std::ostringstream& md, const ReportInputs& in, const std::vector<std::string>& metrics,
                   const std::vector<std::string>& methods) {
  for (const auto& metric : metrics) {
    std::vector<double> fractions;
    for (const auto& s : in.summary)
      if (s.metric == metric && std::find(fractions.begin(), fractions.end(), s.fraction) == fractions.end())
        fractions.push_back(s.fraction);
    std::sort(fractions.begin(), fractions.end());
    md << "\n### " << cell(metric) << "\n\n| method |";
    for (double f : fractions) md << ' ' << format_percent(f) << " % |";
    md << "\n|---|";
    for (size_t i = 0; i < fractions.size(); ++i) md << "---|";
    md << '\n';
    for (const auto& m : methods) {
      md << "| " << cell(m) << " |";
      for (double f : fractions) {
        const SummaryRow* s = find_row(in.summary, m, f, metric);
        md << ' ' << (s ? mean_std_text(*s) : "—") << " |";
      }
      md << '\n';
    }
    const bool has_baseline = std::find(methods.begin(), methods.end(), kBaselineMethod) != methods.end();
    if (!has_baseline || methods.size() < 2) continue;
    md << "\nDifference of the mean to `baseline` at the same fraction:\n\n| method |";
    for (double f : fractions) md << ' ' << format_percent(f) << " % |";
    md << "\n|---|";
    for (size_t i = 0; i < fractions.size(); ++i) md << "---|";
    md << '\n';
    for (const auto& m : methods) {
      if (m == kBaselineMethod) continue;
      md << "| " << cell(m) << " |";
      for (double f : fractions) {
        const SummaryRow* s = find_row(in.summary, m, f, metric);
        const SummaryRow* b = find_row(in.summary, kBaselineMethod, f, metric);
        if (s && b && std::isfinite(s->mean) && std::isfinite(b->mean))
          md << fmt::format(" {:+.4f} |", s->mean - b->mean);
        else
          md << " — |";
      }
      md << '\n';
    }
  }
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

}  // namespace

MachineInfo probe_machine() {
  MachineInfo info;
  cpu_set_t set;
  CPU_ZERO(&set);
  // The CPUs this process may run on (a container or taskset may allow fewer than the machine has).
  info.cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : static_cast<int>(std::thread::hardware_concurrency());
  info.cpu_model = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string model = line.substr(line.find(':') + 1);
      model.erase(0, model.find_first_not_of(" \t"));
      if (!model.empty()) info.cpu_model = model;
      break;
    }
  }
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream fields(line.substr(9));
      double kib = 0;
      if (fields >> kib) info.memory_gib = kib / (1024.0 * 1024.0);
      break;
    }
  }
  return info;
}

std::string render_report(const ReportInputs& in) {
  std::vector<std::string> all_methods;
  for (const auto& s : in.summary)
    if (std::find(all_methods.begin(), all_methods.end(), s.method) == all_methods.end())
      all_methods.push_back(s.method);
  for (const auto& r : in.rows)
    if (std::find(all_methods.begin(), all_methods.end(), r.method) == all_methods.end())
      all_methods.push_back(r.method);
  const std::vector<std::string> methods = ordered_methods(all_methods, in.method_order);
  const std::vector<std::string> test_metrics = metrics_of(in.summary, false);
  const std::vector<std::string> curve_metrics = metrics_of(in.summary, true);

  std::ostringstream md;
  md << "# Data-efficiency study: " << in.study_name << "\n\n"
     << "Written by medssl " << MEDSSL_VERSION << " (commit " << MEDSSL_GIT_COMMIT << ") on " << utc_now() << ".\n\n";

  md << "## How to read these numbers\n\n";
  if (in.pretraining_saw_test_images.empty())
    md << "- Every score in the summary and per-repetition tables is the score of the **final model** of a finetuning "
          "run on the **held-out test cases**, which were used neither for pretraining nor for finetuning nor for "
          "choosing settings.\n";
  else
    md << "- Every score in the summary and per-repetition tables is the score of the **final model** of a finetuning "
          "run on the **held-out test cases**, which were used neither for finetuning nor for choosing settings. "
          "Their images (never their labels) may have been part of the unlabelled pretraining data of "
       << fmt::format("`{}`", fmt::join(in.pretraining_saw_test_images, "`, `"))
       << " (cross-validation tests every case once, and a pretraining made outside the study is not known to this "
          "report).\n";
  md
     << "- A cell is mean ± sample standard deviation (divisor n−1) over n repetitions; with n = 1 the std is 0 and "
        "says nothing about spread. Differences smaller than about one std are not evidence of an effect.\n"
     << "- `fraction` (labelled %) is the percentage of the labelled training cases used for finetuning; pretraining "
        "never sees labels.\n"
     << "- A failed run is reported as nan and makes its cell nan; it is never averaged away.\n";
  if (!curve_metrics.empty())
    md << "- Learning-curve means (metrics named `*_curve_mean`: the average of a metric over the validation checks "
          "during training) describe how fast a run learned, not how good its final model is. They are shown in "
          "their own table below and are never mixed with the test scores.\n";

  md << "\n## Summary (final model, held-out test cases)\n";
  if (test_metrics.empty()) md << "\nNo test scores were recorded.\n";
  metric_tables(md, in, test_metrics, methods);

  if (!in.plot_png.empty()) {
    md << "\n## Data-efficiency plot\n\n![](" << in.plot_png << ")\n";
    if (!in.plot_svg.empty())
      md << "\nVector version: [" << in.plot_svg << "](" << in.plot_svg
         << "). Error bars: ±1 sample std over repetitions. Restyle by editing the `.gp` script next to it and "
            "running `gnuplot` on it in this folder.\n";
  }

  if (!curve_metrics.empty()) {
    md << "\n## Learning-curve means (during training; NOT test scores)\n";
    metric_tables(md, in, curve_metrics, methods);
  }

  md << "\n## Per-repetition results\n\n| method | labelled % | repetition | metric | value |\n|---|---|---|---|---|\n";
  std::vector<ResultRow> rows = in.rows;
  sort_results(rows, methods);
  for (const auto& r : rows)
    md << "| " << cell(r.method) << " | " << format_percent(r.fraction) << " | " << r.repetition << " | "
       << cell(r.metric) << " | " << value_text(r.value) << " |\n";

  md << "\n## Timings\n\n";
  if (in.timings.empty()) {
    md << "No timings were recorded.\n";
  } else {
    md << "| stage | wall time | seconds |\n|---|---|---|\n";
    double total = 0;
    for (const auto& t : in.timings) {
      total += t.seconds;
      md << "| " << cell(t.stage) << " | " << Progress::format_duration(t.seconds) << " | "
         << fmt::format("{:.1f}", t.seconds) << " |\n";
    }
    md << "| **total** | **" << Progress::format_duration(total) << "** | " << fmt::format("{:.1f}", total)
       << " |\n";
  }

  md << "\n## Machine\n\n"
     << "- CPU: " << in.machine.cpu_model << ", " << in.machine.cores << " logical cores available\n"
     << "- Memory: " << fmt::format("{:.1f}", in.machine.memory_gib) << " GiB\n"
     << "- Accelerator: " << (in.machine.accelerator.empty() ? "none" : in.machine.accelerator) << "\n";

  md << "\n## Versions\n\n"
     << "- medssl " << MEDSSL_VERSION << " (commit " << MEDSSL_GIT_COMMIT << ")\n"
     << "- LibTorch " << (in.libtorch_version.empty() ? "unknown" : in.libtorch_version) << "\n";

  md << "\n## Configuration\n\n```json\n" << in.config.dump(2) << "\n```\n";

  if (!in.notes.empty()) {
    md << "\n## Notes\n\n";
    for (const auto& n : in.notes) md << "- " << n << "\n";
  }
  return md.str();
}

std::string write_report(const std::string& dir, const ReportInputs& inputs) {
  const std::string path = (dir.empty() ? std::string(".") : dir) + "/report.md";
  write_file_atomic(path, render_report(inputs));
  return path;
}

}  // namespace medssl::study
