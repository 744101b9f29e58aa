#include "medssl/train/data_shard.h"

#include "medssl/core/error.h"
#include "medssl/train/distributed.h"

namespace medssl::train {

DataShard DataShard::of(const ProcessGroup* group) {
  DataShard shard;
  if (group != nullptr) {
    shard.rank = group->rank();
    shard.world_size = group->world_size();
  }
  return shard;
}

int64_t DataShard::local_batch(int64_t global_batch, const std::string& what, int64_t min_local) const {
  if (!sharded()) return global_batch;
  check(global_batch % world_size == 0 && global_batch / world_size >= min_local,
        "{} ({}) cannot be split evenly among {} processes with at least {} each: batch_size is the global batch of "
        "all processes, so use a multiple of {} (at least {})",
        what, global_batch, world_size, min_local, world_size, world_size * std::max<int64_t>(min_local, 1));
  return global_batch / world_size;
}

int64_t DataShard::batches(int64_t unsharded_batches, int64_t items, int64_t global_batch) const {
  if (!sharded()) return unsharded_batches;
  const int64_t full = global_batch > 0 ? items / global_batch : 0;
  check(full >= 1, "{} items make no full global batch of {} for {} processes; lower batch_size or add data", items,
        global_batch, world_size);
  return full;
}

MakeBatchFn DataShard::wrap(MakeBatchFn make_micro_batch) const {
  if (!sharded()) return make_micro_batch;
  const DataShard self = *this;
  return [self, make = std::move(make_micro_batch)](int64_t epoch, int64_t index, uint64_t seed) {
    return make(epoch, self.micro_batch(index), seed);
  };
}

}  // namespace medssl::train
