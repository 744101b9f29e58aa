#include "medssl/train/amp.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "medssl/core/error.h"

// LibTorch 2.4 replaced the CUDA-only autocast setters by per-device-type ones (the old ones are deprecated).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define MEDSSL_AUTOCAST_PER_DEVICE 1
#else
#define MEDSSL_AUTOCAST_PER_DEVICE 0
#endif

namespace medssl::train {

AmpMode parse_amp_mode(const std::string& name) {
  if (name == "none" || name.empty()) return AmpMode::none;
  if (name == "bf16") return AmpMode::bf16;
  if (name == "fp16") return AmpMode::fp16;
  fail("amp mode '{}' is not supported (choose none, bf16 or fp16)", name);
}

std::string to_string(AmpMode mode) {
  switch (mode) {
    case AmpMode::bf16: return "bf16";
    case AmpMode::fp16: return "fp16";
    default: return "none";
  }
}

AutocastScope::AutocastScope(AmpMode mode) {
  if (mode == AmpMode::none) return;
  at::ScalarType dtype = mode == AmpMode::bf16 ? at::kBFloat16 : at::kHalf;
#if MEDSSL_AUTOCAST_PER_DEVICE
  previous_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
  previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  previous_enabled_ = at::autocast::is_enabled();
  previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(true);
#endif
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
#if MEDSSL_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, previous_enabled_);
  at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
#else
  at::autocast::set_enabled(previous_enabled_);
  at::autocast::set_autocast_gpu_dtype(previous_dtype_);
#endif
  at::autocast::clear_cache();
}

LossScaler::LossScaler(double initial_scale, int64_t growth_interval)
    : scale_(initial_scale), growth_interval_(growth_interval) {
  check(initial_scale > 0, "loss scale must be > 0, got {}", initial_scale);
}

bool LossScaler::unscale(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  bool finite = true;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    auto g = p.grad();
    g.div_(scale_);
    if (finite && !torch::isfinite(g).all().item<bool>()) finite = false;
  }
  return finite;
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ = std::max(scale_ * 0.5, 1.0);
    good_steps_ = 0;
    return;
  }
  if (++good_steps_ >= growth_interval_) {
    scale_ *= 2.0;
    good_steps_ = 0;
  }
}

}  // namespace medssl::train
