#pragma once
// The data-efficiency plot: x = % of the labelled training cases used for finetuning (the study's fractions are the
// ticks), y = the metric, one line per method with error bars of +-1 sample std over repetitions, and a legend.
// Drawn by gnuplot (Debian package gnuplot-nox, listed in deps/debian-packages.txt): we write <stem>.dat (the
// numbers) and <stem>.gp (the script) next to the outputs and run `gnuplot` in that folder. The script is kept on
// purpose: users restyle the figure by editing it and re-running `gnuplot <stem>.gp` inside the study folder. It
// uses the pngcairo terminal when the installed gnuplot has it and falls back to the libgd `png` terminal otherwise;
// SVG uses the built-in `svg` terminal. PNG and SVG are first drawn to temporary names and renamed into place, so a
// crash never leaves a half-written figure.
#include <string>
#include <vector>

#include "medssl/study/results_table.h"

namespace medssl::study {

enum class AxisScale { automatic, linear, log };

struct PlotOptions {
  /// automatic: log x when the largest fraction is >= 8x the smallest (e.g. 5..100 %), otherwise linear (25..100 %).
  AxisScale x_scale = AxisScale::automatic;
  std::string x_label = "labelled training data (%)";
  std::string y_label;          ///< empty = the metric name
  std::string gnuplot = "gnuplot";  ///< program to run (a name looked up on PATH, or a path)
};

/// Draws `metric` from `summary` (rows of other metrics are ignored) into out_png and out_svg. The .gp and .dat
/// files are named after out_png's stem (efficiency.png -> efficiency.gp, efficiency.dat) in its folder; out_svg
/// must be in the same folder. Methods are drawn in the order of ordered_methods(methods, method_order): listed
/// first, then baseline, then by name. Throws medssl::Error if the metric has no rows, if gnuplot is missing
/// (naming the package to install and the script that was kept) or fails (with gnuplot's own message), or if an
/// output cannot be written.
void plot_efficiency(const std::vector<SummaryRow>& summary, const std::string& metric,
                     const std::vector<std::string>& method_order, const std::string& title,
                     const std::string& out_png, const std::string& out_svg, const PlotOptions& options = {});

/// True if `gnuplot` (the program named) can be started; lets callers and tests say why a plot is skipped.
bool gnuplot_available(const std::string& gnuplot = "gnuplot");

}  // namespace medssl::study
