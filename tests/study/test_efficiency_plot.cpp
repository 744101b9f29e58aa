#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "medssl/core/error.h"
#include "medssl/study/efficiency_plot.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::study;
using testkit::error_of;
namespace fs = std::filesystem;

namespace {

std::vector<SummaryRow> three_methods() {
  std::vector<SummaryRow> s;
  const std::vector<double> fractions = {5.0, 10.0, 25.0, 100.0};
  const std::vector<std::string> methods = {"baseline", "rotation", "simsiam_iou_0.3_0.6"};
  for (size_t m = 0; m < methods.size(); ++m)
    for (double f : fractions) {
      SummaryRow r;
      r.method = methods[m];
      r.fraction = f;
      r.metric = "dice";
      r.n = 3;
      r.mean = 0.4 + 0.003 * f + 0.05 * m;
      r.std = 0.02 + 0.01 * m;
      r.min = r.mean - r.std;
      r.max = r.mean + r.std;
      s.push_back(r);
      r.metric = "dice_curve_mean";  // another metric that must not be drawn
      s.push_back(r);
    }
  return s;
}

uint32_t big_endian32(const std::string& bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

void expect_valid_png(const std::string& path) {
  const std::string png = testkit::read_text(path);
  ASSERT_GT(png.size(), 33u) << path;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_EQ(png.substr(12, 4), "IHDR");  // the first chunk, at byte 8 (length) + 4 (type)
  EXPECT_GT(big_endian32(png, 16), 0u);  // width
  EXPECT_GT(big_endian32(png, 20), 0u);  // height
}

// gnuplot's SVG puts each plotted line in its own <g id="gnuplot_plot_N"> group: the legend entry's <text> and the
// line itself as <path>. Returns the legend text of every group that has a path.
std::vector<std::string> svg_series_titles(const std::string& svg) {
  std::vector<std::string> titles;
  const std::string marker = "<g id=\"gnuplot_plot_";
  for (size_t at = svg.find(marker); at != std::string::npos;) {
    const size_t next = svg.find(marker, at + 1);
    const std::string group = svg.substr(at, next == std::string::npos ? std::string::npos : next - at);
    std::smatch m;
    if (group.find("<path") != std::string::npos && std::regex_search(group, m, std::regex("<text>([^<]*)</text>")))
      titles.push_back(m[1].str());
    at = next;
  }
  return titles;
}

}  // namespace

TEST(EfficiencyPlot, WritesValidPngAndSvgWithOnePathPerMethod) {
  ASSERT_TRUE(gnuplot_available()) << "gnuplot is needed (Debian package gnuplot-nox)";
  testkit::TempDir dir;
  plot_efficiency(three_methods(), "dice", {}, "Pancreas 3D: Dice vs labelled data", dir.file("efficiency.png"),
                  dir.file("efficiency.svg"));
  expect_valid_png(dir.file("efficiency.png"));
  const std::string svg = testkit::read_text(dir.file("efficiency.svg"));
  EXPECT_EQ(svg_series_titles(svg), (std::vector<std::string>{"baseline", "rotation", "simsiam_iou_0.3_0.6"}));
  EXPECT_NE(svg.find("Pancreas 3D: Dice vs labelled data"), std::string::npos);

  // The script and data are kept; no temporary file is left behind.
  const std::string script = testkit::read_text(dir.file("efficiency.gp"));
  EXPECT_NE(script.find("set logscale x"), std::string::npos);  // 5..100 %: wide range -> log axis
  EXPECT_NE(script.find("'5' 5, '10' 10, '25' 25, '100' 100"), std::string::npos) << script;
  const std::string data = testkit::read_text(dir.file("efficiency.dat"));
  EXPECT_NE(data.find("# index 2: simsiam_iou_0.3_0.6"), std::string::npos);
  EXPECT_EQ(data.find("curve"), std::string::npos) << "only the requested metric is drawn";
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(EfficiencyPlot, KeptScriptRedrawsTheFigureByItself) {
  ASSERT_TRUE(gnuplot_available());
  testkit::TempDir dir;
  plot_efficiency(three_methods(), "dice", {"rotation"}, "t", dir.file("efficiency.png"), dir.file("efficiency.svg"));
  fs::remove(dir.file("efficiency.png"));
  auto r = testkit::run_command("cd " + testkit::shell_quote(dir.path()) + " && gnuplot efficiency.gp");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_valid_png(dir.file("efficiency.png"));
  // The explicit order puts rotation first.
  EXPECT_EQ(svg_series_titles(testkit::read_text(dir.file("efficiency.svg"))).front(), "rotation");
}

TEST(EfficiencyPlot, NarrowFractionRangeUsesLinearAxis) {
  ASSERT_TRUE(gnuplot_available());
  testkit::TempDir dir;
  std::vector<SummaryRow> s;
  for (double f : {25.0, 50.0, 100.0}) s.push_back({"baseline", f, "dice", 1, 0.6 + 0.001 * f, 0, 0.6, 0.7});
  plot_efficiency(s, "dice", {}, "BTCV", dir.file("e.png"), dir.file("e.svg"));
  const std::string script = testkit::read_text(dir.file("e.gp"));
  EXPECT_EQ(script.find("set logscale x"), std::string::npos);
  expect_valid_png(dir.file("e.png"));
  EXPECT_EQ(svg_series_titles(testkit::read_text(dir.file("e.svg"))).size(), 1u);
}

TEST(EfficiencyPlot, ErrorsAreClear) {
  testkit::TempDir dir;
  auto none = error_of([&] {
    plot_efficiency(three_methods(), "qwk", {}, "t", dir.file("efficiency.png"), dir.file("efficiency.svg"));
  });
  EXPECT_NE(none.find("no rows for metric 'qwk'"), std::string::npos) << none;

  PlotOptions missing;
  missing.gnuplot = dir.file("no-such-gnuplot");
  auto msg = error_of([&] {
    plot_efficiency(three_methods(), "dice", {}, "t", dir.file("efficiency.png"), dir.file("efficiency.svg"), missing);
  });
  EXPECT_NE(msg.find("gnuplot-nox"), std::string::npos) << msg;
  EXPECT_TRUE(fs::exists(dir.file("efficiency.gp"))) << "the script is kept so the plot can be drawn later";
  EXPECT_FALSE(fs::exists(dir.file("efficiency.png")));

  // A gnuplot that fails: its message and exit status reach the user; no output file appears.
  PlotOptions failing;
  failing.gnuplot = dir.file("fake-gnuplot");
  testkit::write_text(failing.gnuplot, "#!/bin/sh\necho 'line 7: unknown terminal' >&2\nexit 3\n");
  fs::permissions(failing.gnuplot, fs::perms::owner_all);
  auto failed = error_of([&] {
    plot_efficiency(three_methods(), "dice", {}, "t", dir.file("efficiency.png"), dir.file("efficiency.svg"), failing);
  });
  EXPECT_NE(failed.find("exit status 3"), std::string::npos) << failed;
  EXPECT_NE(failed.find("unknown terminal"), std::string::npos) << failed;
  EXPECT_FALSE(fs::exists(dir.file("efficiency.png")));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(EfficiencyPlot, FailedCellsAreLeftOutInsteadOfBreakingThePlot) {
  ASSERT_TRUE(gnuplot_available());
  testkit::TempDir dir;
  auto s = three_methods();
  for (auto& r : s)
    if (r.method == "rotation" && r.fraction == 5.0) r.mean = r.std = std::nan("");
  plot_efficiency(s, "dice", {}, "t", dir.file("efficiency.png"), dir.file("efficiency.svg"));
  expect_valid_png(dir.file("efficiency.png"));
  EXPECT_NE(testkit::read_text(dir.file("efficiency.dat")).find("\n5 NaN NaN 3\n"), std::string::npos);
  EXPECT_EQ(svg_series_titles(testkit::read_text(dir.file("efficiency.svg"))).size(), 3u);
}
