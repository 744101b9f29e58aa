// vit_masked (the MONAI self-supervised tutorial): the coarse dropout / shuffle transforms (hole counts and sizes,
// inpainting vs outpainting, shuffling inside boxes, seeded determinism), the batches (two crops per image, two
// corruptions per crop, clean targets), the loss against a hand computation, the ViTAutoEnc names, option errors,
// and learning on blobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "medssl/data/transforms/coarse_dropout.h"
#include "medssl/data/transforms/coarse_shuffle.h"
#include "medssl/losses/nt_xent.h"
#include "medssl/pretext/vit_masked.h"
#include "ssl_task_testing.h"
#include "testkit/testkit.h"

using namespace medssl;
using namespace medssl::pretext;

namespace {

// Distinct values in [0, 1) (so an unchanged voxel is recognisable).
torch::Tensor distinct_image(std::vector<int64_t> shape) {
  const int64_t n = c10::multiply_integers(shape);
  return (torch::arange(n, torch::kFloat32) / static_cast<double>(n)).reshape(shape).contiguous();
}

// Spatial mask (spatial shape) of the union of the boxes.
torch::Tensor union_mask(const std::vector<int64_t>& spatial, const std::vector<SpatialBox>& boxes) {
  auto mask = torch::zeros(spatial, torch::kBool);
  for (const auto& b : boxes) {
    auto region = mask;
    for (size_t d = 0; d < spatial.size(); ++d) region = region.narrow(static_cast<int64_t>(d), b.start[d], b.size[d]);
    region.fill_(true);
  }
  return mask;
}

std::vector<float> sorted_values(const torch::Tensor& t) {
  auto flat = t.contiguous().reshape({-1});
  std::vector<float> v(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  std::sort(v.begin(), v.end());
  return v;
}

TaskSpec vit_spec(int dims, int64_t data_dim, int64_t channels, nlohmann::json params) {
  return ssl_testing::tiny_spec(dims, data_dim, channels, std::move(params), nlohmann::json::object());
}

const nlohmann::json kTinyVit = {{"vit_patch_size", 4}, {"hidden_size", 32}, {"num_heads", 2}, {"mlp_dim", 64},
                                 {"vit_num_layers", 2}};

nlohmann::json tiny_vit(nlohmann::json extra) {
  auto p = kTinyVit;
  for (const auto& [k, v] : extra.items()) p[k] = v;
  return p;
}

}  // namespace

// ---------------------------------------------------------------- coarse dropout

TEST(CoarseDropout, ReferenceDefaults) {
  const auto in = CoarseDropoutOptions::inpainting();
  EXPECT_EQ(in.holes.holes, 6);
  EXPECT_EQ(in.holes.spatial_size, std::vector<int64_t>{5});
  EXPECT_EQ(*in.holes.max_spatial_size, std::vector<int64_t>{32});
  EXPECT_TRUE(in.dropout_holes);
  EXPECT_EQ(in.prob, 1.0);
  const auto out = CoarseDropoutOptions::outpainting();
  EXPECT_EQ(out.holes.holes, 6);
  EXPECT_EQ(out.holes.spatial_size, std::vector<int64_t>{20});
  EXPECT_EQ(*out.holes.max_spatial_size, std::vector<int64_t>{64});
  EXPECT_FALSE(out.dropout_holes);
  const CoarseShuffleOptions shuffle;
  EXPECT_EQ(shuffle.holes.holes, 10);
  EXPECT_EQ(shuffle.holes.spatial_size, std::vector<int64_t>{8});
  EXPECT_FALSE(shuffle.holes.max_spatial_size.has_value());
  EXPECT_DOUBLE_EQ(shuffle.prob, 0.8);
}

TEST(CoarseDropout, OneFixedHoleChangesExactlyItsVoxels3D) {
  const auto image = distinct_image({2, 20, 20, 20});
  CoarseDropoutOptions o;
  o.holes = CoarseHoleOptions{1, {4, 5, 6}, std::nullopt, std::nullopt, false};
  o.fill_value = -1.0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    std::vector<SpatialBox> holes;
    auto out = random_coarse_dropout(image, o, rng, &holes);
    ASSERT_EQ(holes.size(), 1u);
    EXPECT_EQ(holes[0].size, (std::vector<int64_t>{4, 5, 6}));
    // Every channel of the hole, nothing else.
    EXPECT_EQ(out.ne(image).sum().item<int64_t>(), 2 * 4 * 5 * 6);
    EXPECT_EQ(out.eq(-1.0f).sum().item<int64_t>(), 2 * 4 * 5 * 6);
    EXPECT_TRUE(torch::all(box_view(out, holes[0]).eq(-1.0f)).item<bool>());
  }
}

TEST(CoarseDropout, HoleCountsAndSizesFollowTheOptions) {
  const std::vector<int64_t> shape = {96, 96, 96};
  CoarseHoleOptions fixed{6, {7}, std::nullopt, std::nullopt, false};
  CoarseHoleOptions ranged{6, {5}, std::vector<int64_t>{32}, std::nullopt, false};
  CoarseHoleOptions counted{2, {3}, std::nullopt, int64_t{5}, false};
  Rng rng(11);
  int64_t smallest = 1000, largest = 0;
  std::set<int64_t> counts;
  for (int i = 0; i < 200; ++i) {
    auto holes = sample_coarse_holes(shape, fixed, rng);
    ASSERT_EQ(holes.size(), 6u);
    for (const auto& h : holes) {
      EXPECT_EQ(h.size, (std::vector<int64_t>{7, 7, 7}));
      for (size_t d = 0; d < 3; ++d) EXPECT_TRUE(h.start[d] >= 0 && h.start[d] + 7 <= 96);
    }
    holes = sample_coarse_holes(shape, ranged, rng);
    ASSERT_EQ(holes.size(), 6u);
    for (const auto& h : holes)
      for (auto s : h.size) {
        EXPECT_TRUE(s >= 5 && s <= 32) << s;
        smallest = std::min(smallest, s);
        largest = std::max(largest, s);
      }
    counts.insert(static_cast<int64_t>(sample_coarse_holes(shape, counted, rng).size()));
  }
  EXPECT_EQ(smallest, 5);
  EXPECT_EQ(largest, 32);
  EXPECT_EQ(counts, (std::set<int64_t>{2, 3, 4, 5}));
  // Sizes larger than the image are clipped to it (MONAI's get_valid_patch_size); <= 0 means the whole axis.
  for (const auto& h : sample_coarse_holes({16, 16}, CoarseHoleOptions{3, {20, 0}, std::nullopt, std::nullopt, false}, rng)) {
    EXPECT_EQ(h.size, (std::vector<int64_t>{16, 16}));
    EXPECT_EQ(h.start, (std::vector<int64_t>{0, 0}));
  }
}

TEST(CoarseDropout, MonaiGrowingSizesNeverShrink) {
  CoarseHoleOptions o{6, {5}, std::vector<int64_t>{32}, std::nullopt, true};
  Rng rng(3);
  bool grew = false;
  for (int i = 0; i < 100; ++i) {
    const auto holes = sample_coarse_holes({96, 96, 96}, o, rng);
    for (size_t k = 1; k < holes.size(); ++k)
      for (size_t d = 0; d < 3; ++d) {
        EXPECT_GE(holes[k].size[d], holes[k - 1].size[d]);
        grew = grew || holes[k].size[d] > holes[k - 1].size[d];
      }
  }
  EXPECT_TRUE(grew);
}

TEST(CoarseDropout, InpaintingKeepsEveryVoxelOutsideTheHolesAndFillsThemWithImageRangeNoise) {
  const auto image = distinct_image({1, 24, 24, 24}) * 3.0 - 1.0;  // range [-1, 2)
  const double lo = image.min().item<double>(), hi = image.max().item<double>();
  Rng rng(5);
  std::vector<SpatialBox> holes;
  auto out = random_coarse_dropout(image, CoarseDropoutOptions::inpainting(), rng, &holes);
  ASSERT_EQ(holes.size(), 6u);
  const auto mask = union_mask({24, 24, 24}, holes).unsqueeze(0);
  EXPECT_TRUE(torch::equal(out.masked_select(~mask), image.masked_select(~mask)));
  const auto filled = out.masked_select(mask);
  EXPECT_GE(filled.min().item<double>(), lo);
  EXPECT_LE(filled.max().item<double>(), hi);
  // Noise, not the image: (almost) every hole voxel changed, and the fill spreads over the range.
  EXPECT_GT(filled.ne(image.masked_select(mask)).to(torch::kFloat32).mean().item<double>(), 0.999);
  EXPECT_NEAR(filled.mean().item<double>(), (lo + hi) / 2, 0.1);
}

TEST(CoarseDropout, OutpaintingKeepsOnlyTheHoleVoxels2D) {
  const auto image = distinct_image({2, 48, 40});
  const double lo = image.min().item<double>(), hi = image.max().item<double>();
  CoarseDropoutOptions o = CoarseDropoutOptions::outpainting();
  o.holes.max_spatial_size = std::vector<int64_t>{24};  // so the holes do not cover the whole image
  o.holes.spatial_size = {4};
  Rng rng(8);
  std::vector<SpatialBox> holes;
  auto out = random_coarse_dropout(image, o, rng, &holes);
  ASSERT_EQ(holes.size(), 6u);
  const auto mask = union_mask({48, 40}, holes).unsqueeze(0).expand({2, 48, 40});
  EXPECT_TRUE(torch::equal(out.masked_select(mask), image.masked_select(mask)));
  const auto outside = out.masked_select(~mask);
  ASSERT_GT(outside.numel(), 0);
  EXPECT_TRUE(torch::all(outside.ne(image.masked_select(~mask))).item<bool>());
  EXPECT_GE(outside.min().item<double>(), lo);
  EXPECT_LE(outside.max().item<double>(), hi);
  // The number of unchanged voxels is the size of the union of the holes.
  EXPECT_EQ(out.eq(image).sum().item<int64_t>(), mask.sum().item<int64_t>());
}

TEST(CoarseDropout, SeededAndPureAndProbabilistic) {
  const auto image = distinct_image({1, 32, 32, 32});
  const auto copy = image.clone();
  Rng a(21), b(21), c(22);
  auto x = random_coarse_dropout(image, CoarseDropoutOptions::inpainting(), a);
  auto y = random_coarse_dropout(image, CoarseDropoutOptions::inpainting(), b);
  auto z = random_coarse_dropout(image, CoarseDropoutOptions::inpainting(), c);
  EXPECT_TRUE(torch::equal(x, y));
  EXPECT_FALSE(torch::equal(x, z));
  EXPECT_TRUE(torch::equal(image, copy));  // the input is untouched
  CoarseDropoutOptions never = CoarseDropoutOptions::inpainting();
  never.prob = 0.0;
  std::vector<SpatialBox> holes;
  EXPECT_TRUE(torch::equal(random_coarse_dropout(image, never, a, &holes), image));
  EXPECT_TRUE(holes.empty());
  CoarseShuffleOptions sometimes;  // p 0.8
  Rng p(1);
  int applied = 0;
  const auto small = distinct_image({1, 8, 8});
  for (int i = 0; i < 2000; ++i) {
    std::vector<SpatialBox> boxes;
    random_coarse_shuffle(small, sometimes, p, &boxes);
    applied += boxes.empty() ? 0 : 1;
  }
  EXPECT_NEAR(applied / 2000.0, 0.8, 0.03);
}

TEST(CoarseDropout, BadOptionsAreNamed) {
  Rng rng(0);
  EXPECT_NE(testkit::error_of([&] {
              sample_coarse_holes({16, 16}, CoarseHoleOptions{2, {10}, std::vector<int64_t>{5}, std::nullopt, false}, rng);
            }).find("max_spatial_size"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              sample_coarse_holes({16, 16}, CoarseHoleOptions{2, {1, 2, 3}, std::nullopt, std::nullopt, false}, rng);
            }).find("spatial_size"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              sample_coarse_holes({16, 16}, CoarseHoleOptions{3, {2}, std::nullopt, int64_t{2}, false}, rng);
            }).find("max_holes"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] { coarse_dropout(torch::zeros({1, 4, 4}, torch::kInt64), {}, true, {}, rng); })
                .find("floating"),
            std::string::npos);
}

// ---------------------------------------------------------------- coarse shuffle

TEST(CoarseShuffle, OneBoxKeepsItsValuesPerChannelAndNothingElseMoves) {
  const auto image = distinct_image({2, 16, 16, 16});
  const SpatialBox box{{3, 4, 5}, {8, 8, 8}};
  Rng rng(4);
  auto out = coarse_shuffle(image, {box}, rng);
  const auto mask = union_mask({16, 16, 16}, {box}).unsqueeze(0).expand({2, 16, 16, 16});
  EXPECT_TRUE(torch::equal(out.masked_select(~mask), image.masked_select(~mask)));
  for (int64_t c = 0; c < 2; ++c)
    EXPECT_EQ(sorted_values(box_view(out, box)[c]), sorted_values(box_view(image, box)[c])) << "channel " << c;
  // Shuffled: nearly every voxel of the 512 moved.
  EXPECT_GT(box_view(out, box).ne(box_view(image, box)).sum().item<int64_t>(), 2 * 500);
}

TEST(CoarseShuffle, TenBoxesOfTheConfiguredSize) {
  const auto image = distinct_image({1, 40, 40, 40});
  CoarseShuffleOptions o;
  o.prob = 1.0;
  Rng rng(9);
  std::vector<SpatialBox> boxes;
  auto out = random_coarse_shuffle(image, o, rng, &boxes);
  ASSERT_EQ(boxes.size(), 10u);
  for (const auto& b : boxes) EXPECT_EQ(b.size, (std::vector<int64_t>{8, 8, 8}));
  const auto mask = union_mask({40, 40, 40}, boxes).unsqueeze(0);
  // Outside the boxes nothing changes; inside, the union keeps its multiset of values (boxes may overlap).
  EXPECT_TRUE(torch::equal(out.masked_select(~mask), image.masked_select(~mask)));
  EXPECT_EQ(sorted_values(out.masked_select(mask)), sorted_values(image.masked_select(mask)));
  const int64_t moved = out.ne(image).sum().item<int64_t>();
  EXPECT_GT(moved, mask.sum().item<int64_t>() * 9 / 10);
  EXPECT_LE(moved, mask.sum().item<int64_t>());
  // Seeded.
  Rng again(9);
  EXPECT_TRUE(torch::equal(random_coarse_shuffle(image, o, again), out));
  // 2D.
  const auto flat = distinct_image({1, 20, 20});
  auto out2 = random_coarse_shuffle(flat, o, rng, &boxes);
  ASSERT_EQ(boxes.size(), 10u);
  EXPECT_EQ(sorted_values(out2), sorted_values(flat));
}

// ---------------------------------------------------------------- loss

TEST(VitMasked, LossIsL1PlusL1WeightedMonaiContrastiveLoss) {
  // Two samples, 1 x 2 x 2 each.
  const auto r1 = torch::tensor({1.0f, 2.0f, -1.0f, 0.5f, 0.0f, 1.0f, 3.0f, -2.0f}).reshape({2, 1, 2, 2});
  const auto r2 = torch::tensor({0.5f, 2.0f, 1.0f, 0.0f, -1.0f, 1.5f, 2.0f, -1.0f}).reshape({2, 1, 2, 2});
  const auto x = torch::tensor({1.0f, 1.0f, 0.0f, 0.0f, 0.5f, 0.5f, 2.0f, -1.0f}).reshape({2, 1, 2, 2});
  const double T = 0.05;
  auto a1 = r1.reshape({-1}), a2 = r2.reshape({-1}), ax = x.reshape({-1});
  double l1 = 0;
  for (int64_t i = 0; i < 8; ++i) l1 += std::abs(a1[i].item<double>() - ax[i].item<double>()) / 8.0;
  // MONAI ContrastiveLoss: rows [r1_0, r1_1, r2_0, r2_1], cosine similarities, positives at +-B, denominator all
  // b != a (positive included), mean over the 2B rows.
  std::vector<std::vector<double>> rows(4, std::vector<double>(4));
  for (int64_t s = 0; s < 2; ++s)
    for (int64_t k = 0; k < 4; ++k) {
      rows[static_cast<size_t>(s)][static_cast<size_t>(k)] = a1[s * 4 + k].item<double>();
      rows[static_cast<size_t>(s + 2)][static_cast<size_t>(k)] = a2[s * 4 + k].item<double>();
    }
  auto cosine = [&](size_t i, size_t j) {
    double dot = 0, ni = 0, nj = 0;
    for (size_t k = 0; k < 4; ++k) {
      dot += rows[i][k] * rows[j][k];
      ni += rows[i][k] * rows[i][k];
      nj += rows[j][k] * rows[j][k];
    }
    return dot / std::sqrt(ni * nj);
  };
  double cl = 0;
  for (size_t a = 0; a < 4; ++a) {
    const size_t pos = a < 2 ? a + 2 : a - 2;
    double denominator = 0;
    for (size_t b = 0; b < 4; ++b)
      if (b != a) denominator += std::exp(cosine(a, b) / T);
    cl += -std::log(std::exp(cosine(a, pos) / T) / denominator) / 4.0;
  }
  const auto loss = masked_reconstruction_loss(r1, r2, x, T);
  EXPECT_NEAR(loss.l1.item<double>(), l1, 1e-6);
  EXPECT_NEAR(loss.contrastive.item<double>(), cl, 1e-4);
  EXPECT_NEAR(loss.total.item<double>(), l1 + cl * l1, 1e-4);

  // No detach: the gradient reaches view 2 only through the contrastive term, scaled by l1.
  auto g1 = r1.clone().requires_grad_(true), g2 = r2.clone().requires_grad_(true);
  masked_reconstruction_loss(g1, g2, x, T).total.backward();
  auto h2 = r2.clone().requires_grad_(true);
  losses::nt_xent_loss(r1.flatten(1), h2.flatten(1), T).loss.backward();
  EXPECT_TRUE(torch::allclose(g2.grad(), h2.grad() * l1, 1e-4, 1e-6));
  EXPECT_GT(g1.grad().abs().sum().item<double>(), 0);

  EXPECT_NE(testkit::error_of([&] { masked_reconstruction_loss(r1, r2.reshape({2, 4}), x, T); }).find("equal shapes"),
            std::string::npos);
}

// ---------------------------------------------------------------- task

TEST(VitMasked, BatchesHoldTwoCorruptedViewsOfEachOfTwoCropsPerImage) {
  // Channel a of the coordinate image holds 1 + the coordinate on axis a: the clean crop tells where it was cut.
  const auto image = ssl_testing::coordinate_image(3, 24);
  auto task = make_task("vit_masked", vit_spec(3, 24, 3, tiny_vit({{"crop_size", 16}})));
  std::vector<Sample> samples = {{image, {}, 0}, {image, {}, 1}, {image, {}, 2}};
  Rng rng(17);
  const auto batch = task->make_batch(samples, rng, true);
  EXPECT_EQ(batch.size, 6);
  for (const auto* key : {"view1", "view2", "target1", "target2"})
    EXPECT_EQ(batch.at(key).sizes(), (std::vector<int64_t>{6, 3, 16, 16, 16})) << key;
  EXPECT_TRUE(torch::equal(batch.at("target1"), batch.at("target2")));
  int corrupted = 0, differing = 0;
  for (int64_t s = 0; s < 6; ++s) {
    const auto target = batch.at("target1")[s];
    std::vector<int64_t> start;
    for (int64_t a = 0; a < 3; ++a) start.push_back(static_cast<int64_t>(target[a][0][0][0].item<float>()) - 1);
    EXPECT_TRUE(torch::equal(target, crop(image, SpatialBox{start, {16, 16, 16}}))) << "sample " << s;
    corrupted += !torch::equal(batch.at("view1")[s], target);
    corrupted += !torch::equal(batch.at("view2")[s], target);
    differing += !torch::equal(batch.at("view1")[s], batch.at("view2")[s]);
  }
  // A view stays clean only with outpainting holes covering the whole crop and no shuffle (p 0.5 * 0.2).
  EXPECT_GE(corrupted, 10);
  EXPECT_GE(differing, 5);
  // Seeded: the same stream gives the same batch.
  Rng again(17);
  const auto repeat = task->make_batch(samples, again, true);
  for (const auto* key : {"view1", "view2", "target1"}) EXPECT_TRUE(torch::equal(batch.at(key), repeat.at(key))) << key;
}

TEST(VitMasked, ModelIsAViTAutoEncCalledEncoderWithMonaiNames) {
  const auto spec = vit_spec(3, 16, 1, tiny_vit({}));
  auto task = make_task("vit_masked", spec);
  auto model = task->build_model();
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const std::string name :
       {"encoder.patch_embedding.position_embeddings", "encoder.patch_embedding.patch_embeddings.weight",
        "encoder.blocks.0.attn.qkv.weight", "encoder.blocks.1.mlp.linear2.bias", "encoder.norm.weight",
        "encoder.conv3d_transpose.weight", "encoder.conv3d_transpose_1.bias"})
    EXPECT_TRUE(names.count(name)) << name;
  EXPECT_FALSE(names.count("encoder.blocks.0.attn.qkv.bias"));  // qkv_bias false
  for (const auto& name : names) EXPECT_EQ(name.rfind("encoder.", 0), 0u) << name;
  EXPECT_EQ(task->monitor(), "val_l1");

  const auto options = vit_masked_encoder_options(spec);
  EXPECT_EQ(options["patch_size"], nlohmann::json({4, 4, 4}));
  EXPECT_EQ(options["img_size"], nlohmann::json({16, 16, 16}));
  EXPECT_EQ(options["num_layers"], 2);
  EXPECT_EQ(options["hidden_size"], 32);
  EXPECT_EQ(options["qkv_bias"], false);
  // Defaults: the tutorial's ViT, crops of min(data_dim, 96).
  auto defaults = vit_masked_encoder_options(vit_spec(3, 128, 1, nlohmann::json::object()));
  EXPECT_EQ(defaults["img_size"], nlohmann::json({96, 96, 96}));
  EXPECT_EQ(defaults["patch_size"], nlohmann::json({16, 16, 16}));
  EXPECT_EQ(defaults["num_layers"], 12);
  EXPECT_EQ(defaults["num_heads"], 12);
  EXPECT_EQ(defaults["hidden_size"], 768);
  EXPECT_EQ(defaults["mlp_dim"], 3072);
  EXPECT_EQ(vit_masked_crop_size(vit_spec(2, 64, 1, nlohmann::json::object())), 64);
}

TEST(VitMasked, BadOptionsAreNamed) {
  auto error = [](int64_t data_dim, nlohmann::json params) {
    return testkit::error_of([&] { make_task("vit_masked", vit_spec(3, data_dim, 1, std::move(params))); });
  };
  EXPECT_NE(error(16, tiny_vit({{"vit_patch_size", 5}})).find("vit_patch_size"), std::string::npos);
  EXPECT_NE(error(24, tiny_vit({{"crop_size", 24}, {"vit_patch_size", 16}})).find("multiple of vit_patch_size"),
            std::string::npos);
  EXPECT_NE(error(16, tiny_vit({{"crop_size", 32}})).find("crop_size"), std::string::npos);
  EXPECT_NE(error(16, tiny_vit({{"num_heads", 3}})).find("num_heads"), std::string::npos);
  EXPECT_NE(error(16, tiny_vit({{"temperature", 0}})).find("temperature"), std::string::npos);
  EXPECT_NE(error(16, tiny_vit({{"hidden_size", "wide"}})).find("hidden_size"), std::string::npos);
}

TEST(VitMasked, LossFallsOn2DBlobs) {
  auto task = make_task("vit_masked", vit_spec(2, 24, 1, tiny_vit({{"crop_size", 16}})));
  const ssl_testing::ImageMaker make = [](Rng& rng) { return ssl_testing::blob_image(2, 1, 24, rng); };
  const auto held_out = ssl_testing::make_images(make, 16, 300);
  const auto curve = ssl_testing::train_held_out(*task, make, held_out, 60, 4);
  EXPECT_LT(curve.after.loss, 0.7 * curve.before.loss) << curve.before.loss << " -> " << curve.after.loss;
  EXPECT_LT(curve.after.metrics.at("l1"), 0.7 * curve.before.metrics.at("l1"));
  std::cout << "vit_masked 2D held-out loss " << curve.before.loss << " -> " << curve.after.loss << " (l1 "
            << curve.before.metrics.at("l1") << " -> " << curve.after.metrics.at("l1") << ", contrastive "
            << curve.before.metrics.at("contrastive") << " -> " << curve.after.metrics.at("contrastive") << ")\n";
}

TEST(VitMasked, LossFallsOn3DBlobs) {
  auto task = make_task("vit_masked", vit_spec(3, 16, 1, tiny_vit({{"crop_size", 16}})));
  const ssl_testing::ImageMaker make = [](Rng& rng) { return ssl_testing::blob_image(3, 1, 16, rng); };
  const auto held_out = ssl_testing::make_images(make, 8, 301);
  const auto curve = ssl_testing::train_held_out(*task, make, held_out, 60, 4);
  EXPECT_LT(curve.after.loss, 0.7 * curve.before.loss) << curve.before.loss << " -> " << curve.after.loss;
  std::cout << "vit_masked 3D held-out loss " << curve.before.loss << " -> " << curve.after.loss << " (l1 "
            << curve.before.metrics.at("l1") << " -> " << curve.after.metrics.at("l1") << ", contrastive "
            << curve.before.metrics.at("contrastive") << " -> " << curve.after.metrics.at("contrastive") << ")\n";
}
