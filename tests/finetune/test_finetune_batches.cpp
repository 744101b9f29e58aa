// Finetuning batches: one pass per epoch by default; fixed-length epochs (steps_per_epoch) cycle through freshly
// shuffled passes so small label fractions get as many optimiser steps as the full set, every item equally often.
#include <gtest/gtest.h>

#include <map>

#include "data/loader_fixtures.h"
#include "medssl/finetune/finetune_batches.h"

using namespace medssl;

namespace {

// Which item of `set` each image of the batch is (no augmentation, whole images: exact copies).
std::vector<int64_t> items_in(const train::Batch& batch, const data::ImageSet& set, const std::vector<int64_t>& items) {
  std::vector<int64_t> found;
  const auto& images = batch.at("image");
  for (int64_t b = 0; b < images.size(0); ++b)
    for (int64_t item : items)
      if (torch::equal(images[b], set.image(item))) {
        found.push_back(item);
        break;
      }
  return found;
}

}  // namespace

TEST(FinetuneBatches, FixedStepsPerEpochCycleThroughShuffledPasses) {
  const auto& cache = loader_testing::ct_cubes();
  data::ImageSetOptions options;
  options.splits = {"training"};
  options.labels = true;
  const auto set = data::ImageSet::from_cache(cache, options);
  const std::vector<int64_t> items = {0, 1, 2};
  finetune::FinetuneBatches one_pass{&set, items, true, 2, 0, false};
  EXPECT_EQ(one_pass.batches(), 1);  // 3 items, batch 2: the trailing single sample sits out

  finetune::FinetuneBatches fixed{&set, items, true, 2, 0, false, 5};
  ASSERT_EQ(fixed.batches(), 5);
  std::map<int64_t, int> seen;
  for (int64_t i = 0; i < fixed.batches(); ++i) {
    auto batch = fixed.make(3, i, 42);
    EXPECT_EQ(batch.size, 2);
    auto found = items_in(batch, set, items);
    ASSERT_EQ(found.size(), 2u);
    for (auto item : found) ++seen[item];
    // Deterministic in (epoch, index, seed), whatever was drawn before.
    EXPECT_TRUE(torch::equal(batch.at("image"), fixed.make(3, i, 42).at("image")));
  }
  // 10 samples over 3 items = 3 whole passes + 1: every item 3 or 4 times.
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [item, count] : seen) EXPECT_TRUE(count == 3 || count == 4) << item << ": " << count;
  // Another epoch shuffles differently somewhere.
  bool differs = false;
  for (int64_t i = 0; i < fixed.batches(); ++i)
    differs = differs || !torch::equal(fixed.make(3, i, 42).at("image"), fixed.make(4, i, 42).at("image"));
  EXPECT_TRUE(differs);
}

TEST(FinetuneBatches, ForegroundOversamplingCentresTheBatchTailOnForeground) {
  const auto& cache = loader_testing::ct_cubes();
  data::ImageSetOptions options;
  options.splits = {"training"};
  options.labels = true;
  const auto set = data::ImageSet::from_cache(cache, options);
  std::vector<int64_t> items;
  for (int64_t i = 0; i < set.size(); ++i) items.push_back(i);
  const int64_t patch = 5;
  // Batch 4, p 0.5: nnU-Net's rule forces the samples from round(4 * 0.5) = 2 on.
  finetune::FinetuneBatches forced{&set, items, true, 4, patch, false, 40, 0.5};
  finetune::FinetuneBatches uniform{&set, items, true, 4, patch, false, 40, 0.0};
  int64_t forced_with_fg = 0, forced_total = 0, forced_lesion = 0, uniform_with_fg = 0, uniform_lesion = 0, uniform_total = 0;
  for (int64_t i = 0; i < forced.batches(); ++i) {
    const auto a = forced.make(0, i, 7);
    const auto b = uniform.make(0, i, 7);
    ASSERT_EQ(a.at("label").sizes(), (std::vector<int64_t>{4, patch, patch, patch}));
    ASSERT_EQ(a.at("image").sizes(), (std::vector<int64_t>{4, 1, patch, patch, patch}));
    for (int64_t s = 0; s < 4; ++s) {
      const auto& la = a.at("label")[s];
      const auto& lb = b.at("label")[s];
      if (s >= 2) {
        ++forced_total;
        forced_with_fg += (la > 0).any().item<bool>();
        forced_lesion += (la == 2).any().item<bool>();
      }
      ++uniform_total;
      uniform_with_fg += (lb > 0).any().item<bool>();
      uniform_lesion += (lb == 2).any().item<bool>();
    }
  }
  // Every phantom has a pancreas, so every forced crop holds foreground; random 5^3 crops of 16^3 mostly miss it.
  EXPECT_EQ(forced_with_fg, forced_total);
  EXPECT_LT(uniform_with_fg, uniform_total / 2);
  // The class is drawn among the classes a case holds: lesions (present in about half the cases) get centred often.
  EXPECT_GT(static_cast<double>(forced_lesion) / forced_total, 3.0 * uniform_lesion / uniform_total);
  EXPECT_GT(forced_lesion, forced_total / 8);
  // Deterministic in (epoch, index, seed).
  EXPECT_TRUE(torch::equal(forced.make(0, 3, 7).at("image"), forced.make(0, 3, 7).at("image")));
}
