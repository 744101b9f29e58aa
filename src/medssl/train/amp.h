#pragma once
// Mixed precision on CUDA: an autocast scope (bf16 or fp16) and, for fp16, dynamic loss scaling (LibTorch has no
// C++ GradScaler). On CPU mixed precision is not used: the trainer warns and trains in fp32.
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

enum class AmpMode { none, bf16, fp16 };

/// "none" | "bf16" | "fp16"; throws medssl::Error otherwise.
AmpMode parse_amp_mode(const std::string& name);
std::string to_string(AmpMode mode);

/// Enables CUDA autocast with the mode's dtype for its lifetime (no-op for AmpMode::none).
class AutocastScope {
 public:
  explicit AutocastScope(AmpMode mode);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

/// Dynamic loss scaling for fp16: multiply the loss by scale() before backward, then unscale(); a step with
/// non-finite gradients is skipped and halves the scale, `growth_interval` good steps in a row double it.
class LossScaler {
 public:
  explicit LossScaler(double initial_scale = 65536.0, int64_t growth_interval = 2000);
  double scale() const { return scale_; }
  /// Divides the gradients by the scale; returns false if any gradient is NaN/inf (the step must be skipped).
  bool unscale(const std::vector<torch::Tensor>& params);
  /// Adjusts the scale after a step (found_inf: the step was skipped).
  void update(bool found_inf);
  void set_scale(double scale) { scale_ = scale; }

 private:
  double scale_;
  int64_t growth_interval_, good_steps_ = 0;
};

}  // namespace medssl::train
