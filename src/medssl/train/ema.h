#pragma once
// Exponential moving average of weights (DINO's teacher, design/reference/iou_and_monai_ssl.md A.7):
//   theta_target <- m * theta_target + (1 - m) * theta_source     for every equally named parameter
// and the momentum schedule of DINO: cosine from base to 1 over the run,
//   m(t) = 1 - (1 - base) * (cos(pi * t / T) + 1) / 2          (t = optimiser steps done, T = total steps)
// so the teacher follows the student early and freezes towards the end.
#include <cstdint>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

/// Updates every parameter of `target` from the equally named parameter of `source` (no autograd). Buffers are left
/// alone (the reference averages parameters only). Throws medssl::Error when a name is missing in `source` or the
/// shapes differ, before anything is changed.
void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double momentum);

/// The cosine momentum schedule above; t is clamped to [0, T]; T <= 0 gives `base`.
double cosine_momentum(double base, int64_t step, int64_t total_steps);

}  // namespace medssl::train
