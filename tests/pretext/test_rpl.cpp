// Relative patch location: labels, patch geometry (on images whose voxels encode their coordinates), model, learning.
#include <gtest/gtest.h>

#include <set>

#include "classification_task_testing.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/rpl.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::pretext;
using namespace medssl::pretext::testing;
using testkit::error_of;

namespace {

/// Raster index -> grid cell coordinates (first axis slowest).
std::vector<int64_t> cell_of(int64_t index, int dims, int64_t per_side) {
  std::vector<int64_t> cell(static_cast<size_t>(dims));
  for (int d = dims - 1; d >= 0; --d) {
    cell[static_cast<size_t>(d)] = index % per_side;
    index /= per_side;
  }
  return cell;
}

/// Checks that `patch` (dims channels of coordinates) is a contiguous block of side `patch_side` lying inside grid
/// cell `index` (cells of `cell` voxels); with `exact_start` >= 0 also that it starts there (centre crop / no jitter).
void expect_patch_in_cell(const torch::Tensor& patch, int64_t index, int dims, int64_t per_side, int64_t cell,
                          int64_t patch_side, int64_t exact_offset) {
  const auto coordinates = cell_of(index, dims, per_side);
  for (int axis = 0; axis < dims; ++axis) {
    ASSERT_EQ(patch.size(axis + 1), patch_side);
    const auto channel = patch[axis];
    const int64_t lo = channel.min().item<int64_t>(), hi = channel.max().item<int64_t>();
    const int64_t cell_start = coordinates[static_cast<size_t>(axis)] * cell;
    EXPECT_EQ(hi - lo, patch_side - 1) << "axis " << axis;
    EXPECT_GE(lo, cell_start) << "axis " << axis << " cell " << index;
    EXPECT_LE(hi, cell_start + cell - 1) << "axis " << axis << " cell " << index;
    if (exact_offset >= 0) {
      EXPECT_EQ(lo, cell_start + exact_offset) << "axis " << axis << " cell " << index;
    }
  }
}

}  // namespace

TEST(RplTask, CentreAndQueryIndices) {
  EXPECT_EQ(rpl_centre_index(9), 4);
  EXPECT_EQ(rpl_centre_index(27), 13);
  EXPECT_EQ(rpl_query_index(3, 9), 3);
  EXPECT_EQ(rpl_query_index(4, 9), 5);
  EXPECT_EQ(rpl_query_index(7, 9), 8);
  EXPECT_EQ(rpl_query_index(12, 27), 12);
  EXPECT_EQ(rpl_query_index(13, 27), 14);
  EXPECT_EQ(rpl_query_index(25, 27), 26);
}

TEST(RplTask, QueryPatchIsTheLabelledCell) {
  for (int dims : {2, 3}) {
    for (int64_t jitter : {0, 3}) {
      // Cells of 11 voxels; patches of 11 (no jitter: the cells themselves) or 8 (random crops inside the cells).
      const int64_t side = 34, per_side = 3, cell = 11, patch_side = cell - jitter;
      auto spec = small_spec(dims, side, dims, {{"enc_filters", 4}, {"num_layers", 2}});
      spec.params = {{"patches_per_side", per_side}, {"patch_jitter", jitter}};
      auto task = make_task("rpl", spec);
      const int64_t count = dims == 2 ? 9 : 27;
      std::vector<torch::Tensor> images(dims == 2 ? 60 : 80, coordinate_image(dims, side));
      Rng rng(4);
      std::set<int64_t> labels;
      for (bool training : {true, false}) {
        auto batch = task->make_batch(samples_of(images, 0, images.size()), rng, training);
        const auto& input = batch.at("input");
        ASSERT_EQ(input.dim(), dims + 3);
        ASSERT_EQ(input.size(1), 2);
        ASSERT_EQ(input.size(2), dims);
        for (int64_t b = 0; b < input.size(0); ++b) {
          const int64_t label = batch.at("label")[b].item<int64_t>();
          ASSERT_GE(label, 0);
          ASSERT_LE(label, count - 2);
          labels.insert(label);
          const int64_t offset = jitter == 0 ? 0 : -1;
          expect_patch_in_cell(input[b][0], rpl_centre_index(count), dims, per_side, cell, patch_side, offset);
          expect_patch_in_cell(input[b][1], label < count / 2 ? label : label + 1, dims, per_side, cell, patch_side,
                               offset);
        }
      }
      EXPECT_EQ(static_cast<int64_t>(labels.size()), count - 1) << dims << "D: every class is drawn";
    }
  }
}

TEST(RplTask, ValidationAlsoCropsAtRandomLikeTheReference) {
  auto spec = small_spec(2, 34, 2, {{"enc_filters", 4}, {"num_layers", 2}});
  spec.params = {{"patch_jitter", 3}};
  auto task = make_task("rpl", spec);
  std::vector<torch::Tensor> images(50, coordinate_image(2, 34));
  Rng rng(9);
  auto batch = task->make_batch(samples_of(images, 0, images.size()), rng, /*training=*/false);
  std::set<int64_t> centre_starts;
  for (int64_t b = 0; b < 50; ++b) centre_starts.insert(batch.at("input")[b][0][0].min().item<int64_t>());
  EXPECT_GT(centre_starts.size(), 1u);
}

TEST(RplTask, ModelShapes) {
  for (int dims : {2, 3}) {
    // 2D at the reference depth (patches of 32 = the minimum of a 4-level UNet encoder + final pool); 3D shallower.
    auto spec = dims == 2 ? small_spec(2, 96, 3) : small_spec(3, 24, 1, {{"enc_filters", 4}, {"num_layers", 2}});
    auto task = make_task("rpl", spec);
    auto model = task->build_model();
    auto* classifier = dynamic_cast<PatchClassifierImpl*>(model.get());
    ASSERT_NE(classifier, nullptr);
    std::vector<torch::Tensor> images;
    for (int i = 0; i < 2; ++i) {
      std::vector<int64_t> shape(static_cast<size_t>(dims + 1), spec.data_dim);
      shape[0] = spec.in_channels;
      images.push_back(torch::rand(shape));
    }
    Rng rng(2);
    auto batch = task->make_batch(samples_of(images, 0, 2), rng, true);
    const int64_t patch = spec.data_dim / 3;
    std::vector<int64_t> expected = {2, 2, spec.in_channels};
    for (int d = 0; d < dims; ++d) expected.push_back(patch);
    EXPECT_EQ(batch.at("input").sizes(), expected);
    EXPECT_EQ(classifier->forward(batch.at("input")).sizes(), (std::vector<int64_t>{2, dims == 2 ? 8 : 26}));
    auto out = task->step(*model, batch);
    EXPECT_TRUE(out.metrics.count("acc"));
  }
}

TEST(RplTask, RejectsBadGeometry) {
  auto spec = small_spec(2, 64);  // 3 per side: patches of 21 < 32 for the default 4-level encoder
  auto e = error_of([&] { make_task("rpl", spec); });
  EXPECT_NE(e.find("at least 32"), std::string::npos) << e;
  EXPECT_NE(e.find("patch side"), std::string::npos) << e;
  spec = small_spec(2, 30, 1, {{"num_layers", 1}});
  spec.params = {{"patch_jitter", 10}};
  EXPECT_NE(error_of([&] { make_task("rpl", spec); }).find("patch_jitter"), std::string::npos);
  spec.params = {{"patches_per_side", 1}};
  EXPECT_NE(error_of([&] { make_task("rpl", spec); }).find("patches_per_side"), std::string::npos);
  spec.params = {{"patches_per_side", "three"}};
  EXPECT_NE(error_of([&] { make_task("rpl", spec); }).find("integer"), std::string::npos);
  spec.params = {{"top_architecture", "simple_multiclass"}};
  EXPECT_NE(error_of([&] { make_task("rpl", spec); }).find("big_fully"), std::string::npos);
}

TEST(RplTask, Learns2d) {
  Rng rng(31);
  std::vector<torch::Tensor> train, held_out;
  for (int i = 0; i < 256; ++i) train.push_back(axis_ramp_image(2, 30, rng));
  for (int i = 0; i < 64; ++i) held_out.push_back(axis_ramp_image(2, 30, rng));
  // enc_filters 8: with the reference's dropout .5 after every first conv, 4 filters learn too slowly for a short test.
  auto spec = small_spec(2, 30, 2, {{"enc_filters", 8}, {"num_layers", 2}});
  spec.params = {{"patch_jitter", 2}, {"top_units", {64, 32}}};  // cells of 10, patches of 8
  auto task = make_task("rpl", spec);
  auto result = train_and_evaluate(*task, train, held_out, 300, 32);
  EXPECT_LT(result.last_loss, result.first_loss);
  EXPECT_GT(result.held_out_accuracy, 0.4) << "chance is 0.125; loss " << result.first_loss << " -> "
                                           << result.last_loss;
}
