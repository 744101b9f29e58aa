// Jigsaw: slot k holds original patch perm[label][k]; tables (shipped, custom file, first N rows); model; learning.
#include <gtest/gtest.h>

#include <set>

#include "classification_task_testing.h"
#include "medssl/models/registry.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/jigsaw.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::pretext;
using namespace medssl::pretext::testing;
using testkit::error_of;

namespace {

/// The cell `index` of a (C, side, ...) image cut directly (raster order, first axis slowest), `offset` voxels into
/// each cell and `patch` long.
torch::Tensor cell_patch(const torch::Tensor& image, int64_t index, int dims, int64_t per_side, int64_t cell,
                         int64_t offset, int64_t patch) {
  torch::Tensor out = image;
  for (int d = dims - 1; d >= 0; --d) {
    out = out.narrow(d + 1, (index % per_side) * cell + offset, patch);
    index /= per_side;
  }
  return out;
}

}  // namespace

TEST(JigsawTask, InversePermutationRecoversRasterOrder) {
  for (int dims : {2, 3}) {
    for (int64_t jitter : {0, 2}) {
      const int64_t side = 30, per_side = 3, cell = 10, patch = cell - jitter;
      auto spec = small_spec(dims, side, dims, {{"enc_filters", 4}, {"num_layers", 2}});
      spec.params = {{"patch_jitter", jitter}};
      auto task = make_task("jigsaw", spec);
      const auto& table = shipped_permutation_table(dims);
      const int64_t n = dims == 2 ? 9 : 27;
      const auto image = coordinate_image(dims, side);
      std::vector<torch::Tensor> images(dims == 2 ? 50 : 20, image);
      Rng rng(12);
      for (bool training : {false, true}) {
        auto batch = task->make_batch(samples_of(images, 0, images.size()), rng, training);
        const auto& input = batch.at("input");
        ASSERT_EQ(input.size(1), n);
        for (int64_t b = 0; b < input.size(0); ++b) {
          const int64_t label = batch.at("label")[b].item<int64_t>();
          ASSERT_GE(label, 0);
          ASSERT_LT(label, 100);
          const auto& perm = table.rows[static_cast<size_t>(label)];
          // Inverse permutation: original patch perm[k] sits in slot k.
          std::vector<torch::Tensor> raster(static_cast<size_t>(n));
          for (int64_t k = 0; k < n; ++k) raster[static_cast<size_t>(perm[static_cast<size_t>(k)])] = input[b][k];
          for (int64_t m = 0; m < n; ++m) {
            const auto& recovered = raster[static_cast<size_t>(m)];
            if (!training) {  // centre crops: exactly the centred part of cell m
              ASSERT_TRUE(torch::equal(recovered, cell_patch(image, m, dims, per_side, cell, jitter / 2, patch)))
                  << dims << "D label " << label << " patch " << m;
            } else {  // random crops: a patch-sized block inside cell m
              const int64_t lo0 = recovered[0].min().item<int64_t>();
              const int64_t lo_last = recovered[dims - 1].min().item<int64_t>();
              const int64_t o0 = lo0 - (m / (n / per_side)) * cell, o_last = lo_last - (m % per_side) * cell;
              ASSERT_GE(o0, 0);
              ASSERT_LE(o0, jitter);
              ASSERT_GE(o_last, 0);
              ASSERT_LE(o_last, jitter);
            }
          }
        }
      }
    }
  }
}

TEST(JigsawTask, LabelsCoverTheTableAndTrainingJitters) {
  auto spec = small_spec(2, 30, 2, {{"enc_filters", 4}, {"num_layers", 2}});
  spec.params = {{"patch_jitter", 2}, {"num_permutations", 10}};
  auto task = make_task("jigsaw", spec);
  std::vector<torch::Tensor> images(200, coordinate_image(2, 30));
  Rng rng(5);
  auto batch = task->make_batch(samples_of(images, 0, images.size()), rng, true);
  std::set<int64_t> labels, offsets;
  for (int64_t b = 0; b < 200; ++b) {
    labels.insert(batch.at("label")[b].item<int64_t>());
    offsets.insert(batch.at("input")[b][0][0].min().item<int64_t>() % 10);
  }
  EXPECT_EQ(labels, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(offsets, (std::set<int64_t>{0, 1, 2}));
}

TEST(JigsawTask, PermutationTables) {
  auto spec = small_spec(2, 30);
  EXPECT_EQ(jigsaw_permutations(spec).rows, shipped_permutation_table(2).rows);
  spec.params = {{"num_permutations", 10}};
  auto first10 = jigsaw_permutations(spec);
  ASSERT_EQ(first10.count(), 10);
  EXPECT_EQ(first10.rows[9], shipped_permutation_table(2).rows[9]);
  spec.params = {{"num_permutations", 101}};
  EXPECT_NE(error_of([&] { jigsaw_permutations(spec); }).find("num_permutations"), std::string::npos);
  EXPECT_EQ(jigsaw_permutations(small_spec(3, 30)).count(), 100);

  testkit::TempDir dir;
  const std::string path = dir.file("my perms.txt");
  testkit::write_text(path, "# 2x2 puzzle\n0 1 2 3\n3 2 1 0\n1 0 3 2\n");
  spec.params = {{"patches_per_side", 2}, {"permutations_file", path}};
  auto custom = jigsaw_permutations(spec);
  EXPECT_EQ(custom.length, 4);
  EXPECT_EQ(custom.count(), 3);
  spec.params = {{"patches_per_side", 2}};
  auto e = error_of([&] { jigsaw_permutations(spec); });
  EXPECT_NE(e.find("medssl permutations"), std::string::npos) << e;

  // A bad custom table: the error names the file and line, and task construction fails with it.
  testkit::write_text(path, "0 1 2 3\n3 2 1 0\n3 2 1 0\n");
  spec = small_spec(2, 32, 1, {{"enc_filters", 4}, {"num_layers", 2}});
  spec.params = {{"patches_per_side", 2}, {"permutations_file", path}};
  e = error_of([&] { make_task("jigsaw", spec); });
  EXPECT_NE(e.find(path + ":3"), std::string::npos) << e;
  testkit::write_text(path, "0 1 2 3 4 5 6 7 8\n");  // 9 values for a 2x2 grid
  e = error_of([&] { make_task("jigsaw", spec); });
  EXPECT_NE(e.find(path + ":1"), std::string::npos) << e;
  EXPECT_NE(e.find("4 values"), std::string::npos) << e;
}

TEST(JigsawTask, ModelShapes) {
  for (int dims : {2, 3}) {
    auto spec = dims == 2 ? small_spec(2, 96, 1) : small_spec(3, 24, 2, {{"enc_filters", 4}, {"num_layers", 2}});
    spec.params = {{"num_permutations", 20}};
    auto task = make_task("jigsaw", spec);
    auto model = task->build_model();
    std::vector<torch::Tensor> images;
    for (int i = 0; i < 2; ++i) {
      std::vector<int64_t> shape(static_cast<size_t>(dims + 1), spec.data_dim);
      shape[0] = spec.in_channels;
      images.push_back(torch::rand(shape));
    }
    Rng rng(2);
    auto batch = task->make_batch(samples_of(images, 0, 2), rng, false);
    std::vector<int64_t> expected = {2, dims == 2 ? 9 : 27, spec.in_channels};
    for (int d = 0; d < dims; ++d) expected.push_back(spec.data_dim / 3);
    EXPECT_EQ(batch.at("input").sizes(), expected);
    auto* classifier = dynamic_cast<PatchClassifierImpl*>(model.get());
    ASSERT_NE(classifier, nullptr);
    EXPECT_EQ(classifier->forward(batch.at("input")).sizes(), (std::vector<int64_t>{2, 20}));
    EXPECT_TRUE(task->step(*model, batch).metrics.count("acc"));
  }
}

TEST(JigsawTask, EncoderWeightsLoadIntoTheUNet) {
  auto model = make_task("jigsaw", small_spec(2, 96, 1))->build_model();
  auto unet = models::build_model("unet_2d_upconv", {{"enc_filters", 4}});
  expect_encoder_transfers(*model, *unet.module);
}

TEST(JigsawTask, Learns2d) {
  Rng rng(41);
  std::vector<torch::Tensor> train, held_out;
  for (int i = 0; i < 256; ++i) train.push_back(ramp_image(2, 30, rng));
  for (int i = 0; i < 64; ++i) held_out.push_back(ramp_image(2, 30, rng));
  auto spec = small_spec(2, 30, 1, {{"enc_filters", 4}, {"num_layers", 2}});
  spec.params = {{"patch_jitter", 2}, {"num_permutations", 10}, {"top_units", {64, 32}}};
  auto task = make_task("jigsaw", spec);
  auto result = train_and_evaluate(*task, train, held_out, 200, 32);
  EXPECT_LT(result.last_loss, result.first_loss);
  EXPECT_GT(result.held_out_accuracy, 0.4) << "chance is 0.1";
}
