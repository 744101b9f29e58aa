// `medssl predict`'s geometry: scores on a preprocessed grid map back onto the input's grid through the affines, and
// the input folder naming rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "medssl/core/error.h"
#include "medssl/data/cache/preprocess.h"
#include "medssl/data/transforms/resample_to_grid.h"
#include "medssl/finetune/predict.h"
#include "testkit/testkit.h"

using namespace medssl;
namespace testkit = medssl::testkit;
using testing::HasSubstr;

namespace {

Mat44 scaled_affine(std::array<double, 3> diag_ijk, std::array<double, 3> origin) {
  Mat44 a = identity44();
  for (int r = 0; r < 3; ++r) {
    a[static_cast<size_t>(r)][static_cast<size_t>(r)] = diag_ijk[static_cast<size_t>(r)];
    a[static_cast<size_t>(r)][3] = origin[static_cast<size_t>(r)];
  }
  return a;
}

torch::Tensor one_hot_scores(const torch::Tensor& labels, int64_t classes) {
  // (D, H, W) integer labels -> (K, D, H, W) float one-hot.
  return torch::one_hot(labels.to(torch::kInt64), classes).permute({3, 0, 1, 2}).to(torch::kFloat32);
}

double dice(const torch::Tensor& a, const torch::Tensor& b, int64_t cls) {
  auto x = a.eq(cls), y = b.eq(cls);
  return 2.0 * (x & y).sum().item<double>() / (x.sum().item<double>() + y.sum().item<double>());
}

}  // namespace

TEST(LabelsOnGrid, SameGridIsTheArgMaxExactly) {
  torch::manual_seed(1);
  auto scores = torch::rand({4, 5, 6, 7});
  const Mat44 affine = scaled_affine({-0.8, 0.9, 2.5}, {10, -20, 30});
  auto labels = labels_on_grid(scores, affine, {5, 6, 7}, affine);
  EXPECT_EQ(labels.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(labels, scores.argmax(0).to(torch::kUInt8)));
}

TEST(LabelsOnGrid, CroppedSourceLandsAtItsOffsetAndOutsideIsBackground) {
  torch::manual_seed(2);
  const Mat44 target_affine = scaled_affine({0.7, 0.7, 2.5}, {-5, 3, 100});
  // The source grid is the target's voxels [1, 4) x [2, 6) x [3, 8) in (D, H, W): origin moves by the offset.
  Mat44 source_affine = target_affine;
  source_affine[0][3] += 0.7 * 3;  // W offset 3 along i
  source_affine[1][3] += 0.7 * 2;  // H offset 2 along j
  source_affine[2][3] += 2.5 * 1;  // D offset 1 along k
  auto scores = torch::rand({3, 3, 4, 5});
  scores[0].fill_(-1.0);  // the source never prefers background, so every covered voxel is foreground
  auto labels = labels_on_grid(scores, source_affine, {6, 8, 10}, target_affine);
  auto inner = labels.slice(0, 1, 4).slice(1, 2, 6).slice(2, 3, 8);
  EXPECT_TRUE(torch::equal(inner, scores.argmax(0).to(torch::kUInt8)));
  EXPECT_EQ(labels.ne(0).sum().item<int64_t>(), 3 * 4 * 5);
}

TEST(LabelsOnGrid, UndoesResamplingForegroundCropAndResizeOfThePreprocessing) {
  // A label volume with LPS-style axes and anisotropic voxels, preprocessed like a training case (resample to
  // 2 x 1 x 1 mm, window, foreground crop, 24^3 resize), mapped back: the classes land where they were.
  const int64_t d = 20, h = 56, w = 52;
  auto z = torch::arange(d, torch::kFloat32).view({d, 1, 1});
  auto y = torch::arange(h, torch::kFloat32).view({1, h, 1});
  auto x = torch::arange(w, torch::kFloat32).view({1, 1, w});
  auto body = ((y - 28).pow(2) / (20.0 * 20.0) + (x - 26).pow(2) / (18.0 * 18.0)).le(1.0).expand({d, h, w});
  auto organ = ((z - 10).pow(2) / 36.0 + (y - 30).pow(2) / 64.0 + (x - 22).pow(2) / 49.0).le(1.0);
  auto label = body.to(torch::kFloat32) + organ.to(torch::kFloat32) * (body.to(torch::kFloat32));  // 0, 1, 2
  Volume image;
  image.data = (label * 300.0 - 800.0).unsqueeze(0);  // air -800, body -500, organ -200 HU
  image.spacing = {2.5, 0.75, 0.7};
  image.affine = scaled_affine({-0.7, -0.75, 2.5}, {180, 150, -300});
  Volume label_volume = image;
  label_volume.data = label.unsqueeze(0);
  std::optional<Volume> prepared_label = label_volume;
  nlohmann::json settings = {{"spacing", {2.0, 1.0, 1.0}}, {"window", {-1000, 0}}, {"crop_foreground", 0.3},
                             {"size", 24}, {"resize_mode", "resize"}};
  Volume prepared = cache::preprocess_volume(image, settings, &prepared_label);
  ASSERT_EQ(prepared.data.size(1), 24);
  ASSERT_TRUE(prepared_label.has_value());
  auto back = labels_on_grid(one_hot_scores(prepared_label->data.squeeze(0).round(), 3), prepared.affine, {d, h, w},
                             image.affine);
  ASSERT_EQ(back.sizes(), label.sizes());
  EXPECT_GT(dice(back, label, 1), 0.85);
  EXPECT_GT(dice(back, label, 2), 0.85);
  // The crop removed air only: nothing outside the body box is foreground after the round trip.
  EXPECT_EQ((back.ne(0) & body.logical_not()).sum().item<int64_t>() * 50 < body.sum().item<int64_t>(), true);
}

TEST(PredictCases, GroupsNnunetChannelFilesAndNamesMissingChannels) {
  testkit::TempDir dir;
  for (auto name : {"caseA_0000.nii.gz", "caseA_0001.nii.gz", "caseB_0000.nii.gz", "caseB_0001.nii.gz", "notes.txt"})
    testkit::write_text(dir.file(name), "x");
  auto cases = finetune::list_predict_cases(dir.path());
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].id, "caseA");
  ASSERT_EQ(cases[0].files.size(), 2u);
  EXPECT_THAT(cases[0].files[1], HasSubstr("caseA_0001.nii.gz"));

  std::filesystem::remove(dir.file("caseB_0000.nii.gz"));
  EXPECT_THAT(testkit::error_of([&] { finetune::list_predict_cases(dir.path()); }), HasSubstr("caseB_0000"));
}

TEST(PredictCases, PlainNamesAreOneCaseEachAndBadPathsAreNamed) {
  testkit::TempDir dir;
  for (auto name : {"scan_2020.nii.gz", "liver.nii", "photo.png"}) testkit::write_text(dir.file(name), "x");
  auto cases = finetune::list_predict_cases(dir.path());
  ASSERT_EQ(cases.size(), 3u);
  EXPECT_EQ(cases[0].id, "liver");
  EXPECT_EQ(cases[1].id, "photo");
  EXPECT_EQ(cases[2].id, "scan_2020");
  EXPECT_THAT(testkit::error_of([&] { finetune::list_predict_cases(dir.file("missing.nii.gz")); }),
              HasSubstr("missing.nii.gz"));
  testkit::TempDir empty;
  EXPECT_THAT(testkit::error_of([&] { finetune::list_predict_cases(empty.path()); }), HasSubstr("holds no"));
}
