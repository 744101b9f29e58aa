#include "medssl/train/ema.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::train {

void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double momentum) {
  check(momentum >= 0 && momentum <= 1, "ema_update: momentum must lie in [0, 1], got {}", momentum);
  const auto from = source.named_parameters(true);
  auto to = target.named_parameters(true);
  for (const auto& item : to) {
    const auto* match = from.find(item.key());
    check(match != nullptr, "ema_update: the source has no parameter {}", item.key());
    if (match->sizes() != item.value().sizes())
      fail("ema_update: {} has shape {} in the target but {} in the source", item.key(), fmt::format("[{}]", fmt::join(item.value().sizes(), ", ")),
          fmt::format("[{}]", fmt::join(match->sizes(), ", ")));
  }
  torch::NoGradGuard no_grad;
  for (auto& item : to) item.value().mul_(momentum).add_(from[item.key()].detach(), 1.0 - momentum);
}

double cosine_momentum(double base, int64_t step, int64_t total_steps) {
  if (total_steps <= 0) return base;
  const double t = static_cast<double>(std::clamp<int64_t>(step, 0, total_steps)) / static_cast<double>(total_steps);
  return 1.0 - (1.0 - base) * (std::cos(M_PI * t) + 1.0) / 2.0;
}

}  // namespace medssl::train
