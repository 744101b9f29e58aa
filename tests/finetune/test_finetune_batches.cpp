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
