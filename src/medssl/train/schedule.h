#pragma once
// Learning-rate schedules as pure functions of the global optimiser step. The only state is the step counter, so a
// checkpoint stores one integer and a resumed run gets exactly the same learning rates.
//
//   constant       lr(s) = base_lr
//   cosine         lr(s) = end_lr + 0.5 (base_lr - end_lr) (1 + cos(pi s / total_steps)), s >= total_steps -> end_lr
//   warmup_cosine  s < W: lr(s) = warmup_start_lr + (base_lr - warmup_start_lr) s / (W - 1)   (W = warmup_steps;
//                  linear, reaching base_lr at s = W - 1, as DINO's np.linspace warm-up)
//                  s >= W: cosine as above over i = s - W and total_steps - W steps
//
// Param groups with their own base lr get the same factor lr(s) / base_lr; groups marked fixed keep their lr.
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/train/optim.h"

namespace medssl::train {

struct ScheduleOptions {
  std::string type = "constant";  ///< constant | cosine | warmup_cosine
  double base_lr = 1e-3;
  double end_lr = 0.0;
  int64_t total_steps = 0;  ///< needed by cosine and warmup_cosine (the trainer fills it in when 0)
  int64_t warmup_steps = 0;
  double warmup_start_lr = 0.0;
};

class LrSchedule {
 public:
  explicit LrSchedule(ScheduleOptions options = {});

  /// The learning rate of the base group at step `step` (0-based).
  double lr_at(int64_t step) const;
  /// Sets the lr of every non-fixed group of `optimizer` for the current step (groups parallel to `groups`).
  void apply(torch::optim::Optimizer& optimizer, const std::vector<ParamGroupInfo>& groups) const;
  /// Moves on to the next step (call once per optimiser step).
  void advance() { ++step_; }

  int64_t step() const { return step_; }
  void set_step(int64_t step);
  const ScheduleOptions& options() const { return options_; }

 private:
  ScheduleOptions options_;
  int64_t step_ = 0;
};

}  // namespace medssl::train
