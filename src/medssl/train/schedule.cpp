#include "medssl/train/schedule.h"

#include <cmath>

#include "medssl/core/error.h"

namespace medssl::train {

namespace {
constexpr double kPi = 3.14159265358979323846;

double cosine(double base, double end, int64_t i, int64_t n) {
  if (n <= 0 || i >= n) return end;
  return end + 0.5 * (base - end) * (1.0 + std::cos(kPi * static_cast<double>(i) / static_cast<double>(n)));
}
}  // namespace

LrSchedule::LrSchedule(ScheduleOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check(o.type == "constant" || o.type == "cosine" || o.type == "warmup_cosine",
        "lr schedule '{}' is not supported (choose constant, cosine or warmup_cosine)", o.type);
  check(std::isfinite(o.base_lr) && o.base_lr >= 0, "lr schedule: base_lr must be finite and >= 0, got {}", o.base_lr);
  check(std::isfinite(o.end_lr) && o.end_lr >= 0, "lr schedule: end_lr must be finite and >= 0, got {}", o.end_lr);
  check(o.warmup_steps >= 0, "lr schedule: warmup_steps must be >= 0, got {}", o.warmup_steps);
  if (o.type != "constant") {
    check(o.total_steps > 0, "lr schedule '{}' needs total_steps > 0, got {}", o.type, o.total_steps);
  }
  if (o.type == "warmup_cosine") {
    check(o.warmup_steps < o.total_steps, "lr schedule: warmup_steps ({}) must be smaller than total_steps ({})",
          o.warmup_steps, o.total_steps);
  }
}

double LrSchedule::lr_at(int64_t step) const {
  const auto& o = options_;
  if (step < 0) step = 0;
  if (o.type == "constant") return o.base_lr;
  if (o.type == "cosine") return cosine(o.base_lr, o.end_lr, step, o.total_steps);
  int64_t w = o.warmup_steps;
  if (step < w) {
    if (w == 1) return o.base_lr;
    return o.warmup_start_lr + (o.base_lr - o.warmup_start_lr) * static_cast<double>(step) / static_cast<double>(w - 1);
  }
  return cosine(o.base_lr, o.end_lr, step - w, o.total_steps - w);
}

void LrSchedule::apply(torch::optim::Optimizer& optimizer, const std::vector<ParamGroupInfo>& groups) const {
  auto& torch_groups = optimizer.param_groups();
  check(torch_groups.size() == groups.size(), "lr schedule: optimizer has {} param groups but {} are described",
        torch_groups.size(), groups.size());
  double lr = lr_at(step_);
  double factor = options_.base_lr > 0 ? lr / options_.base_lr : 0.0;
  for (size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].fixed_lr) continue;
    // A group with the schedule's own base lr gets lr exactly; others scale with it.
    double group = groups[i].base_lr == options_.base_lr ? lr : groups[i].base_lr * factor;
    set_group_lr(torch_groups[i], group);
  }
}

void LrSchedule::set_step(int64_t step) {
  check(step >= 0, "lr schedule: step must be >= 0, got {}", step);
  step_ = step;
}

}  // namespace medssl::train
