// write_fundus: APTOS layout, grades, picture properties and determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/data/layouts/dataset_index.h"
#include "medssl/data/synth/synth.h"
#include "medssl/io/csv.h"
#include "medssl/io/image2d.h"
#include "testkit/testkit.h"

namespace {

using medssl::io::ImageData;
using medssl::synth::FundusOptions;
using medssl::testkit::TempDir;
namespace fs = std::filesystem;

FundusOptions small_set(const std::string& out, uint64_t seed = 7, int images = 20) {
  FundusOptions o;
  o.out = out;
  o.images = images;
  o.size = 64;
  o.seed = seed;
  return o;
}

struct Row {
  std::string id;
  int grade;
};
std::vector<Row> read_rows(const std::string& root) {
  auto table = medssl::io::read_csv(root + "/train.csv");
  EXPECT_EQ(table.header, (std::vector<std::string>{"id_code", "diagnosis"}));
  std::vector<Row> rows;
  for (const auto& r : table.rows) rows.push_back({r.at(0), std::stoi(r.at(1))});
  return rows;
}

float px(const ImageData& im, int c, int64_t y, int64_t x) {
  return im.data[static_cast<size_t>((c * im.shape[0] + y) * im.shape[1] + x)];
}

// Lesion load: retina pixels that differ strongly from their 7x7 neighbourhood mean (dots, blots, exudates, new
// vessels). Vessels count too, but every grade has the same vessel tree.
double spot_fraction(const ImageData& im) {
  const int64_t H = im.shape[0], W = im.shape[1];
  int64_t spots = 0, retina = 0;
  for (int64_t y = 3; y < H - 3; ++y)
    for (int64_t x = 3; x < W - 3; ++x) {
      if (px(im, 0, y, x) < 40) continue;
      bool whole_window_inside = true;
      double diff = 0;
      for (int c = 0; c < 3; ++c) {
        double mean = 0;
        for (int dy = -3; dy <= 3; ++dy)
          for (int dx = -3; dx <= 3; ++dx) {
            mean += px(im, c, y + dy, x + dx);
            if (px(im, 0, y + dy, x + dx) < 40) whole_window_inside = false;
          }
        diff += std::abs(px(im, c, y, x) - mean / 49);
      }
      if (!whole_window_inside) continue;
      ++retina;
      if (diff > 45) ++spots;
    }
  return retina ? static_cast<double>(spots) / retina : 0.0;
}

TEST(SynthFundus, WritesAptosLayoutWithEveryGrade) {
  TempDir dir;
  medssl::synth::write_fundus(small_set(dir.path()));
  auto rows = read_rows(dir.path());
  ASSERT_EQ(rows.size(), 20u);
  std::set<std::string> ids;
  std::set<int> grades;
  std::set<std::pair<int64_t, int64_t>> sizes;
  for (const auto& r : rows) {
    EXPECT_EQ(r.id.size(), 12u);
    EXPECT_EQ(r.id.find_first_not_of("0123456789abcdef"), std::string::npos) << r.id;
    ids.insert(r.id);
    ASSERT_GE(r.grade, 0);
    ASSERT_LE(r.grade, 4);
    grades.insert(r.grade);
    ImageData im = medssl::io::read_image2d(dir.path() + "/train_images/" + r.id + ".png");
    ASSERT_EQ(im.channels, 3);
    ASSERT_EQ(im.shape.size(), 2u);
    const int64_t H = im.shape[0], W = im.shape[1];
    EXPECT_GE(W, 57);  // width in [0.9, 1.3] * size
    EXPECT_LE(W, 84);
    EXPECT_LE(H, W);
    EXPECT_GE(H, W * 0.6);
    sizes.insert({H, W});
    for (int c = 0; c < 3; ++c)
      for (auto [y, x] : {std::pair<int64_t, int64_t>{0, 0}, {0, W - 1}, {H - 1, 0}, {H - 1, W - 1}, {1, 1}})
        EXPECT_EQ(px(im, c, y, x), 0.0f) << r.id << " corner not black";
    // The retina is orange-red: red dominates green dominates blue at the centre.
    double R = 0, G = 0, B = 0;
    for (int64_t y = H / 2 - 2; y < H / 2 + 2; ++y)
      for (int64_t x = W / 2 - 2; x < W / 2 + 2; ++x) R += px(im, 0, y, x), G += px(im, 1, y, x), B += px(im, 2, y, x);
    EXPECT_GT(R, G);
    EXPECT_GT(G, B);
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(grades, (std::set<int>{0, 1, 2, 3, 4}));
  EXPECT_GT(sizes.size(), 10u) << "image sizes should vary";
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path() + "/train_images")) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 20);
}

TEST(SynthFundus, GradeDistributionFollowsAptos) {
  TempDir dir;
  medssl::synth::write_fundus(small_set(dir.path(), 9, 200));
  std::map<int, int> count;
  for (const auto& r : read_rows(dir.path())) ++count[r.grade];
  EXPECT_GT(count[0], 70);  // ~49 %
  EXPECT_LT(count[0], 130);
  EXPECT_GT(count[2], 30);  // ~27 %
  EXPECT_GT(count[0], count[1] + count[3] + count[4]);
  for (int g = 0; g < 5; ++g) EXPECT_GT(count[g], 0) << "grade " << g;
}

TEST(SynthFundus, SevereGradesCarryMoreLesions) {
  TempDir dir;
  medssl::synth::write_fundus(small_set(dir.path(), 21, 30));
  std::map<int, std::vector<double>> load;
  for (const auto& r : read_rows(dir.path()))
    load[r.grade].push_back(spot_fraction(medssl::io::read_image2d(dir.path() + "/train_images/" + r.id + ".png")));
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / v.size();
  };
  ASSERT_FALSE(load[0].empty());
  ASSERT_FALSE(load[4].empty());
  EXPECT_GT(mean(load[4]), 1.5 * mean(load[0])) << mean(load[4]) << " vs " << mean(load[0]);
  EXPECT_GT(mean(load[3]), 1.5 * mean(load[0])) << mean(load[3]) << " vs " << mean(load[0]);
}

TEST(SynthFundus, SameSeedGivesIdenticalFilesAndImagesDoNotDependOnCount) {
  TempDir a, b, c, d;
  medssl::synth::write_fundus(small_set(a.path(), 4, 8));
  medssl::synth::write_fundus(small_set(b.path(), 4, 8));
  medssl::synth::write_fundus(small_set(c.path(), 5, 8));
  medssl::synth::write_fundus(small_set(d.path(), 4, 3));
  const std::string csv = medssl::read_file(a.file("train.csv"));
  EXPECT_EQ(csv, medssl::read_file(b.file("train.csv")));
  EXPECT_NE(csv, medssl::read_file(c.file("train.csv")));
  auto rows = read_rows(a.path());
  for (const auto& r : rows)
    EXPECT_EQ(medssl::read_file(a.path() + "/train_images/" + r.id + ".png"),
              medssl::read_file(b.path() + "/train_images/" + r.id + ".png"));
  auto first_three = read_rows(d.path());
  ASSERT_EQ(first_three.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(first_three[k].id, rows[k].id);
    EXPECT_EQ(first_three[k].grade, rows[k].grade);
    EXPECT_EQ(medssl::read_file(d.path() + "/train_images/" + rows[k].id + ".png"),
              medssl::read_file(a.path() + "/train_images/" + rows[k].id + ".png"));
  }
}

TEST(SynthFundus, LayoutReaderAcceptsTheDataSet) {
  TempDir dir;
  medssl::synth::write_fundus(small_set(dir.path(), 3, 10));
  auto index = medssl::data::open_dataset(dir.path());
  EXPECT_EQ(index.layout, "aptos");
  EXPECT_EQ(index.spatial_dims, 2);
  ASSERT_EQ(index.training.size(), 10u);
  auto rows = read_rows(dir.path());
  for (size_t k = 0; k < rows.size(); ++k) {
    EXPECT_EQ(index.training[k].id, rows[k].id);
    EXPECT_EQ(index.training[k].grade, rows[k].grade);
  }
}

TEST(SynthFundus, RejectsBadOptionsWithClearErrors) {
  TempDir dir;
  auto message = [](const FundusOptions& o) {
    try {
      medssl::synth::write_fundus(o);
    } catch (const medssl::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  FundusOptions o = small_set(dir.file("out"));
  o.size = 15;
  EXPECT_NE(message(o).find("size 15"), std::string::npos) << message(o);
  o = small_set(dir.file("out"));
  o.images = 0;
  EXPECT_NE(message(o).find("images 0"), std::string::npos) << message(o);
  medssl::testkit::write_text(dir.file("plain-file"), "x");
  o = small_set(dir.file("plain-file") + "/deeper");
  EXPECT_NE(message(o).find(dir.file("plain-file")), std::string::npos) << message(o);
}

}  // namespace
