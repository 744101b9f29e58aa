// The prepare cache: tensor file format, preprocessing pipeline, resume, staleness and corruption detection.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "medssl/config/config.h"
#include "medssl/core/error.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/cache/tensor_file.h"
#include "medssl/data/synth/synth.h"
#include "testkit/testkit.h"

using namespace medssl;
namespace fs = std::filesystem;

namespace {

using testkit::error_of;

config::Config settings(std::vector<std::string> sets) {
  return config::load("", cache::prepare_schema(), sets);
}

std::string make_ct(const testkit::TempDir& dir, int cases = 3, int unlabelled = 1) {
  synth::Ct3dOptions o;
  o.out = dir.file("ct");
  o.cases = cases;
  o.unlabelled = unlabelled;
  o.size = 24;
  o.seed = 5;
  synth::write_ct3d(o);
  return o.out;
}

}  // namespace

TEST(TensorFile, RoundTripsEveryStoredType) {
  testkit::TempDir dir;
  for (auto dtype : {torch::kUInt8, torch::kInt16, torch::kFloat16, torch::kFloat32}) {
    auto t = (torch::rand({2, 3, 4, 5}) * 100).to(dtype);
    cache::write_tensor_file(dir.file("t.bin"), t);
    auto back = cache::read_tensor_file(dir.file("t.bin"));
    EXPECT_EQ(back.scalar_type(), dtype);
    EXPECT_TRUE(torch::equal(back, t));
  }
}

TEST(TensorFile, DetectsTruncationCorruptionAndForeignFiles) {
  testkit::TempDir dir;
  cache::write_tensor_file(dir.file("t.bin"), torch::arange(1000, torch::kFloat32));
  std::string bytes = testkit::read_text(dir.file("t.bin"));
  testkit::write_text(dir.file("trunc.bin"), bytes.substr(0, bytes.size() - 10));
  EXPECT_NE(error_of([&] { cache::read_tensor_file(dir.file("trunc.bin")); }).find("trunc.bin: truncated"), std::string::npos);
  std::string flipped = bytes;
  flipped[200] ^= 0x40;
  testkit::write_text(dir.file("flip.bin"), flipped);
  EXPECT_NE(error_of([&] { cache::read_tensor_file(dir.file("flip.bin")); }).find("checksum"), std::string::npos);
  testkit::write_text(dir.file("foreign.bin"), std::string(100, 'x'));
  EXPECT_NE(error_of([&] { cache::read_tensor_file(dir.file("foreign.bin")); }).find("bad magic"), std::string::npos);
  EXPECT_NE(error_of([&] { cache::read_tensor_file(dir.file("none.bin")); }).find("none.bin"), std::string::npos);
}

TEST(PrepareCache, TalebPipelineGivesCubesInUnitRangeWithIntegerLabels) {
  testkit::TempDir dir;
  auto ct = make_ct(dir);
  auto index = cache::prepare_cache(ct, dir.file("cache"), settings({"size=16", "crop_foreground=0.05"}));
  auto c = cache::open_cache(dir.file("cache"));
  ASSERT_EQ(c.cases.size(), 4u);  // 3 labelled + 1 unlabelled
  EXPECT_EQ(c.num_classes(), 3);
  int labelled = 0;
  for (size_t i = 0; i < c.cases.size(); ++i) {
    auto img = c.load_image(i);
    EXPECT_EQ(img.sizes().vec(), (std::vector<int64_t>{1, 16, 16, 16}));
    EXPECT_GE(img.min().item<float>(), -1e-6);
    EXPECT_LE(img.max().item<float>(), 1 + 1e-6);
    auto lbl = c.load_label(i);
    if (c.cases[i].split == "training") {
      ++labelled;
      ASSERT_TRUE(lbl.defined());
      EXPECT_EQ(lbl.sizes().vec(), (std::vector<int64_t>{1, 16, 16, 16}));
      EXPECT_LE(lbl.max().item<int64_t>(), 2);
      EXPECT_GE(lbl.min().item<int64_t>(), 0);
      EXPECT_GT((lbl == 1).sum().item<int64_t>(), 0) << "pancreas must survive the nearest resize";
    } else {
      EXPECT_FALSE(lbl.defined());
    }
  }
  EXPECT_EQ(labelled, 3);
}

TEST(PrepareCache, WindowAndSpacingAreApplied) {
  testkit::TempDir dir;
  auto ct = make_ct(dir, 1, 0);
  cache::prepare_cache(ct, dir.file("cache"), settings({"window=[-1000,400]", "spacing=[4.0,2.0,2.0]", "store_dtype=float16"}));
  auto c = cache::open_cache(dir.file("cache"));
  auto img = c.load_image(0);
  EXPECT_EQ(img.scalar_type(), torch::kFloat32);
  EXPECT_GE(img.min().item<float>(), 0.0f);
  EXPECT_LE(img.max().item<float>(), 1.0f);
  auto spacing = c.index["cases"][0]["spacing"].get<std::vector<double>>();
  EXPECT_NEAR(spacing[1], 2.0, 1e-6);
  EXPECT_NEAR(spacing[2], 2.0, 1e-6);
}

TEST(PrepareCache, ResumesAfterAKillAndRefusesOtherSettings) {
  testkit::TempDir dir;
  auto ct = make_ct(dir);
  cache::prepare_cache(ct, dir.file("cache"), settings({"size=12"}));
  // Simulate a run killed after two cases: drop the index and one case entry.
  fs::remove(dir.file("cache/cache.json"));
  auto entries = cache::open_cache;  // silence unused warnings in some compilers
  (void)entries;
  std::vector<fs::path> jsons;
  for (auto& p : fs::directory_iterator(dir.file("cache/cases")))
    if (p.path().extension() == ".json") jsons.push_back(p.path());
  ASSERT_EQ(jsons.size(), 4u);
  fs::remove(jsons[0]);
  auto before = fs::last_write_time(jsons[1]);
  auto index = cache::prepare_cache(ct, dir.file("cache"), settings({"size=12"}));
  EXPECT_EQ(index["cases"].size(), 4u);
  EXPECT_EQ(fs::last_write_time(jsons[1]), before) << "complete cases are reused, not rewritten";
  auto msg = error_of([&] { cache::prepare_cache(ct, dir.file("cache"), settings({"size=16"})); });
  EXPECT_NE(msg.find("size"), std::string::npos) << msg;
}

TEST(PrepareCache, DetectsStaleSourcesAndCorruptCases) {
  testkit::TempDir dir;
  auto ct = make_ct(dir, 2, 0);
  auto index = cache::prepare_cache(ct, dir.file("cache"), settings({"size=12"}));
  auto src = index["cases"][0]["sources"][0]["path"].get<std::string>();
  {
    std::ofstream out(src, std::ios::app | std::ios::binary);
    out << "extra";
  }
  auto msg = error_of([&] { cache::open_cache(dir.file("cache")); });
  EXPECT_NE(msg.find("stale cache"), std::string::npos) << msg;
  EXPECT_NE(msg.find(src), std::string::npos) << msg;
  auto c = cache::open_cache(dir.file("cache"), /*check_sources=*/false);
  std::string bytes = testkit::read_text(c.cases[1].image_file);
  bytes[100] ^= 1;
  testkit::write_text(c.cases[1].image_file, bytes);
  EXPECT_NE(error_of([&] { c.load_image(1); }).find("checksum"), std::string::npos);
  EXPECT_NE(error_of([&] { cache::open_cache(dir.file("nowhere")); }).find("not a medssl cache"), std::string::npos);
}

TEST(PrepareCache, BadSettingsAreClearErrors) {
  EXPECT_NE(error_of([] { settings({"normalise=minmax"}); }).find("did you mean 'normalize'"), std::string::npos);
  EXPECT_NE(error_of([] { settings({"resize_mode=stretch"}); }).find("resize_mode"), std::string::npos);
  testkit::TempDir dir;
  auto ct = make_ct(dir, 1, 0);
  EXPECT_NE(error_of([&] { cache::prepare_cache(ct, dir.file("c"), settings({"window=[400,-1000]"})); }).find("a_min < a_max"), std::string::npos);
  EXPECT_NE(error_of([&] { cache::prepare_cache(dir.file("missing"), dir.file("c2"), settings({})); }).find("missing"), std::string::npos);
}
