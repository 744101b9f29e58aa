#include <gtest/gtest.h>

#include <filesystem>

#include "medssl/core/version.h"
#include "medssl/study/report.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::study;

namespace {

ReportInputs sample_inputs() {
  ReportInputs in;
  in.study_name = "pancreas3d_taleb";
  in.config = {{"name", "pancreas3d_taleb"}, {"fractions", {10, 100}}, {"repetitions", 2}};
  in.rows = {
      {"rotation", 10.0, 0, "dice", 0.6},       {"rotation", 10.0, 1, "dice", 0.8},
      {"baseline", 10.0, 0, "dice", 0.4},       {"baseline", 10.0, 1, "dice", 0.5},
      {"baseline", 100.0, 0, "dice", 0.9},       {"rotation", 100.0, 0, "dice", 0.91},
      {"rotation", 10.0, 0, "dice_curve_mean", 0.33},
  };
  in.summary = summarize(in.rows);
  in.timings = {{"pretrain rotation", 125.0}, {"finetune", 4.5}};
  in.machine = {2, "Test CPU @ 1 GHz", 7.5, ""};
  in.libtorch_version = "1.13.1";
  in.notes = {"cell rotation 25% skipped by --only"};
  return in;
}

}  // namespace

TEST(Report, ContainsTablesConfigTimingsMachineAndVersions) {
  const std::string md = render_report(sample_inputs());
  // Summary table: methods down (baseline first), fractions across, mean ± sample std (n).
  EXPECT_NE(md.find("| method | 10 % | 100 % |"), std::string::npos) << md;
  EXPECT_NE(md.find("| baseline | 0.4500 ± 0.0707 (n=2) | 0.9000 ± 0.0000 (n=1) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| rotation | 0.7000 ± 0.1414 (n=2) | 0.9100 ± 0.0000 (n=1) |"), std::string::npos) << md;
  EXPECT_LT(md.find("| baseline | 0.45"), md.find("| rotation | 0.70"));
  // Difference to baseline.
  EXPECT_NE(md.find("| rotation | +0.2500 | +0.0100 |"), std::string::npos) << md;
  // Per-repetition rows.
  EXPECT_NE(md.find("| baseline | 10 | 1 | dice | 0.5000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| rotation | 100 | 0 | dice | 0.9100 |"), std::string::npos) << md;
  // Plot, timings, machine, versions, configuration, notes.
  EXPECT_NE(md.find("![](efficiency.png)"), std::string::npos);
  EXPECT_NE(md.find("| pretrain rotation | 2m05s | 125.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| **total** |"), std::string::npos);
  EXPECT_NE(md.find("Test CPU @ 1 GHz, 2 logical cores"), std::string::npos);
  EXPECT_NE(md.find("7.5 GiB"), std::string::npos);
  EXPECT_NE(md.find(std::string("medssl ") + MEDSSL_VERSION), std::string::npos);
  EXPECT_NE(md.find("LibTorch 1.13.1"), std::string::npos);
  EXPECT_NE(md.find("\"repetitions\": 2"), std::string::npos);
  EXPECT_NE(md.find("- cell rotation 25% skipped by --only"), std::string::npos);
  EXPECT_NE(md.find("final model"), std::string::npos);
}

// The report calls the test cases held out of pretraining only when they were.
TEST(Report, SaysWhosePretrainingMaySeeTheTestImages) {
  auto in = sample_inputs();
  EXPECT_NE(render_report(in).find("used neither for pretraining nor for finetuning"), std::string::npos);
  in.pretraining_saw_test_images = {"rotation", "rpl"};
  const std::string md = render_report(in);
  EXPECT_EQ(md.find("used neither for pretraining"), std::string::npos) << md;
  EXPECT_NE(md.find("unlabelled pretraining data of `rotation`, `rpl`"), std::string::npos) << md;
}

TEST(Report, LearningCurveMeansAreKeptOutOfTheTestScoreTables) {
  const std::string md = render_report(sample_inputs());
  const size_t summary = md.find("## Summary (final model, held-out test cases)");
  const size_t curves = md.find("## Learning-curve means (during training; NOT test scores)");
  const size_t per_rep = md.find("## Per-repetition results");
  ASSERT_NE(summary, std::string::npos);
  ASSERT_NE(curves, std::string::npos);
  ASSERT_LT(summary, curves);
  const std::string summary_part = md.substr(summary, curves - summary);
  EXPECT_EQ(summary_part.find("### dice_curve_mean"), std::string::npos) << summary_part;
  EXPECT_NE(summary_part.find("### dice"), std::string::npos);
  const std::string curve_part = md.substr(curves, per_rep - curves);
  EXPECT_NE(curve_part.find("### dice_curve_mean"), std::string::npos);
  EXPECT_NE(curve_part.find("| rotation | 0.3300 ± 0.0000 (n=1) |"), std::string::npos) << curve_part;

  // Without curve metrics there is no curve section at all.
  auto in = sample_inputs();
  in.rows.pop_back();
  in.summary = summarize(in.rows);
  EXPECT_EQ(render_report(in).find("Learning-curve means"), std::string::npos);
}

TEST(Report, WriteReportWritesReportMd) {
  testkit::TempDir dir;
  const std::string path = write_report(dir.path(), sample_inputs());
  EXPECT_EQ(path, dir.file("report.md"));
  EXPECT_NE(testkit::read_text(path).find("# Data-efficiency study: pancreas3d_taleb"), std::string::npos);
}

TEST(Report, ProbeMachineReadsProc) {
  MachineInfo m = probe_machine();
  EXPECT_GE(m.cores, 1);
  EXPECT_GT(m.memory_gib, 0.0);
  EXPECT_FALSE(m.cpu_model.empty());
}
