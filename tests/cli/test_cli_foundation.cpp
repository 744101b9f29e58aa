// End-to-end: the medssl binary on synthetic data sets (synth -> info -> prepare), and its error behaviour.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "medssl/data/layouts/dataset_index.h"
#include "medssl_test_paths.h"
#include "testkit/testkit.h"

using namespace medssl;
using testkit::run_cli;
using testkit::shell_quote;
namespace fs = std::filesystem;

TEST(CliFoundation, HelpListsVerbsAndBadVerbFails) {
  auto help = run_cli("--help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  for (auto verb : {"synth", "info", "prepare"}) EXPECT_NE(help.output.find(verb), std::string::npos) << verb;
  EXPECT_NE(run_cli("no-such-verb").exit_code, 0);
  EXPECT_EQ(run_cli("synth ct3d --help").exit_code, 0);
}

// The stamp is taken at build time: it names the commit the sources were built from (plus "-dirty" for uncommitted
// changes), not the one CMake was last configured at. Outside a git checkout (a source tarball) it is "unknown".
TEST(CliFoundation, VersionNamesTheCommitTheBinaryWasBuiltFrom) {
  auto version = run_cli("--version");
  ASSERT_EQ(version.exit_code, 0) << version.output;
  auto head = testkit::run_command("git -C " + shell_quote(MEDSSL_SOURCE_DIR) + " rev-parse --short HEAD 2>/dev/null");
  if (head.exit_code != 0 || head.output.empty()) {
    EXPECT_NE(version.output.find("(unknown)"), std::string::npos) << version.output;
    return;
  }
  head.output.erase(head.output.find_last_not_of(" \n") + 1);
  EXPECT_NE(version.output.find("(" + head.output), std::string::npos)
      << "medssl --version: " << version.output << " vs git HEAD " << head.output;
}

TEST(CliFoundation, SynthInfoPrepareOnCtPhantoms) {
  testkit::TempDir dir;
  auto ds = dir.file("ct");
  auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases 3 --unlabelled 1 --size 32 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto index = data::open_dataset(ds, {/*check_headers=*/true});
  EXPECT_EQ(index.layout, "msd");
  ASSERT_EQ(index.training.size(), 3u);

  auto info = run_cli("info " + shell_quote(index.training[0].images[0]) + " --json");
  ASSERT_EQ(info.exit_code, 0) << info.output;
  auto j = nlohmann::json::parse(info.output.substr(info.output.find('{')));
  for (auto key : {"shape", "spacing", "affine", "dtype", "min", "max", "mean"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["dtype"], "int16");
  EXPECT_EQ(j["shape"].size(), 3u);
  EXPECT_EQ(j["shape"][0], 32);
  EXPECT_EQ(j["affine"].size(), 4u);
  EXPECT_LT(j["min"].get<double>(), -500.0);  // air in HU
  EXPECT_GT(j["max"].get<double>(), 100.0);   // bone / contrast

  auto text = run_cli("info " + shell_quote(index.training[0].label));
  EXPECT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("uint8"), std::string::npos);

  auto prep = run_cli("prepare --dataset " + shell_quote(ds) + " --out " + shell_quote(dir.file("cache")) +
                      " --size 16 --crop-foreground 0.05");
  ASSERT_EQ(prep.exit_code, 0) << prep.output;
  EXPECT_TRUE(fs::exists(dir.file("cache/cache.json")));
  // Re-running resumes: every case is reused.
  auto again = run_cli("prepare --dataset " + shell_quote(ds) + " --out " + shell_quote(dir.file("cache")) +
                       " --size 16 --crop-foreground 0.05");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("4 reused"), std::string::npos) << again.output;
}

TEST(CliFoundation, FundusSynthAndInfoOnPng) {
  testkit::TempDir dir;
  auto ds = dir.file("fundus");
  auto r = run_cli("synth fundus --out " + shell_quote(ds) + " --images 12 --size 64 --seed 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto index = data::open_dataset(ds);
  EXPECT_EQ(index.layout, "aptos");
  ASSERT_EQ(index.training.size(), 12u);
  auto info = run_cli("info --json " + shell_quote(index.training[0].images[0]));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  auto j = nlohmann::json::parse(info.output.substr(info.output.find('{')));
  EXPECT_EQ(j["shape"].size(), 3u);  // H, W, 3
  EXPECT_EQ(j["shape"][2], 3);
  auto prep = run_cli("prepare --dataset " + shell_quote(ds) + " --out " + shell_quote(dir.file("cache")) + " --size 32");
  EXPECT_EQ(prep.exit_code, 0) << prep.output;
}

TEST(CliFoundation, BadInputGivesMessageNamingTheFileAndNonZeroExit) {
  testkit::TempDir dir;
  auto missing = run_cli("info " + shell_quote(dir.file("nope.nii.gz")));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("nope.nii.gz"), std::string::npos) << missing.output;

  testkit::write_text(dir.file("corrupt.nii.gz"), "\x1f\x8b\x08\x00garbage-not-a-gzip-stream");
  auto corrupt = run_cli("info " + shell_quote(dir.file("corrupt.nii.gz")));
  EXPECT_EQ(corrupt.exit_code, 1) << corrupt.output;
  EXPECT_NE(corrupt.output.find("corrupt.nii.gz"), std::string::npos) << corrupt.output;

  testkit::write_text(dir.file("wrong.nii"), std::string(400, '\0'));
  auto wrong = run_cli("info " + shell_quote(dir.file("wrong.nii")));
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("wrong.nii"), std::string::npos) << wrong.output;

  testkit::write_text(dir.file("bad.png"), "not a png at all");
  auto png = run_cli("info " + shell_quote(dir.file("bad.png")));
  EXPECT_EQ(png.exit_code, 1) << png.output;
  EXPECT_NE(png.output.find("bad.png"), std::string::npos) << png.output;

  auto unknown = run_cli("prepare --dataset " + shell_quote(dir.path()) + " --out " + shell_quote(dir.file("c")) +
                         " --set sizee=3");
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("did you mean 'size'"), std::string::npos) << unknown.output;

  auto bad_size = run_cli("synth ct3d --out " + shell_quote(dir.file("x")) + " --size 4");
  EXPECT_NE(bad_size.exit_code, 0);
}

TEST(CliFoundation, SynthIsDeterministicForASeed) {
  testkit::TempDir dir;
  ASSERT_EQ(run_cli("synth ct3d --out " + shell_quote(dir.file("a")) + " --cases 2 --size 24 --seed 9").exit_code, 0);
  ASSERT_EQ(run_cli("synth ct3d --out " + shell_quote(dir.file("b")) + " --cases 2 --size 24 --seed 9").exit_code, 0);
  for (auto rel : {"imagesTr/pancreas_001.nii.gz", "labelsTr/pancreas_002.nii.gz", "dataset.json"})
    EXPECT_EQ(testkit::read_text(dir.file(std::string("a/") + rel)), testkit::read_text(dir.file(std::string("b/") + rel))) << rel;
}
