#pragma once
// What the trainer consumes: batches of named tensors from a source that knows its epoch length, can be reseeded
// per epoch, and can report/restore its position inside an epoch (so a killed run resumes on the same batch).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

struct Batch {
  std::map<std::string, torch::Tensor> tensors;
  int64_t size = 0;  ///< number of samples (for samples/s and sample-weighted epoch means)

  /// The tensor called `name`; throws medssl::Error listing the available names if there is none.
  const torch::Tensor& at(const std::string& name) const;
  /// A copy with every tensor moved to `device` (non_blocking where possible).
  Batch to(const torch::Device& device) const;
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Batches per epoch; <= 0 for an endless source (then TrainerOptions::steps_per_epoch is required).
  virtual int64_t size() const = 0;
  /// Begins epoch `epoch` (0-based) with a data-order seed the trainer derives from its own seed.
  virtual void start_epoch(int64_t epoch, uint64_t seed) = 0;
  /// The next batch of the current epoch; throws medssl::Error when the epoch is exhausted.
  virtual Batch next() = 0;
  /// Opaque text that restore() accepts: the epoch's order seed and how many batches were handed out.
  virtual std::string state() const = 0;
  /// Continues exactly where state() was taken (used instead of start_epoch when resuming mid-epoch).
  virtual void restore(const std::string& state) = 0;
};

/// An in-memory source over tensors that share their first dimension (samples): fixed batch size, optional
/// per-epoch shuffle (medssl::Rng seeded with the epoch seed), optional drop of the last incomplete batch.
class TensorBatchSource : public BatchSource {
 public:
  TensorBatchSource(std::map<std::string, torch::Tensor> tensors, int64_t batch_size, bool shuffle = true,
                    bool drop_last = false);

  int64_t size() const override;
  void start_epoch(int64_t epoch, uint64_t seed) override;
  Batch next() override;
  std::string state() const override;
  void restore(const std::string& state) override;

  int64_t num_samples() const { return num_samples_; }

 private:
  void make_order(uint64_t seed);
  std::map<std::string, torch::Tensor> tensors_;
  int64_t batch_size_, num_samples_ = 0;
  bool shuffle_, drop_last_;
  int64_t epoch_ = 0, position_ = 0;
  uint64_t seed_ = 0;
  std::vector<int64_t> order_;
};

}  // namespace medssl::train
