#pragma once
// Which part of every global batch a rank of a data-parallel run trains on.
//
// `batch_size` stays the GLOBAL batch: with N ranks each rank builds batch_size / N samples per step, and the N
// shards of step j are exactly the samples a single process would put in its batch j. The epoch's shuffled order
// is the same permutation on every rank (it comes from the shared seed); rank r takes the r-th slice of each global
// batch. In terms of the batch makers (batch `index` = samples order[index * b, (index + 1) * b)): rank r's batch j is
// the micro-batch of size b = B / N at index j * N + r, which covers order[j * B + r * b, j * B + (r + 1) * b).
// With averaged gradients, a loss that is a mean over samples then gives the single-process gradient of the
// combined batch (BatchNorm too with sync_bn; docs/distributed.md lists what differs otherwise). Random draws inside
// a batch (crops, augmentations, pretext labels) come from the micro-batch's own stream, so they follow the same
// distribution as, but are not the same numbers as, the single-process draws.
//
// Only full global batches are used when sharded (a trailing partial batch would leave some ranks short), so an
// epoch has floor(items / batch_size) steps.
#include <cstdint>
#include <string>

#include "medssl/train/threaded_batch_source.h"

namespace medssl::train {

class ProcessGroup;

struct DataShard {
  int rank = 0;
  int world_size = 1;

  /// The shard of `group`'s rank; a single process (nullptr) is the whole batch.
  static DataShard of(const ProcessGroup* group);
  bool sharded() const { return world_size > 1; }

  /// The per-rank part of a global batch of `global_batch` units (`what` says which, e.g. "images per batch"):
  /// throws medssl::Error unless it divides evenly into parts of at least `min_local`.
  int64_t local_batch(int64_t global_batch, const std::string& what, int64_t min_local = 1) const;
  /// Batches per epoch: `unsharded_batches` (the caller's own rule) for one process; full global batches of `items`
  /// when sharded (throws if there is not even one).
  int64_t batches(int64_t unsharded_batches, int64_t items, int64_t global_batch) const;
  /// This rank's micro-batch index for global batch `index`.
  int64_t micro_batch(int64_t index) const { return index * world_size + rank; }
  /// A maker of global batch `index` from a maker of micro-batches (of the local batch size).
  MakeBatchFn wrap(MakeBatchFn make_micro_batch) const;
};

}  // namespace medssl::train
