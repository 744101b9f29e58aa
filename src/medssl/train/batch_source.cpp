#include "medssl/train/batch_source.h"

#include <nlohmann/json.hpp>
#include <numeric>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"

namespace medssl::train {

const torch::Tensor& Batch::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    std::string names;
    for (const auto& [k, v] : tensors) names += (names.empty() ? "" : ", ") + k;
    fail("batch has no tensor '{}' (it has: {})", name, names.empty() ? "none" : names);
  }
  return it->second;
}

Batch Batch::to(const torch::Device& device) const {
  Batch out;
  out.size = size;
  for (const auto& [k, v] : tensors) out.tensors[k] = v.defined() ? v.to(device, /*non_blocking=*/true) : v;
  return out;
}

TensorBatchSource::TensorBatchSource(std::map<std::string, torch::Tensor> tensors, int64_t batch_size, bool shuffle,
                                     bool drop_last)
    : tensors_(std::move(tensors)), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last) {
  check(!tensors_.empty(), "TensorBatchSource needs at least one tensor");
  check(batch_size_ > 0, "TensorBatchSource: batch size must be > 0, got {}", batch_size_);
  num_samples_ = -1;
  for (const auto& [name, t] : tensors_) {
    check(t.defined() && t.dim() >= 1, "TensorBatchSource: tensor '{}' must have a sample dimension", name);
    if (num_samples_ < 0) num_samples_ = t.size(0);
    check(t.size(0) == num_samples_, "TensorBatchSource: tensor '{}' has {} samples, expected {}", name, t.size(0),
          num_samples_);
  }
  check(num_samples_ > 0, "TensorBatchSource: no samples");
  check(!drop_last_ || num_samples_ >= batch_size_,
        "TensorBatchSource: {} samples make no full batch of {} (drop_last)", num_samples_, batch_size_);
  make_order(0);
}

int64_t TensorBatchSource::size() const {
  return drop_last_ ? num_samples_ / batch_size_ : (num_samples_ + batch_size_ - 1) / batch_size_;
}

void TensorBatchSource::make_order(uint64_t seed) {
  seed_ = seed;
  order_.resize(static_cast<size_t>(num_samples_));
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (shuffle_) {
    Rng rng(seed);
    rng.shuffle(order_);
  }
}

void TensorBatchSource::start_epoch(int64_t epoch, uint64_t seed) {
  epoch_ = epoch;
  position_ = 0;
  make_order(seed);
}

Batch TensorBatchSource::next() {
  check(position_ < size(), "TensorBatchSource: epoch {} has only {} batches", epoch_, size());
  int64_t begin = position_ * batch_size_;
  int64_t end = std::min(begin + batch_size_, num_samples_);
  auto index = torch::tensor(std::vector<int64_t>(order_.begin() + begin, order_.begin() + end), torch::kLong);
  Batch batch;
  batch.size = end - begin;
  for (const auto& [name, t] : tensors_) batch.tensors[name] = t.index_select(0, index.to(t.device()));
  ++position_;
  return batch;
}

std::string TensorBatchSource::state() const {
  return nlohmann::json{{"epoch", epoch_}, {"seed", seed_}, {"position", position_}}.dump();
}

void TensorBatchSource::restore(const std::string& state) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(state);
    start_epoch(j.at("epoch").get<int64_t>(), j.at("seed").get<uint64_t>());
    position_ = j.at("position").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("TensorBatchSource: cannot restore from state '{}': {}", state, e.what());
  }
  check(position_ >= 0 && position_ <= size(), "TensorBatchSource: restored position {} is outside 0..{}", position_,
        size());
}

}  // namespace medssl::train
