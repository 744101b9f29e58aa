#pragma once
// A BatchSource that hands out the same prepared batch every step: `medssl bench train` times the training step
// alone (forward, backward, optimiser), so the data pipeline must cost nothing. `bench data` times that separately.
#include <cstdint>
#include <string>

#include "medssl/core/error.h"
#include "medssl/train/batch_source.h"

namespace medssl::bench {

class RepeatBatchSource : public train::BatchSource {
 public:
  RepeatBatchSource(train::Batch batch, int64_t batches_per_epoch)
      : batch_(std::move(batch)), batches_per_epoch_(batches_per_epoch) {
    check(batches_per_epoch_ >= 1, "bench: at least one step per epoch is needed, got {}", batches_per_epoch_);
  }
  int64_t size() const override { return batches_per_epoch_; }
  void start_epoch(int64_t /*epoch*/, uint64_t /*seed*/) override { position_ = 0; }
  train::Batch next() override {
    check(position_ < batches_per_epoch_, "bench: batch source exhausted after {} batches", batches_per_epoch_);
    ++position_;
    return batch_;  // shares the tensors: no copy per step
  }
  std::string state() const override { return std::to_string(position_); }
  void restore(const std::string& state) override { position_ = std::stoll(state); }

 private:
  train::Batch batch_;
  int64_t batches_per_epoch_;
  int64_t position_ = 0;
};

}  // namespace medssl::bench
