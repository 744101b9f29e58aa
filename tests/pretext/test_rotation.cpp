// Rotation pretext task: the reference's 4 (2D) and 10 (3D) rotation classes, batches, model, learning.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>
#include <set>

#include "classification_task_testing.h"
#include "medssl/models/registry.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/rotation.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::pretext;
using namespace medssl::pretext::testing;
using testkit::error_of;

namespace {

using Index3 = std::array<int64_t, 3>;
/// The reference's 3D classes (healthml.md 4.1) as "out[i,j,k] = in[source(i,j,k)]", written out independently of
/// the implementation.
std::function<Index3(Index3)> reference_source(int64_t rotation, int64_t n) {
  switch (rotation) {
    case 0: return [](Index3 p) { return p; };
    case 1: return [n](Index3 p) { return Index3{p[1], n - 1 - p[0], p[2]}; };
    case 2: return [n](Index3 p) { return Index3{n - 1 - p[0], n - 1 - p[1], p[2]}; };
    case 3: return [n](Index3 p) { return Index3{n - 1 - p[1], p[0], p[2]}; };
    case 4: return [n](Index3 p) { return Index3{p[0], n - 1 - p[2], p[1]}; };
    case 5: return [n](Index3 p) { return Index3{p[0], n - 1 - p[1], n - 1 - p[2]}; };
    case 6: return [n](Index3 p) { return Index3{p[0], p[2], n - 1 - p[1]}; };
    case 7: return [n](Index3 p) { return Index3{n - 1 - p[2], p[1], p[0]}; };
    case 8: return [n](Index3 p) { return Index3{n - 1 - p[0], p[1], n - 1 - p[2]}; };
    case 9: return [n](Index3 p) { return Index3{p[2], p[1], n - 1 - p[0]}; };
  }
  throw std::logic_error("no such class");
}

/// The class that undoes `rotation`: the same plane, the complementary power.
int64_t inverse_rotation(int64_t rotation, int dims) {
  if (rotation == 0) return 0;
  if (dims == 2) return (4 - rotation) % 4;
  const int64_t plane = (rotation - 1) / 3, power = (rotation - 1) % 3 + 1;
  return plane * 3 + (4 - power);
}

}  // namespace

TEST(RotationTask, TwoDimensionalClassesAreNumpyRot90) {
  const int64_t n = 5;  // odd, so an off-by-one in N-1-i shows
  auto image = torch::rand({2, n, n});
  EXPECT_EQ(rotation_classes(2), 4);
  for (int64_t k = 0; k < 4; ++k) {
    auto out = rotate_image(image, k, 2);
    ASSERT_EQ(out.sizes(), image.sizes());
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        // np.rot90(m, k): counter-clockwise; k = 1: out[i, j] = m[j, N-1-i].
        int64_t a = i, b = j;
        for (int64_t r = 0; r < k; ++r) {
          const int64_t a_next = b, b_next = n - 1 - a;
          a = a_next;
          b = b_next;
        }
        ASSERT_TRUE(torch::equal(out.index({torch::indexing::Slice(), i, j}), image.index({torch::indexing::Slice(), a, b})))
            << "k " << k << " at " << i << "," << j;
      }
    }
  }
}

TEST(RotationTask, ThreeDimensionalClassesFollowTheReference) {
  const int64_t n = 3;
  auto image = torch::rand({2, n, n, n});
  EXPECT_EQ(rotation_classes(3), 10);
  std::set<std::vector<float>> distinct;
  for (int64_t c = 0; c < 10; ++c) {
    auto out = rotate_image(image, c, 3);
    auto source = reference_source(c, n);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < n; ++k) {
          const auto s = source({i, j, k});
          ASSERT_TRUE(torch::equal(out.index({torch::indexing::Slice(), i, j, k}),
                                   image.index({torch::indexing::Slice(), s[0], s[1], s[2]})))
              << "class " << c << " at " << i << "," << j << "," << k;
        }
    auto flat = out.flatten();
    distinct.insert(std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()));
  }
  EXPECT_EQ(distinct.size(), 10u) << "all ten classes must be different rotations (class 9 is not the identity)";
}

TEST(RotationTask, ThreeDimensionalClassesArePowersOfOneRotationPerPlane) {
  auto image = torch::rand({1, 4, 4, 4});
  for (int64_t first : {1, 4, 7}) {
    auto once = rotate_image(image, first, 3);
    auto twice = rotate_image(once, first, 3);
    auto thrice = rotate_image(twice, first, 3);
    EXPECT_TRUE(torch::equal(twice, rotate_image(image, first + 1, 3))) << first;
    EXPECT_TRUE(torch::equal(thrice, rotate_image(image, first + 2, 3))) << first;
    EXPECT_TRUE(torch::equal(rotate_image(thrice, first, 3), image)) << first;
  }
  EXPECT_NE(error_of([&] { rotate_image(image, 10, 3); }), "");
  EXPECT_NE(error_of([&] { rotate_image(image, 4, 2); }), "");
}

TEST(RotationTask, BatchLabelsUndoToTheInput) {
  for (int dims : {2, 3}) {
    const int64_t side = 32;
    auto task = make_task("rotation", small_spec(dims, side, 2));
    EXPECT_EQ(task->name(), "rotation");
    EXPECT_EQ(task->monitor(), "val_loss");  // the reference's ModelCheckpoint; accuracy saturates at 1.0
    EXPECT_EQ(task->monitor_mode(), "min");
    std::vector<torch::Tensor> images;
    for (int i = 0; i < 40; ++i) images.push_back(torch::rand(dims == 2 ? std::vector<int64_t>{2, side, side}
                                                                        : std::vector<int64_t>{2, side, side, side}));
    Rng rng(3);
    std::set<int64_t> seen;
    for (bool training : {true, false}) {
      auto batch = task->make_batch(samples_of(images, 0, images.size()), rng, training);
      ASSERT_EQ(batch.size, 40);
      const auto& input = batch.at("input");
      const auto& label = batch.at("label");
      ASSERT_EQ(input.dim(), dims + 2);
      ASSERT_EQ(input.size(0), 40);
      ASSERT_EQ(label.scalar_type(), torch::kInt64);
      ASSERT_EQ(label.sizes(), (std::vector<int64_t>{40}));
      for (int64_t b = 0; b < 40; ++b) {
        const int64_t c = label[b].item<int64_t>();
        ASSERT_GE(c, 0);
        ASSERT_LT(c, rotation_classes(dims));
        seen.insert(c);
        EXPECT_TRUE(torch::equal(rotate_image(input[b], inverse_rotation(c, dims), dims), images[static_cast<size_t>(b)]))
            << dims << "D class " << c;
      }
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), rotation_classes(dims)) << "every class is drawn";
  }
}

TEST(RotationTask, NonSquareImagesAreCentreCroppedAndBadInputsRejected) {
  auto task = make_task("rotation", small_spec(2, 32));
  Rng rng(1);
  auto wide = torch::rand({1, 32, 40});
  auto batch = task->make_batch({{wide, {}, 0}}, rng, true);
  auto label = batch.at("label")[0].item<int64_t>();
  EXPECT_TRUE(torch::equal(rotate_image(batch.at("input")[0], inverse_rotation(label, 2), 2),
                           wide.narrow(2, 4, 32)));
  auto e = error_of([&] { task->make_batch({{torch::rand({1, 30, 30}), {}, 5}}, rng, true); });
  EXPECT_NE(e.find("data_dim"), std::string::npos) << e;
  EXPECT_NE(e.find("sample 5"), std::string::npos) << e;
  e = error_of([&] { task->make_batch({{torch::rand({3, 32, 32}), {}, 0}}, rng, true); });
  EXPECT_NE(e.find("number_channels"), std::string::npos) << e;

  e = error_of([] { make_task("rotation", small_spec(2, 16)); });
  EXPECT_NE(e.find("at least 32"), std::string::npos) << e;
  auto spec = small_spec(2, 32);
  spec.params["top_architecture"] = "fully_connected";
  e = error_of([&] { make_task("rotation", spec); });
  EXPECT_NE(e.find("big_fully"), std::string::npos) << e;
  spec.params = {{"top_units", {0, 3}}};
  e = error_of([&] { make_task("rotation", spec); });
  EXPECT_NE(e.find("top_units"), std::string::npos) << e;
  // A shallower encoder takes smaller images.
  EXPECT_EQ(error_of([] { make_task("rotation", small_spec(2, 16, 1, {{"enc_filters", 4}, {"num_layers", 3}})); }), "");
}

TEST(RotationTask, ModelShapesAndFaithfulLoss) {
  for (int dims : {2, 3}) {
    auto spec = small_spec(dims, 32, 2);
    auto task = make_task("rotation", spec);
    auto model = task->build_model();
    auto* classifier = dynamic_cast<PatchClassifierImpl*>(model.get());
    ASSERT_NE(classifier, nullptr);
    EXPECT_EQ(classifier->embedding_width(), 64);  // 4 * 2^4 channels at 1 voxel
    std::vector<torch::Tensor> images;
    for (int i = 0; i < 3; ++i) images.push_back(torch::rand(dims == 2 ? std::vector<int64_t>{2, 32, 32}
                                                                       : std::vector<int64_t>{2, 32, 32, 32}));
    Rng rng(2);
    auto batch = task->make_batch(samples_of(images, 0, 3), rng, true);
    auto logits = classifier->forward(batch.at("input"));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, rotation_classes(dims)}));
    auto out = task->step(*model, batch);
    EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
    ASSERT_TRUE(out.metrics.count("acc"));
    model->eval();
    spec.faithful = true;
    auto faithful = make_task("rotation", spec)->step(*model, batch);
    auto plain = task->step(*model, batch);
    EXPECT_NEAR(faithful.loss.item<double>(), plain.loss.item<double>(), 1e-4);  // clipping only bites at p < 1e-7
  }
}

TEST(RotationTask, EncoderWeightsLoadIntoTheUNet) {
  auto model = make_task("rotation", small_spec(2, 32, 1))->build_model();
  auto unet = models::build_model("unet_2d_upconv", {{"enc_filters", 4}, {"in_channels", 1}, {"num_classes", 3}});
  expect_encoder_transfers(*model, *unet.module);
  auto model3d = make_task("rotation", small_spec(3, 32, 2))->build_model();
  auto unet3d = models::build_model("unet", {{"enc_filters", 4}, {"in_channels", 2}});
  expect_encoder_transfers(*model3d, *unet3d.module);
}

TEST(RotationTask, Learns2d) {
  Rng rng(21);
  std::vector<torch::Tensor> train, held_out;
  for (int i = 0; i < 256; ++i) train.push_back(ramp_image(2, 32, rng));
  for (int i = 0; i < 64; ++i) held_out.push_back(ramp_image(2, 32, rng));
  auto spec = small_spec(2, 32, 1, {{"enc_filters", 4}});
  spec.params = {{"top_units", {64, 32}}};  // the reference's 2048 x 1024 head would dominate the test's time
  auto result = train_and_evaluate(*make_task("rotation", spec), train, held_out, 100, 32);
  EXPECT_LT(result.last_loss, result.first_loss);
  EXPECT_GT(result.held_out_accuracy, 0.45) << "chance is 0.25";
}

TEST(RotationTask, Learns3d) {
  Rng rng(22);
  std::vector<torch::Tensor> train, held_out;
  // 16^3 with a 3-level encoder: a 32^3 volume costs ~8x more per step than this test can afford on 2 cores.
  for (int i = 0; i < 128; ++i) train.push_back(ramp_image(3, 16, rng));
  for (int i = 0; i < 40; ++i) held_out.push_back(ramp_image(3, 16, rng));
  // Encoder dropout .2 instead of the reference's .5: with 4 filters per level, .5 needs many more steps than a unit
  // test can afford (rotation 2D above keeps the reference's .5).
  auto spec = small_spec(3, 16, 1, {{"enc_filters", 4}, {"num_layers", 3}, {"dropout", 0.2}});
  spec.params = {{"top_units", {64, 32}}};
  auto result = train_and_evaluate(*make_task("rotation", spec), train, held_out, 150, 8);
  EXPECT_LT(result.last_loss, result.first_loss);
  EXPECT_GT(result.held_out_accuracy, 0.3) << "chance is 0.1";
}
