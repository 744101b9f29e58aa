// CPC pretext task: grid layout, which cells feed context and targets (2D zero padding, 3D mirroring), per-patch
// augmentation, faithful negatives, both losses, the model, and learning.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "medssl/core/error.h"
#include "medssl/losses/cpc_binary.h"
#include "medssl/losses/info_nce.h"
#include "medssl/pretext/cpc.h"
#include "ssl_task_testing.h"
#include "testkit/testkit.h"

namespace medssl::pretext {
namespace {

using ssl_testing::blob_images;
using ssl_testing::coordinate_image;
using ssl_testing::samples_of;
using ssl_testing::tiny_spec;

TaskSpec cpc_spec(int dims, int64_t side, int64_t channels, nlohmann::json params, bool faithful = false) {
  if (!params.contains("code_size")) params["code_size"] = 16;
  TaskSpec spec = tiny_spec(dims, side, channels, std::move(params));
  spec.faithful = faithful;
  return spec;
}

/// A task whose patches are the raw grid cells (no per-patch crop/flip), to check where every patch comes from.
CpcTask raw_grid_task(const TaskSpec& spec) {
  CpcOptions options = CpcOptions::from_spec(spec);
  options.augment_patches = false;
  return CpcTask(spec, options);
}

/// Grid cell of a patch cut from a coordinate image (channel a = 1 + coordinate along axis a), or -1 for a zero patch.
std::vector<int64_t> cell_of(const torch::Tensor& patch, int64_t stride) {
  if (patch.abs().max().item<float>() == 0.0f) return {-1};
  std::vector<int64_t> cell;
  for (int64_t a = 0; a < patch.size(0); ++a) {
    const auto first = patch[a].flatten()[0].item<float>() - 1.0f;  // the patch's first voxel
    cell.push_back(static_cast<int64_t>(first) / stride);
  }
  return cell;
}

TEST(CpcGrid, Layout2DIsThePyramidWithZeroPaddingAndASkippedRow) {
  const auto layout = cpc_layout(2, 5);
  ASSERT_EQ(layout.columns.size(), 5u);
  EXPECT_EQ(layout.context_length(), 4);
  EXPECT_EQ(layout.num_targets(), 2);
  EXPECT_EQ(layout.columns[0].context, (std::vector<int64_t>{-1, 0, 1, 5}));
  EXPECT_EQ(layout.columns[2].context, (std::vector<int64_t>{1, 2, 3, 7}));
  EXPECT_EQ(layout.columns[4].context, (std::vector<int64_t>{3, 4, -1, 9}));
  EXPECT_EQ(layout.columns[2].targets, (std::vector<int64_t>{17, 22}));  // rows 3, 4 (row 2 skipped)
  // p = 7: rows 0 (half-width 2) and 1 (half-width 1), then (2, y): 9 terms; targets rows 4..6.
  const auto seven = cpc_layout(2, 7);
  EXPECT_EQ(seven.columns[3].context, (std::vector<int64_t>{1, 2, 3, 4, 5, 9, 10, 11, 17}));
  EXPECT_EQ(seven.columns[3].targets, (std::vector<int64_t>{31, 38, 45}));
  EXPECT_NE(testkit::error_of([] { cpc_layout(2, 2); }).find("no target row"), std::string::npos);
}

TEST(CpcGrid, Layout3DIsABlockWithMirroringAndNoSkippedRow) {
  const auto layout = cpc_layout(3, 4);
  ASSERT_EQ(layout.columns.size(), 16u);
  EXPECT_EQ(layout.context_length(), 10);
  EXPECT_EQ(layout.num_targets(), 2);
  // Column (y, z) = (0, 0): y, z in {-1, 0, 1} mirrored to {1, 0, 1}; then (1, 0, 0) = 16; targets rows 2, 3.
  EXPECT_EQ(layout.columns[0].context, (std::vector<int64_t>{5, 4, 5, 1, 0, 1, 5, 4, 5, 16}));
  EXPECT_EQ(layout.columns[0].targets, (std::vector<int64_t>{32, 48}));
  // Column (3, 1): y in {2, 3, 4 -> 2}, z in {0, 1, 2}.
  EXPECT_EQ(layout.columns[13].context, (std::vector<int64_t>{8, 9, 10, 12, 13, 14, 8, 9, 10, 29}));
  EXPECT_EQ(layout.columns[13].targets, (std::vector<int64_t>{45, 61}));
}

TEST(Cpc, OptionsFollowTheReferenceBuilder) {
  TaskSpec spec;
  spec.spatial_dims = 2;
  spec.data_dim = 128;
  auto o = CpcOptions::from_spec(spec);
  EXPECT_EQ(o.crop_size, 121);
  EXPECT_EQ(o.patches_per_side, 7);
  EXPECT_EQ(o.code_size, 1024);
  EXPECT_EQ(o.patch_jitter, -16);  // int(-128 / 8)
  spec.params = {{"patches_per_side", 5}, {"crop_size", 128}, {"patch_jitter", nullptr}};
  o = CpcOptions::from_spec(spec);
  EXPECT_EQ(o.patch_jitter, -21);  // int(-128 / 6): 42 px patches at stride 21
  EXPECT_EQ(CpcTask(spec, o).patch_side(), 42);
  spec.data_dim = 224;
  EXPECT_EQ(CpcTask(spec, CpcOptions::from_spec(spec)).patch_side(), 74);
  spec.spatial_dims = 3;
  spec.data_dim = 128;
  spec.params = {{"patches_per_side", 4}};
  o = CpcOptions::from_spec(spec);
  EXPECT_EQ(o.patch_jitter, 0);
  EXPECT_EQ(o.crop_size, 121);
  EXPECT_EQ(CpcTask(spec, o).patch_side(), 32);
  spec.params = {{"crop_size", 129}};
  EXPECT_NE(testkit::error_of([&] { CpcOptions::from_spec(spec); }).find("crop_size"), std::string::npos);
  // The builder default p = 7 gives 18^3 patches: too small for the default 4-level UNet encoder (needs 32).
  spec.params = nlohmann::json::object();
  const auto message = testkit::error_of([&] { make_task("cpc", spec); });
  EXPECT_NE(message.find("too small"), std::string::npos) << message;
  EXPECT_NE(message.find("patches_per_side 7"), std::string::npos) << message;
  const auto names = task_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "cpc"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "exemplar"), names.end());
}

TEST(Cpc, ContextAndTargets2DComeFromTheRightCells) {
  // 64 px, p 5: jitter -10, stride 10, 20 px patches. Two images; the second is marked by +1000 in channel 0.
  const auto spec = cpc_spec(2, 64, 2, {{"patches_per_side", 5}, {"crop_size", 64}});
  const CpcTask task = raw_grid_task(spec);
  ASSERT_EQ(task.patch_side(), 20);
  auto second = coordinate_image(2, 64);
  second[0] += 1000;
  std::vector<torch::Tensor> images = {coordinate_image(2, 64), second};
  Rng rng(1);
  const auto batch = task.make_batch(samples_of(images, 0, 2), rng, true);
  const auto& context = batch.at("context");
  const auto& target = batch.at("target");
  ASSERT_EQ(context.sizes(), torch::IntArrayRef({10, 4, 2, 20, 20}));
  ASSERT_EQ(target.sizes(), torch::IntArrayRef({10, 2, 2, 20, 20}));
  EXPECT_EQ(batch.size, 10);
  EXPECT_FALSE(batch.tensors.count("label"));
  for (int64_t image = 0; image < 2; ++image) {
    for (int64_t y = 0; y < 5; ++y) {
      const int64_t s = image * 5 + y;
      const int64_t mark = image * 100;  // +1000 / stride 10
      const std::vector<std::vector<int64_t>> expected_context = {
          y == 0 ? std::vector<int64_t>{-1} : std::vector<int64_t>{mark + 0, y - 1},
          {mark + 0, y},
          y == 4 ? std::vector<int64_t>{-1} : std::vector<int64_t>{mark + 0, y + 1},
          {mark + 1, y}};
      for (int64_t t = 0; t < 4; ++t)
        EXPECT_EQ(cell_of(context[s][t], 10), expected_context[static_cast<size_t>(t)])
            << "sample " << s << " term " << t;
      EXPECT_EQ(cell_of(target[s][0], 10), (std::vector<int64_t>{mark + 3, y}));
      EXPECT_EQ(cell_of(target[s][1], 10), (std::vector<int64_t>{mark + 4, y}));
      // Whole cells: 20 px from the cell start (50 % overlap with the next cell).
      EXPECT_FLOAT_EQ(target[s][1][1][0][19].item<float>(), static_cast<float>(10 * y + 20));
    }
  }
}

TEST(Cpc, ContextAndTargets3DMirrorAtTheBorder) {
  // 32^3, p 4: 8^3 patches, no overlap. Column (y, z) = (0, 3).
  const auto spec = cpc_spec(3, 32, 3, {{"patches_per_side", 4}, {"crop_size", 32}});
  const CpcTask task = raw_grid_task(spec);
  Rng rng(1);
  const auto batch = task.make_batch(samples_of({coordinate_image(3, 32)}, 0, 1), rng, true);
  ASSERT_EQ(batch.at("context").sizes(), torch::IntArrayRef({16, 10, 3, 8, 8, 8}));
  ASSERT_EQ(batch.at("target").sizes(), torch::IntArrayRef({16, 2, 3, 8, 8, 8}));
  EXPECT_EQ(batch.size, 16);
  const int64_t s = 0 * 4 + 3;
  std::vector<std::vector<int64_t>> expected;
  for (int64_t y : {1, 0, 1})    // -1 mirrored to 1
    for (int64_t z : {2, 3, 2})  // 4 mirrored to 2
      expected.push_back({0, y, z});
  expected.push_back({1, 0, 3});
  for (int64_t t = 0; t < 10; ++t)
    EXPECT_EQ(cell_of(batch.at("context")[s][t], 8), expected[static_cast<size_t>(t)]) << "term " << t;
  EXPECT_EQ(cell_of(batch.at("target")[s][0], 8), (std::vector<int64_t>{2, 0, 3}));
  EXPECT_EQ(cell_of(batch.at("target")[s][1], 8), (std::vector<int64_t>{3, 0, 3}));
  // Images must match the spec (channels and data_dim).
  const auto message = testkit::error_of([&] {
    task.make_batch(samples_of({torch::zeros({2, 32, 32, 32})}, 0, 1), rng, true);
  });
  EXPECT_NE(message.find("cpc"), std::string::npos) << message;
}

TEST(Cpc, PerPatchAugmentationStaysInsideItsCell2D) {
  // Crop 18 of 20 px, centred pad back: a one-pixel zero frame; every value still comes from the cell's window.
  const auto spec = cpc_spec(2, 64, 2, {{"patches_per_side", 5}, {"crop_size", 64}});
  auto task = make_task("cpc", spec);
  Rng rng(3);
  const auto batch = task->make_batch(samples_of({coordinate_image(2, 64)}, 0, 1), rng, true);
  const auto& target = batch.at("target");
  for (int64_t y = 0; y < 5; ++y) {
    for (int64_t k = 0; k < 2; ++k) {
      const auto patch = target[y][k];
      EXPECT_EQ(patch.select(1, 0).abs().max().item<float>(), 0.0f);
      EXPECT_EQ(patch.select(1, 19).abs().max().item<float>(), 0.0f);
      EXPECT_EQ(patch.select(2, 0).abs().max().item<float>(), 0.0f);
      EXPECT_EQ(patch.select(2, 19).abs().max().item<float>(), 0.0f);
      const auto inner = patch.narrow(1, 1, 18).narrow(2, 1, 18);
      const int64_t row = 3 + k;
      EXPECT_GE(inner[0].min().item<float>(), 10 * row + 1);
      EXPECT_LE(inner[0].max().item<float>(), 10 * row + 20);
      EXPECT_GE(inner[1].min().item<float>(), 10 * y + 1);
      EXPECT_LE(inner[1].max().item<float>(), 10 * y + 20);
    }
  }
}

TEST(Cpc, WholeImageCropIsPaddedBack) {
  // crop_size 60 of 64: zero-padded 2 before / 2 after, so the first two rows of every row-0 patch are zero.
  const auto spec = cpc_spec(2, 64, 2, {{"patches_per_side", 5}, {"crop_size", 60}});
  const CpcTask task = raw_grid_task(spec);
  Rng rng(4);
  const auto batch = task.make_batch(samples_of({coordinate_image(2, 64)}, 0, 1), rng, true);
  const auto row0 = batch.at("context").select(1, 1);  // term 1 = cell (0, y)
  EXPECT_EQ(row0.narrow(2, 0, 2).abs().max().item<float>(), 0.0f);
  EXPECT_GT(row0.narrow(2, 2, 1).abs().max().item<float>(), 0.0f);
}

TEST(Cpc, PatchesAreFlippedAlongThePredictionAxisIn3D) {
  const auto spec = cpc_spec(3, 32, 1, {{"patches_per_side", 4}, {"crop_size", 32}});
  auto task = make_task("cpc", spec);
  Rng rng(5);
  auto image = coordinate_image(3, 32).narrow(0, 0, 1).contiguous();  // channel 0: the axis-0 coordinate
  const auto batch = task->make_batch(samples_of({image}, 0, 1), rng, true);
  const auto target = batch.at("target").flatten(0, 1);  // 32 patches (8^3, crop 7 + 1 zero slice at the end)
  int increasing = 0, decreasing = 0;
  for (int64_t i = 0; i < target.size(0); ++i) {
    const auto line = target[i][0].narrow(0, 0, 7).select(1, 0).select(1, 0);
    const auto diff = line.narrow(0, 1, 6) - line.narrow(0, 0, 6);
    if ((diff > 0).all().item<bool>()) ++increasing;
    if ((diff < 0).all().item<bool>()) ++decreasing;
  }
  EXPECT_EQ(increasing + decreasing, target.size(0));
  EXPECT_GT(increasing, 0);
  EXPECT_GT(decreasing, 0);
}

TEST(Cpc, FaithfulBatchPairsEveryPositiveWithAnotherColumnsTargets) {
  const auto spec = cpc_spec(2, 64, 2, {{"patches_per_side", 5}, {"crop_size", 64}}, /*faithful=*/true);
  const CpcTask task = raw_grid_task(spec);
  auto second = coordinate_image(2, 64);
  second[0] += 1000;
  Rng rng(6);
  const auto batch = task.make_batch(samples_of({coordinate_image(2, 64), second}, 0, 2), rng, true);
  EXPECT_EQ(batch.size, 20);
  ASSERT_EQ(batch.at("label").sizes(), torch::IntArrayRef({20}));
  const auto& context = batch.at("context");
  const auto& target = batch.at("target");
  for (int64_t s = 0; s < 10; ++s) {
    EXPECT_EQ(batch.at("label")[2 * s].item<float>(), 1.0f);
    EXPECT_EQ(batch.at("label")[2 * s + 1].item<float>(), 0.0f);
    EXPECT_TRUE(torch::equal(context[2 * s], context[2 * s + 1]));
    EXPECT_FALSE(torch::equal(target[2 * s], target[2 * s + 1]));
    bool is_some_positive = false;  // the negative's targets are another sample's true targets
    for (int64_t o = 0; o < 10; ++o) is_some_positive |= o != s && torch::equal(target[2 * s + 1], target[2 * o]);
    EXPECT_TRUE(is_some_positive) << s;
  }
  // 3D: one volume of p 4 -> 16 columns -> 16 positives + 16 negatives (the reference's 32 per volume).
  const auto spec3 = cpc_spec(3, 32, 1, {{"patches_per_side", 4}}, /*faithful=*/true);
  auto task3 = make_task("cpc", spec3);
  EXPECT_EQ(task3->make_batch(samples_of(blob_images(3, 1, 32, 1, 1), 0, 1), rng, true).size, 32);
}

TEST(Cpc, ModelShapesNamesAndKerasGruInit) {
  const auto spec = cpc_spec(2, 64, 1, {{"patches_per_side", 5}, {"crop_size", 64}});
  auto task = make_task("cpc", spec);
  auto model = task->build_model();
  const auto params = model->named_parameters();
  for (const char* name : {"encoder.down0.conv1.weight", "projection.weight", "gru.weight_ih_l0", "gru.weight_hh_l0",
                           "predictors.0.weight", "predictors.1.weight"})
    EXPECT_TRUE(params.contains(name)) << name;
  EXPECT_FALSE(params.contains("predictors.2.weight"));
  const auto recurrent = params["gru.weight_hh_l0"];  // (3 * 256, 256), orthonormal columns like Keras' orthogonal
  ASSERT_EQ(recurrent.sizes(), torch::IntArrayRef({768, 256}));
  EXPECT_TRUE(torch::allclose(recurrent.t().mm(recurrent), torch::eye(256), 1e-4, 1e-4));
  EXPECT_EQ(params["gru.bias_hh_l0"].abs().max().item<float>(), 0.0f);
  auto* cpc = dynamic_cast<CpcModelImpl*>(model.get());
  ASSERT_NE(cpc, nullptr);
  Rng rng(1);
  const auto batch = task->make_batch(samples_of(blob_images(2, 1, 64, 2, 3), 0, 2), rng, true);
  model->eval();
  const auto out = cpc->forward(batch.at("context"), batch.at("target"));
  EXPECT_EQ(out.predictions.sizes(), torch::IntArrayRef({10, 2, 16}));
  EXPECT_EQ(out.target_codes.sizes(), torch::IntArrayRef({10, 2, 16}));
}

TEST(Cpc, DefaultStepIsInfoNceOverTheBatch) {
  const auto spec = cpc_spec(2, 64, 1, {{"patches_per_side", 5}, {"crop_size", 64}});
  auto task = make_task("cpc", spec);
  auto model = task->build_model();
  model->eval();
  Rng rng(2);
  const auto batch = task->make_batch(samples_of(blob_images(2, 1, 64, 2, 3), 0, 2), rng, true);
  const auto step = task->step(*model, batch);
  const auto out = dynamic_cast<CpcModelImpl&>(*model).forward(batch.at("context"), batch.at("target"));
  // By hand for target 0: softmax over the 10 target codes of position 0.
  const auto logits = out.predictions.select(1, 0).mm(out.target_codes.select(1, 0).t());
  const auto ce0 = (torch::logsumexp(logits, 1) - logits.diagonal()).mean();
  const auto logits1 = out.predictions.select(1, 1).mm(out.target_codes.select(1, 1).t());
  const auto ce1 = (torch::logsumexp(logits1, 1) - logits1.diagonal()).mean();
  EXPECT_NEAR(step.loss.item<double>(), ((ce0 + ce1) / 2).item<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(step.metrics.at("acc"), losses::info_nce_loss(out.predictions, out.target_codes).accuracy);
}

TEST(Cpc, FaithfulStepIsTheBinaryMeanDotProductLoss) {
  const auto spec = cpc_spec(3, 32, 2, {{"patches_per_side", 4}}, /*faithful=*/true);
  auto task = make_task("cpc", spec);
  auto model = task->build_model();
  model->eval();
  Rng rng(2);
  const auto batch = task->make_batch(samples_of(blob_images(3, 2, 32, 1, 3), 0, 1), rng, true);
  const auto step = task->step(*model, batch);
  const auto out = dynamic_cast<CpcModelImpl&>(*model).forward(batch.at("context"), batch.at("target"));
  const auto s = (out.predictions * out.target_codes).mean({1, 2});
  const auto y = batch.at("label");
  const auto p = torch::sigmoid(s);
  const auto bce = -(y * torch::log(p) + (1 - y) * torch::log(1 - p)).mean();
  EXPECT_NEAR(step.loss.item<double>(), bce.item<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(step.metrics.at("acc"),
                   ((p > 0.5).to(torch::kFloat32) == y).to(torch::kFloat64).mean().item<double>());
}

TEST(Cpc, InfoNceLearnsOn2DBlobs) {
  const ssl_testing::ImageMaker make = [](Rng& rng) { return ssl_testing::streak_image(2, 1, 64, rng); };
  const auto held_out = ssl_testing::make_images(make, 16, 20);
  auto spec = cpc_spec(2, 64, 1, {{"patches_per_side", 5}, {"crop_size", 64}, {"code_size", 32}});
  ssl_testing::use_learning_encoder(spec);
  const auto curve = ssl_testing::train_held_out(*make_task("cpc", spec), make, held_out, 60, 4);
  const double chance = std::log(20.0);  // 4 images x 5 columns in a batch
  EXPECT_LT(curve.after.loss, curve.before.loss - 0.5)
      << "before " << curve.before.loss << " after " << curve.after.loss;
  EXPECT_LT(curve.after.loss, 0.8 * chance) << "after " << curve.after.loss;
  EXPECT_GT(curve.after.metrics.at("acc"), 3.0 / 20.0);
}

TEST(Cpc, InfoNceLossFallsOn3DBlobs) {
  const ssl_testing::ImageMaker make = [](Rng& rng) { return ssl_testing::streak_image(3, 1, 32, rng); };
  const auto held_out = ssl_testing::make_images(make, 4, 40);
  auto spec = cpc_spec(3, 32, 1, {{"patches_per_side", 4}, {"code_size", 32}});
  ssl_testing::use_learning_encoder(spec);
  const auto curve = ssl_testing::train_held_out(*make_task("cpc", spec), make, held_out, 20, 1);
  const double chance = std::log(16.0);  // one volume, 16 columns
  EXPECT_LT(curve.after.loss, curve.before.loss - 0.3)
      << "before " << curve.before.loss << " after " << curve.after.loss;
  EXPECT_LT(curve.after.loss, 0.9 * chance) << "after " << curve.after.loss;
}

}  // namespace
}  // namespace medssl::pretext
