#include "medssl/study/efficiency_plot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"

namespace medssl::study {
namespace fs = std::filesystem;
namespace {

// A gnuplot single-quoted string: no escapes are interpreted, a quote is written twice. Line breaks would end the
// command, so they become spaces.
std::string gp_string(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string gp_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "NaN"; }

struct Series {
  std::string method;
  std::vector<const SummaryRow*> points;  // fraction ascending
};

// Runs a shell command, returning its exit status and everything it printed (stdout and stderr together).
int run_capture(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  check(pipe != nullptr, "efficiency plot: cannot start a shell to run gnuplot");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  if (status == -1) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string make_script(const std::vector<Series>& series, const std::vector<double>& fractions, bool log_x,
                        const std::string& title, const std::string& y_label, const PlotOptions& options,
                        const std::string& data_name, const std::string& png_name, const std::string& svg_name) {
  std::ostringstream gp;
  gp << "# medssl data-efficiency plot. Restyle freely and re-draw with `gnuplot "
     << fs::path(data_name).stem().string() << ".gp` in this folder.\n"
     << "# Data: " << data_name << ", one block per method (select with `index`); columns: % labelled, mean, sample "
        "std over repetitions, n.\n"
     << "# The outputs can be redirected: gnuplot -e \"out_png='a.png'; out_svg='a.svg'\" <this script>\n"
     << "if (!exists(\"out_png\")) out_png = " << gp_string(png_name) << "\n"
     << "if (!exists(\"out_svg\")) out_svg = " << gp_string(svg_name) << "\n\n";
  gp << "set title " << gp_string(title) << "\n"
     << "set xlabel " << gp_string(options.x_label) << "\n"
     << "set ylabel " << gp_string(y_label) << "\n"
     << "set grid\nset key outside right top box\nset bars small\n";
  // The x ticks are exactly the study's fractions, so every measured point sits on a labelled tick.
  std::vector<std::string> ticks;
  for (double f : fractions) ticks.push_back(fmt::format("{} {}", gp_string(format_percent(f)), gp_number(f)));
  const double lo = fractions.front(), hi = fractions.back();
  if (log_x) {
    gp << "set logscale x\n"
       << fmt::format("set xrange [{}:{}]\n", gp_number(lo / 1.3), gp_number(hi * 1.3));
  } else {
    const double pad = hi > lo ? 0.06 * (hi - lo) : std::max(1.0, 0.1 * hi);
    gp << fmt::format("set xrange [{}:{}]\n", gp_number(std::max(0.0, lo - pad)), gp_number(hi + pad));
  }
  gp << "set xtics (" << fmt::format("{}", fmt::join(ticks, ", ")) << ")\nunset mxtics\n\n";
  gp << "# pngcairo draws smoother lines; the libgd png terminal is the fallback in builds without cairo.\n"
     << "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
     << "  set terminal pngcairo size 960,640 noenhanced font 'Sans,11'\n"
     << "} else {\n"
     << "  set terminal png size 960,640 noenhanced\n"
     << "}\n"
     << "set output out_png\n";
  gp << "plot ";
  for (size_t i = 0; i < series.size(); ++i) {
    if (i) gp << ", \\\n     ";
    gp << fmt::format("'{}' index {} using 1:2:3 with yerrorlines lw 2 pt {} ps 1.2 title {}", data_name, i,
                      (i % 6) * 2 + 5, gp_string(series[i].method));
  }
  gp << "\n\nset terminal svg size 960,640 dynamic noenhanced font 'Sans,11'\n"
     << "set output out_svg\nreplot\nunset output\n";
  return gp.str();
}

}  // namespace

bool gnuplot_available(const std::string& gnuplot) {
  if (gnuplot.find('/') != std::string::npos) return access(gnuplot.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    if (access((dir + "/" + gnuplot).c_str(), X_OK) == 0) return true;
  }
  return false;
}

void plot_efficiency(const std::vector<SummaryRow>& summary, const std::string& metric,
                     const std::vector<std::string>& method_order, const std::string& title,
                     const std::string& out_png, const std::string& out_svg, const PlotOptions& options) {
  // Gather the series of this metric, in method order, fractions ascending.
  std::vector<std::string> methods;
  std::vector<double> fractions;
  for (const auto& s : summary) {
    if (s.metric != metric) continue;
    if (std::find(methods.begin(), methods.end(), s.method) == methods.end()) methods.push_back(s.method);
    if (std::find(fractions.begin(), fractions.end(), s.fraction) == fractions.end()) fractions.push_back(s.fraction);
  }
  check(!methods.empty(), "efficiency plot {}: the summary has no rows for metric '{}'", out_png, metric);
  std::sort(fractions.begin(), fractions.end());
  for (double f : fractions)
    check(f > 0 && std::isfinite(f), "efficiency plot {}: fraction {} is not positive", out_png, f);
  std::vector<Series> series;
  for (const auto& m : ordered_methods(methods, method_order)) {
    Series s{m, {}};
    for (const auto& row : summary)
      if (row.metric == metric && row.method == m) s.points.push_back(&row);
    std::stable_sort(s.points.begin(), s.points.end(),
                     [](const SummaryRow* a, const SummaryRow* b) { return a->fraction < b->fraction; });
    series.push_back(std::move(s));
  }

  const fs::path png_path(out_png), svg_path(out_svg);
  fs::path dir = png_path.parent_path();
  check(fs::absolute(svg_path).parent_path() == fs::absolute(png_path).parent_path(),
        "efficiency plot: {} and {} must be in the same folder (the script refers to both by name)", out_png,
        out_svg);
  if (dir.empty()) dir = ".";
  const std::string stem = png_path.stem().string();
  const std::string data_name = stem + ".dat", script_name = stem + ".gp";
  const std::string data_path = (dir / data_name).string(), script_path = (dir / script_name).string();

  bool log_x = options.x_scale == AxisScale::log;
  if (options.x_scale == AxisScale::automatic) log_x = fractions.back() >= 8 * fractions.front();

  std::ostringstream data;
  data << "# medssl data-efficiency data for metric '" << metric << "'\n";
  for (size_t i = 0; i < series.size(); ++i) {
    if (i) data << "\n\n";  // two blank lines separate gnuplot `index` blocks
    data << "# index " << i << ": " << series[i].method << "\n# percent mean std n\n";
    for (const SummaryRow* p : series[i].points)
      data << gp_number(p->fraction) << ' ' << gp_number(p->mean) << ' ' << gp_number(p->std) << ' ' << p->n
           << "\n";
  }
  write_file_atomic(data_path, data.str());
  const std::string y_label = options.y_label.empty() ? metric : options.y_label;
  write_file_atomic(script_path, make_script(series, fractions, log_x, title, y_label, options, data_name,
                                             png_path.filename().string(), svg_path.filename().string()));

  check(gnuplot_available(options.gnuplot),
        "efficiency plot: '{}' not found; install gnuplot (Debian package gnuplot-nox, see deps/debian-packages.txt), "
        "then draw the plot with `gnuplot {}` in {} (the script and its data were written)",
        options.gnuplot, script_name, dir.string());

  // gnuplot draws into the temporary names; write_via_temp then fsyncs and renames them over the real outputs.
  write_via_temp(out_png, [&](const std::string& tmp_png) {
    write_via_temp(out_svg, [&](const std::string& tmp_svg) {
      const std::string sets = fmt::format("out_png={}; out_svg={}", gp_string(fs::path(tmp_png).filename().string()),
                                           gp_string(fs::path(tmp_svg).filename().string()));
      const std::string command = fmt::format("cd {} && {} -e {} {}", sh_quote(dir.string()),
                                              sh_quote(options.gnuplot), sh_quote(sets), sh_quote(script_name));
      std::string output;
      int status = run_capture(command, output);
      check(status == 0, "efficiency plot: gnuplot failed (exit status {}) on {}:\n{}", status, script_path, output);
      check(fs::exists(tmp_png) && fs::file_size(tmp_png) > 0 && fs::exists(tmp_svg) && fs::file_size(tmp_svg) > 0,
            "efficiency plot: gnuplot ran {} but did not write {} and {}:\n{}", script_path, out_png, out_svg,
            output);
    });
  });
}

}  // namespace medssl::study
