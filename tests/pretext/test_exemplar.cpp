// Exemplar pretext task: options, negatives, triplet layout, augmentation, the two model/loss modes, learning.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "medssl/core/error.h"
#include "medssl/losses/triplet.h"
#include "medssl/pretext/exemplar.h"
#include "medssl/pretext/exemplar_augment.h"
#include "ssl_task_testing.h"
#include "testkit/testkit.h"

namespace medssl::pretext {
namespace {

using ssl_testing::blob_images;
using ssl_testing::samples_of;
using ssl_testing::tiny_spec;

TaskSpec exemplar_spec(int dims, int64_t side, int64_t channels, nlohmann::json params, bool faithful = false) {
  if (!params.contains("code_size")) params["code_size"] = 16;
  TaskSpec spec = tiny_spec(dims, side, channels, std::move(params));
  spec.faithful = faithful;
  return spec;
}

TEST(Exemplar, OptionsFollowTheReferenceAndTheMode) {
  TaskSpec spec;
  auto o = ExemplarOptions::from_spec(spec);
  EXPECT_EQ(o.code_size, 1024);
  EXPECT_FALSE(o.negatives_from_batch);
  EXPECT_DOUBLE_EQ(o.margin, 0.5);
  spec.faithful = true;
  EXPECT_DOUBLE_EQ(ExemplarOptions::from_spec(spec).margin, 1.0);
  spec.params = {{"alpha", 0.3}, {"sample_neg_examples_from", "batch"}, {"code_size", nullptr}};
  o = ExemplarOptions::from_spec(spec);
  EXPECT_DOUBLE_EQ(o.margin, 0.3);
  EXPECT_TRUE(o.negatives_from_batch);
  EXPECT_EQ(o.code_size, 1024);
  spec.params = {{"alpha", 0.3}, {"margin", 0.2}};
  EXPECT_NE(testkit::error_of([&] { ExemplarOptions::from_spec(spec); }).find("not both"), std::string::npos);
  spec.params = {{"sample_neg_examples_from", "disk"}};
  EXPECT_NE(testkit::error_of([&] { ExemplarOptions::from_spec(spec); }).find("sample_neg_examples_from"),
            std::string::npos);
  EXPECT_TRUE(make_task("exemplar", exemplar_spec(2, 32, 1, {}))->needs_negative());
  EXPECT_FALSE(
      make_task("exemplar", exemplar_spec(2, 32, 1, {{"sample_neg_examples_from", "batch"}}))->needs_negative());
  EXPECT_EQ(make_task("exemplar", exemplar_spec(2, 32, 1, {}))->monitor(), "val_loss");
}

TEST(Exemplar, SattoloDerangementIsOneCycleWithoutFixedPoints) {
  Rng rng(3);
  for (int64_t n : {2, 3, 5, 16}) {
    for (int trial = 0; trial < 50; ++trial) {
      const auto perm = sattolo_derangement(n, rng);
      std::set<int64_t> values(perm.begin(), perm.end());
      ASSERT_EQ(static_cast<int64_t>(values.size()), n);
      int64_t i = 0, length = 0;
      do {
        ASSERT_NE(perm[static_cast<size_t>(i)], i);
        i = perm[static_cast<size_t>(i)];
        ++length;
      } while (i != 0);
      EXPECT_EQ(length, n);  // a single cycle through every position
    }
  }
  EXPECT_NE(testkit::error_of([&] { sattolo_derangement(1, rng); }).find("at least 2"), std::string::npos);
}

TEST(Exemplar, BatchNegativesComeFromOtherImagesAndPositiveIsTheInput) {
  // Every image is constant with its own value, so a triplet slot tells which image it came from.
  std::vector<torch::Tensor> images;
  for (int i = 0; i < 6; ++i) images.push_back(torch::full({2, 8, 8, 8}, 0.1 * (i + 1)));
  auto task = make_task("exemplar", exemplar_spec(3, 8, 2, {{"sample_neg_examples_from", "batch"}}));
  Rng rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const auto samples = samples_of(images, static_cast<size_t>(trial), 5);
    const auto batch = task->make_batch(samples, rng, true);
    const auto& input = batch.at("input");
    ASSERT_EQ(input.sizes(), torch::IntArrayRef({5, 3, 2, 8, 8, 8}));
    EXPECT_EQ(batch.size, 5);
    std::set<int64_t> negative_sources;
    for (size_t i = 0; i < samples.size(); ++i) {
      EXPECT_TRUE(torch::equal(input[static_cast<int64_t>(i)][1], samples[i].image));  // positive = un-augmented
      const double negative_value = input[static_cast<int64_t>(i)][2].mean().item<double>();
      const auto source = static_cast<int64_t>(std::lround(negative_value / 0.1)) - 1;
      EXPECT_NE(source, samples[i].index);
      negative_sources.insert(source);
    }
    EXPECT_EQ(negative_sources.size(), 5u);  // a permutation of the batch
  }
  EXPECT_NE(testkit::error_of([&] { task->make_batch(samples_of(images, 0, 1), rng, true); }).find("at least 2"),
            std::string::npos);
}

TEST(Exemplar, DatasetNegativesAreTheLoadersImage) {
  auto images = blob_images(2, 3, 16, 4, 1);
  auto task = make_task("exemplar", exemplar_spec(2, 16, 3, {}));
  Rng rng(2);
  auto samples = samples_of(images, 0, 3, /*negatives=*/true);
  const auto batch = task->make_batch(samples, rng, true);
  ASSERT_EQ(batch.at("input").sizes(), torch::IntArrayRef({3, 3, 3, 16, 16}));
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_TRUE(torch::equal(batch.at("input")[static_cast<int64_t>(i)][1], samples[i].image));
    EXPECT_TRUE(torch::equal(batch.at("input")[static_cast<int64_t>(i)][2], samples[i].negative));
  }
  samples[1].negative = torch::Tensor();
  EXPECT_NE(testkit::error_of([&] { task->make_batch(samples, rng, true); }).find("no negative"), std::string::npos);
}

TEST(Exemplar, AugmentationIsReproducibleAndShapePreserving) {
  const auto volume = blob_images(3, 2, 12, 1, 9).front();
  const auto picture = blob_images(2, 3, 20, 1, 9).front();
  for (uint64_t seed = 0; seed < 12; ++seed) {
    Rng a(seed), b(seed);
    const auto x = augment_exemplar(volume, a);
    EXPECT_EQ(x.sizes(), volume.sizes());
    EXPECT_TRUE(torch::equal(x, augment_exemplar(volume, b)));
    const auto y = augment_exemplar(picture, a);
    EXPECT_EQ(y.sizes(), picture.sizes());
    // albumentations clips float images to [0, 1].
    EXPECT_GE(y.min().item<float>(), 0.0f);
    EXPECT_LE(y.max().item<float>(), 1.0f);
  }
  // Over many draws the 2D augmentation produces all four quarter turns: the argmax of a single bright pixel visits
  // all four corners' orbits.
  auto dot = torch::zeros({1, 6, 6});
  dot[0][0][1] = 1.0;
  std::set<int64_t> positions;
  Rng rng(1);
  for (int i = 0; i < 200; ++i) positions.insert(augment_exemplar(dot, rng).flatten().argmax().item<int64_t>());
  EXPECT_EQ(positions.size(), 8u);  // 4 rotations x 2 reflections of an off-diagonal pixel
}

TEST(Exemplar, DefaultModelSharesOneProjectionAndNormalisesCodes) {
  const auto spec = exemplar_spec(2, 32, 1, {{"sample_neg_examples_from", "batch"}});
  auto task = make_task("exemplar", spec);
  auto model = task->build_model();
  auto* exemplar = dynamic_cast<ExemplarModelImpl*>(model.get());
  ASSERT_NE(exemplar, nullptr);
  EXPECT_EQ(exemplar->head(0).get(), exemplar->head(2).get());
  const auto names = model->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "projection.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "encoder.down0.conv1.weight"), names.end());
  model->eval();
  Rng rng(1);
  const auto batch = task->make_batch(samples_of(blob_images(2, 1, 32, 3, 4), 0, 3), rng, true);
  const auto codes = exemplar->forward(batch.at("input"));
  ASSERT_EQ(codes.sizes(), torch::IntArrayRef({3, 3, 16}));
  EXPECT_TRUE(torch::allclose(codes.norm(2, -1), torch::ones({3, 3}), 1e-5, 1e-5));
  // step = squared Euclidean triplet loss with margin 0.5 on these codes.
  const auto out = task->step(*model, batch);
  const auto expected = losses::triplet_loss(codes.select(1, 0), codes.select(1, 1), codes.select(1, 2), 0.5,
                                             losses::TripletDistance::squared_euclidean);
  EXPECT_NEAR(out.loss.item<double>(), expected.loss.item<double>(), 1e-6);
  EXPECT_DOUBLE_EQ(out.metrics.at("triplet_acc"), expected.accuracy);
  // The mean distances (what shows a collapse: both near 0) are reported too.
  EXPECT_NEAR(out.metrics.at("pos_dist"), expected.positive_distance.mean().item<double>(), 1e-6);
  EXPECT_NEAR(out.metrics.at("neg_dist"), expected.negative_distance.mean().item<double>(), 1e-6);
}

TEST(Exemplar, FaithfulModelHasThreeSeparateSigmoidHeads) {
  const auto spec = exemplar_spec(3, 16, 2, {{"sample_neg_examples_from", "batch"}}, /*faithful=*/true);
  auto task = make_task("exemplar", spec);
  auto model = task->build_model();
  auto* exemplar = dynamic_cast<ExemplarModelImpl*>(model.get());
  ASSERT_NE(exemplar, nullptr);
  const auto params = model->named_parameters();
  for (const char* head : {"anchor_head", "positive_head", "negative_head"})
    EXPECT_TRUE(params.contains(std::string(head) + ".weight")) << head;
  EXPECT_FALSE(params.contains("projection.weight"));
  EXPECT_FALSE(torch::equal(params["anchor_head.weight"], params["positive_head.weight"]));
  EXPECT_FALSE(torch::equal(params["positive_head.weight"], params["negative_head.weight"]));
  model->eval();
  Rng rng(3);
  const auto batch = task->make_batch(samples_of(blob_images(3, 2, 16, 2, 4), 0, 2), rng, true);
  const auto codes = exemplar->forward(batch.at("input"));
  ASSERT_EQ(codes.sizes(), torch::IntArrayRef({2, 3, 16}));
  EXPECT_GT(codes.min().item<float>(), 0.0f);
  EXPECT_LT(codes.max().item<float>(), 1.0f);
  // The reference loss: mean over the batch of max(0, mean_c (a-p)^2 - mean_c (a-n)^2 + 1).
  const auto a = codes.select(1, 0), p = codes.select(1, 1), n = codes.select(1, 2);
  const auto by_hand = torch::relu((a - p).pow(2).mean(-1) - (a - n).pow(2).mean(-1) + 1.0).mean();
  const auto out = task->step(*model, batch);
  EXPECT_NEAR(out.loss.item<double>(), by_hand.item<double>(), 1e-6);
  EXPECT_TRUE(out.metrics.count("triplet_acc"));
}

TEST(Exemplar, LearnsOn2DBlobs) {
  const ssl_testing::ImageMaker make = [](Rng& rng) { return ssl_testing::scaled_blob_image(2, 1, 32, rng); };
  const auto held_out = ssl_testing::make_images(make, 32, 200);
  auto spec = exemplar_spec(2, 32, 1, {{"code_size", 32}});
  ssl_testing::use_learning_encoder(spec);
  const auto curve = ssl_testing::train_held_out(*make_task("exemplar", spec), make, held_out, 120, 8);
  EXPECT_LT(curve.after.loss, 0.7 * curve.before.loss)
      << "before " << curve.before.loss << " after " << curve.after.loss;
  EXPECT_GT(curve.after.metrics.at("triplet_acc"), 0.75);
}

TEST(Exemplar, LossFallsOn3DBlobs) {
  // Learning D4-and-free-rotation invariance in 3D is slower than in 2D: 100 steps of 4 triplets at 16^3 bring the
  // held-out loss from ~0.45 (chance: 0.5 = margin) to ~0.35.
  const ssl_testing::ImageMaker make = [](Rng& rng) { return ssl_testing::scaled_blob_image(3, 1, 16, rng); };
  const auto held_out = ssl_testing::make_images(make, 32, 400);
  auto spec = exemplar_spec(3, 16, 1, {{"code_size", 32}});
  ssl_testing::use_learning_encoder(spec);
  const auto curve = ssl_testing::train_held_out(*make_task("exemplar", spec), make, held_out, 100, 4);
  EXPECT_LT(curve.after.loss, 0.85 * curve.before.loss)
      << "before " << curve.before.loss << " after " << curve.after.loss;
  EXPECT_GT(curve.after.metrics.at("triplet_acc"), 0.6);
}

}  // namespace
}  // namespace medssl::pretext
