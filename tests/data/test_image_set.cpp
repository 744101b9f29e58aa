// ImageSet: whole volumes and pictures, 2D slices of 3D volumes (which axis, how many), foreground filtering, labels,
// case bookkeeping, and preload vs lazy reading.
#include <gtest/gtest.h>

#include <set>

#include "loader_fixtures.h"
#include "medssl/core/error.h"
#include "medssl/data/loader/image_set.h"
#include "testkit/testkit.h"

using namespace medssl;
using data::ImageSet;
using data::ImageSetOptions;
using testkit::error_of;

namespace {

ImageSetOptions slices(int axis = 1, double min_foreground = 0.0, bool preload = true) {
  ImageSetOptions o;
  o.spatial_dims = 2;
  o.slice_axis = axis;
  o.min_foreground = min_foreground;
  o.preload = preload;
  return o;
}

/// Per slice along `axis` of a (C, D, H, W) volume: the fraction of voxels above 5 % of the intensity range.
std::vector<double> foreground_fractions(const torch::Tensor& v, int axis) {
  double lo = v.min().item<double>(), hi = v.max().item<double>();
  std::vector<double> out;
  for (int64_t k = 0; k < v.size(axis); ++k) {
    auto s = v.select(axis, k);  // (C, a, b)
    out.push_back((s > lo + 0.05 * (hi - lo)).any(0).to(torch::kFloat64).mean().item<double>());
  }
  return out;
}

}  // namespace

TEST(ImageSet, VolumesOfA3DCacheAreWholeCases) {
  const auto& c = loader_testing::ct_native();
  auto set = ImageSet::from_cache(c);
  ASSERT_EQ(set.size(), 4);
  EXPECT_EQ(set.spatial_dims(), 3);
  EXPECT_EQ(set.channels(), 1);
  EXPECT_EQ(set.slice_axis(), 0);
  for (int64_t i = 0; i < set.size(); ++i) {
    auto img = set.image(i);
    EXPECT_EQ(img.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(img.is_contiguous());
    EXPECT_EQ(img.dim(), 4);
    EXPECT_TRUE(torch::equal(img, c.load_image(static_cast<size_t>(i))));
    EXPECT_EQ(set.case_of(i), i);
    EXPECT_EQ(set.slice_of(i), -1);
    EXPECT_EQ(set.id(i), c.cases[static_cast<size_t>(i)].id);
  }
  EXPECT_NE(error_of([&] { set.image(4); }).find("item 4 is out of range"), std::string::npos);
}

TEST(ImageSet, SlicesAlongDByDefaultAreTheVolumesAxialPlanes) {
  const auto& c = loader_testing::ct_native();
  auto set = ImageSet::from_cache(c, slices());
  EXPECT_EQ(set.spatial_dims(), 2);
  EXPECT_EQ(set.slice_axis(), 1);
  int64_t expected = 0;
  for (const auto& cc : c.cases) expected += cc.shape[1];
  ASSERT_EQ(set.size(), expected);
  // Items run through case 0's slices 0..D-1, then case 1's ...
  auto vol0 = c.load_image(0), vol1 = c.load_image(1);
  const int64_t d0 = vol0.size(1);
  for (int64_t k = 0; k < d0; ++k) {
    EXPECT_EQ(set.case_of(k), 0);
    EXPECT_EQ(set.slice_of(k), k);
    auto img = set.image(k);
    EXPECT_EQ(img.sizes().vec(), (std::vector<int64_t>{1, vol0.size(2), vol0.size(3)}));
    EXPECT_TRUE(img.is_contiguous());
    EXPECT_TRUE(torch::equal(img, vol0.select(1, k)));
  }
  EXPECT_EQ(set.id(3), c.cases[0].id + "_slice3");
  EXPECT_EQ(set.case_of(d0), 1);
  EXPECT_TRUE(torch::equal(set.image(d0 + 2), vol1.select(1, 2)));
}

TEST(ImageSet, SliceAxisChoosesTheCutAxis) {
  const auto& c = loader_testing::ct_native();
  auto vol = c.load_image(0);
  for (int axis : {2, 3}) {
    SCOPED_TRACE(axis);
    auto set = ImageSet::from_cache(c, slices(axis));
    int64_t expected = 0;
    for (const auto& cc : c.cases) expected += cc.shape[static_cast<size_t>(axis)];
    ASSERT_EQ(set.size(), expected);
    for (int64_t k : {int64_t{0}, vol.size(axis) / 2, vol.size(axis) - 1}) {
      EXPECT_TRUE(torch::equal(set.image(k), vol.select(axis, k)));
      EXPECT_EQ(set.case_of(k), 0);
    }
  }
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c, slices(0)); }).find("slice_axis"), std::string::npos);
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c, slices(4)); }).find("slice_axis"), std::string::npos);
}

TEST(ImageSet, MinForegroundKeepsOnlySlicesWithEnoughForeground) {
  const auto& c = loader_testing::ct_native();
  const double threshold = 0.3;
  bool dropped_some = false;
  for (int axis : {1, 3}) {
    SCOPED_TRACE(axis);
    auto set = ImageSet::from_cache(c, slices(axis, threshold));
    std::vector<std::pair<int64_t, int64_t>> kept, expected;
    for (int64_t i = 0; i < set.size(); ++i) kept.emplace_back(set.case_of(i), set.slice_of(i));
    int64_t all = 0;
    for (size_t ci = 0; ci < c.cases.size(); ++ci) {
      auto fractions = foreground_fractions(c.load_image(ci), axis);
      all += static_cast<int64_t>(fractions.size());
      for (size_t k = 0; k < fractions.size(); ++k)
        if (fractions[k] > threshold) expected.emplace_back(static_cast<int64_t>(ci), static_cast<int64_t>(k));
    }
    EXPECT_EQ(kept, expected);
    EXPECT_GT(set.size(), 0);
    dropped_some = dropped_some || set.size() < all;
  }
  EXPECT_TRUE(dropped_some) << "the phantom's air margins must be filtered somewhere";
  // 0 keeps everything, including empty slices.
  EXPECT_EQ(ImageSet::from_cache(c, slices(3, 0.0)).size(), ImageSet::from_cache(c, slices(3)).size());
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c, slices(1, 1.0)); }).find("min_foreground"), std::string::npos);
  ImageSetOptions volumes;
  volumes.min_foreground = 0.1;
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c, volumes); }).find("whole volumes"), std::string::npos);
}

TEST(ImageSet, PreloadAndLazyGiveIdenticalItems) {
  const auto& c = loader_testing::ct_native();
  for (int spatial_dims : {2, 3}) {
    SCOPED_TRACE(spatial_dims);
    ImageSetOptions o = spatial_dims == 2 ? slices(1, 0.1) : ImageSetOptions{};
    o.labels = true;
    o.preload = true;
    o.threads = 3;
    auto eager = ImageSet::from_cache(c, o);
    o.preload = false;
    auto lazy = ImageSet::from_cache(c, o);
    ASSERT_EQ(eager.size(), lazy.size());
    for (int64_t i = 0; i < eager.size(); ++i) {
      EXPECT_EQ(eager.id(i), lazy.id(i));
      EXPECT_TRUE(torch::equal(eager.image(i), lazy.image(i))) << eager.id(i);
      auto a = eager.label(i), b = lazy.label(i);
      ASSERT_EQ(a.defined(), b.defined());
      if (a.defined()) {
        EXPECT_TRUE(torch::equal(a, b)) << eager.id(i);
      }
    }
  }
}

TEST(ImageSet, SplitsSelectCasesAndLabelsFollowTheirSlices) {
  const auto& c = loader_testing::ct_native();
  ImageSetOptions o = slices();
  o.labels = true;
  o.splits = {"training"};
  auto train = ImageSet::from_cache(c, o);
  std::set<int64_t> cases;
  for (int64_t i = 0; i < train.size(); ++i) cases.insert(train.case_of(i));
  EXPECT_EQ(cases.size(), 3u);
  for (int64_t ci : cases) EXPECT_EQ(c.cases[static_cast<size_t>(ci)].split, "training");
  auto full_label = c.load_label(0);
  ASSERT_GT(full_label.count_nonzero().item<int64_t>(), 0);
  for (int64_t i = 0; i < train.size() && train.case_of(i) == 0; ++i) {
    auto lbl = train.label(i);
    EXPECT_EQ(lbl.scalar_type(), torch::kInt64);
    EXPECT_EQ(lbl.sizes().vec(), train.image(i).sizes().vec());  // (1, H, W) like the image
    EXPECT_TRUE(torch::equal(lbl, full_label.select(1, train.slice_of(i))));
  }

  std::vector<std::string> other;
  for (const auto& cc : c.cases)
    if (cc.split != "training") other.push_back(cc.split);
  ASSERT_EQ(other.size(), 1u);
  o.splits = other;
  auto rest = ImageSet::from_cache(c, o);
  EXPECT_FALSE(rest.label(0).defined()) << "an unlabelled case has no label map";

  auto no_labels = ImageSet::from_cache(c, slices());
  EXPECT_NE(error_of([&] { no_labels.label(0); }).find("labels were not loaded"), std::string::npos);
  o.splits = {"train"};
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c, o); }).find("unknown split 'train'"), std::string::npos);
}

TEST(ImageSet, PicturesOfA2DCache) {
  const auto& c = loader_testing::fundus();
  ImageSetOptions o;
  o.spatial_dims = 2;
  o.preload = false;
  auto set = ImageSet::from_cache(c, o);
  ASSERT_EQ(set.size(), 5);
  EXPECT_EQ(set.channels(), 3);
  EXPECT_EQ(set.side(), 32);
  EXPECT_EQ(set.slice_axis(), 0);
  for (int64_t i = 0; i < set.size(); ++i) {
    EXPECT_EQ(set.image(i).sizes().vec(), (std::vector<int64_t>{3, 32, 32}));
    EXPECT_EQ(set.slice_of(i), -1);
    EXPECT_GE(set.grade(i), 0);
    EXPECT_LE(set.grade(i), 4);
  }
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c); }).find("holds 2D pictures"), std::string::npos);
  o.min_foreground = 0.1;
  EXPECT_NE(error_of([&] { ImageSet::from_cache(c, o); }).find("2D pictures"), std::string::npos);
}

TEST(ImageSet, SideAndSpatialShape) {
  auto cubes = ImageSet::from_cache(loader_testing::ct_cubes());
  EXPECT_EQ(cubes.side(), 16);
  EXPECT_EQ(cubes.spatial_shape(), (std::vector<int64_t>{16, 16, 16}));
  EXPECT_EQ(ImageSet::from_cache(loader_testing::ct_cubes(), slices(2)).spatial_shape(),
            (std::vector<int64_t>{16, 16}));

  // Native CT: D differs from H = W, so volumes are not cubes, while axial slices are squares.
  const auto& c = loader_testing::ct_native();
  auto first = ImageSet::from_cache(c).subset({0});
  EXPECT_EQ(first.spatial_shape(), (std::vector<int64_t>(c.cases[0].shape.begin() + 1, c.cases[0].shape.end())));
  EXPECT_NE(error_of([&] { first.side(); }).find("not square/cubic"), std::string::npos);
  auto axial = ImageSet::from_cache(c, slices(1));
  EXPECT_EQ(axial.side(), c.cases[0].shape[2]);
}

TEST(ImageSet, SubsetSharesDataAndKeepsCases) {
  auto set = ImageSet::from_cache(loader_testing::ct_cubes(), slices());
  auto sub = set.subset({20, 3, 3});
  ASSERT_EQ(sub.size(), 3);
  EXPECT_EQ(sub.case_of(0), set.case_of(20));
  EXPECT_EQ(sub.id(1), set.id(3));
  EXPECT_TRUE(torch::equal(sub.image(0), set.image(20)));
  EXPECT_EQ(sub.cache_dir(), set.cache_dir());
  // image() hands out a copy: modifying it leaves the preloaded data alone.
  auto img = sub.image(1);
  auto before = img.clone();
  img.fill_(-5.0f);
  EXPECT_TRUE(torch::equal(sub.image(1), before));
  EXPECT_NE(error_of([&] { set.subset({set.size()}); }).find("out of range"), std::string::npos);
  EXPECT_EQ(set.subset({}).size(), 0);
}
