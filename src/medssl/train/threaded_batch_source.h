#pragma once
// A BatchSource that builds batches on worker threads, ahead of the trainer, without giving up determinism.
//
// The contract (docs/design.md, "Loading"): batch `index` of epoch `epoch` is make(epoch, index, epoch_seed) and
// nothing else. make() derives all its randomness from its arguments (e.g. Rng::derive(epoch_seed, "crop", index)),
// never from shared state, so which thread builds a batch, and when, cannot change it. next() hands batches out
// strictly in index order; the result is identical for 0, 1 or N workers, and a restored position replays the same
// remaining batches.
//
// Threading: `workers` std::threads claim indices in order and build at most `prefetch` batches beyond the one the
// trainer is consuming (the window moves when next() returns). 0 workers builds each batch synchronously inside
// next(). make() runs concurrently on several threads, so it must only read shared data. Each worker restricts its own
// LibTorch intra-op (OpenMP) team to one thread, so N workers plus the trainer do not oversubscribe the cores; the
// process-wide setting (at::set_num_threads) is deliberately left alone, see the .cpp. make() runs with gradients
// disabled on every path (batches are data, never part of a graph).
//
// Errors: an exception thrown by make() is rethrown by next() for that index as medssl::Error naming the batch index,
// epoch and the original message. The failure is sticky: next() keeps rethrowing it until start_epoch() or restore().
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/train/batch_source.h"

namespace medssl::train {

/// Builds batch `batch_index` of epoch `epoch`; `epoch_seed` is the seed the trainer passed to start_epoch().
using MakeBatchFn = std::function<Batch(int64_t epoch, int64_t batch_index, uint64_t epoch_seed)>;

class ThreadedBatchSource : public BatchSource {
 public:
  /// `batches_per_epoch` <= 0 makes an endless source (the trainer then needs steps_per_epoch). `workers` >= 0;
  /// `prefetch` >= 1 when workers > 0 (it bounds the batches built ahead of the one being consumed).
  ThreadedBatchSource(int64_t batches_per_epoch, MakeBatchFn make, int workers = 2, int prefetch = 2);
  /// Stops the workers and joins them; a make() call in progress is allowed to finish (it cannot be interrupted).
  ~ThreadedBatchSource() override;
  ThreadedBatchSource(const ThreadedBatchSource&) = delete;
  ThreadedBatchSource& operator=(const ThreadedBatchSource&) = delete;

  int64_t size() const override { return batches_per_epoch_; }
  /// Discards everything built for the previous epoch (waiting for make() calls in progress) and starts at batch 0.
  void start_epoch(int64_t epoch, uint64_t seed) override;
  /// Batch `position` of the current epoch, waiting for a worker if needed.
  Batch next() override;
  /// {"epoch": E, "seed": S, "position": P} (P = batches handed out so far in this epoch).
  std::string state() const override;
  /// Restarts the workers at the saved position of the saved epoch.
  void restore(const std::string& state) override;

  int workers() const { return static_cast<int>(threads_.size()); }
  int prefetch() const { return prefetch_; }

 private:
  /// A finished batch, or (batch empty) the message of the exception its make() threw.
  struct Built {
    std::optional<Batch> batch;
    std::string error;
  };

  void begin(int64_t epoch, uint64_t seed, int64_t position);
  Built build(int64_t epoch, int64_t index, uint64_t seed) const;
  void worker_loop();
  bool can_claim() const;  // with mutex_ held
  int64_t end() const;     // one past the last index of an epoch

  const int64_t batches_per_epoch_;
  const MakeBatchFn make_;
  const int prefetch_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // workers: an index can be claimed, or stop
  std::condition_variable ready_cv_;  // consumer: a batch was finished
  std::condition_variable idle_cv_;   // start_epoch/restore: no make() call in progress
  bool started_ = false, stop_ = false;
  int64_t epoch_ = 0, position_ = 0, next_claim_ = 0;
  uint64_t seed_ = 0;
  uint64_t generation_ = 0;  // bumped on every (re)start; results of older generations are dropped
  int in_flight_ = 0;
  std::map<int64_t, Built> ready_;  // finished batches (and failures, which stay until the next restart)
  std::vector<std::thread> threads_;
};

}  // namespace medssl::train
