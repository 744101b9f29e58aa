// Sharding: the ranks' micro-batches of global batch j are exactly the single-process batch j, split in rank order.
#include <gtest/gtest.h>

#include <vector>

#include "medssl/train/data_shard.h"
#include "testkit/testkit.h"

namespace medssl::train {
namespace {

// A maker in the style of pretrain/finetune: batch `index` = items order[index * b, (index + 1) * b) of a fixed
// order, recorded in tensor "items".
MakeBatchFn recording_maker(int64_t items, int64_t batch) {
  return [items, batch](int64_t, int64_t index, uint64_t) {
    std::vector<int64_t> ids;
    for (int64_t k = index * batch; k < std::min(items, (index + 1) * batch); ++k) ids.push_back((k * 7) % items);
    Batch b;
    b.tensors["items"] = torch::tensor(ids, torch::kLong);
    b.size = static_cast<int64_t>(ids.size());
    return b;
  };
}

TEST(DataShard, RankShardsOfEachGlobalBatchConcatenateToTheSingleProcessBatch) {
  const int64_t items = 29, global = 6, world = 3;
  const DataShard one;
  const auto single = one.wrap(recording_maker(items, global));
  const int64_t steps = DataShard{0, static_cast<int>(world)}.batches(5, items, global);
  EXPECT_EQ(steps, 4);  // 29 / 6: full global batches only
  for (int64_t j = 0; j < steps; ++j) {
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < world; ++r) {
      const DataShard shard{r, static_cast<int>(world)};
      const auto make = shard.wrap(recording_maker(items, shard.local_batch(global, "batch_size")));
      parts.push_back(make(0, j, 0).tensors.at("items"));
    }
    EXPECT_TRUE(torch::equal(torch::cat(parts), single(0, j, 0).tensors.at("items"))) << "global batch " << j;
  }
}

TEST(DataShard, OneProcessKeepsItsOwnRules) {
  const DataShard one;
  EXPECT_FALSE(one.sharded());
  EXPECT_EQ(one.batches(5, 29, 6), 5);  // the caller's count (e.g. a kept trailing batch)
  EXPECT_EQ(one.local_batch(7, "batch_size"), 7);
  EXPECT_EQ(DataShard::of(nullptr).world_size, 1);
}

TEST(DataShard, UnevenOrTooSmallBatchesAreErrors) {
  const DataShard shard{1, 4};
  EXPECT_NE(testkit::error_of([&] { shard.local_batch(6, "batch_size"); }).find("multiple of 4"), std::string::npos);
  EXPECT_NE(testkit::error_of([&] { shard.local_batch(4, "images per batch", 2); }).find("at least 2"),
            std::string::npos);
  EXPECT_EQ(shard.local_batch(8, "batch_size", 2), 2);
  EXPECT_NE(testkit::error_of([&] { shard.batches(1, 5, 8); }).find("no full global batch"), std::string::npos);
}

}  // namespace
}  // namespace medssl::train
