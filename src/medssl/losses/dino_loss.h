#pragma once
// DINO's self-distillation loss (Caron et al. 2021; dittohed/exploring-ssl-for-ct src/dino.py, spec
// design/reference/iou_and_monai_ssl.md A.7), two views, no multi-crop:
//   L = mean over the 2B rows of  sum_k -softmax((t - c) / tau_t)_k * log_softmax(s / tau_s)_k
// s = student outputs for cat[x1, x2], t = teacher outputs for cat[x2, x1] (each student row is matched with the
// teacher's view of the OTHER crop), c = the running centre (1, K). The teacher side is detached here: gradients
// reach only the student. Centring (subtracting c) and sharpening (tau_t < tau_s) together keep the teacher from
// collapsing to one class (centring alone -> uniform, sharpening alone -> one-hot).
//   centre update, after each optimiser step:  c <- m c + (1 - m) mean_rows(t)      (m = center_momentum, 0.9)
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

/// The loss above; student, teacher (N, K), center (1, K) or (K). Throws medssl::Error on shape mismatch or
/// non-positive temperatures.
torch::Tensor dino_loss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& center,
                        double student_temp, double teacher_temp);

/// The centre after one update with the batch of teacher outputs (no autograd; returns a new (1, K) tensor).
torch::Tensor dino_center_update(const torch::Tensor& center, const torch::Tensor& teacher, double momentum);

/// Mean entropy (nats) of the centred, sharpened teacher distribution: near 0 = every sample one-hot, log K = uniform
/// (both are collapse); a monitor, no autograd.
double dino_teacher_entropy(const torch::Tensor& teacher, const torch::Tensor& center, double teacher_temp);

}  // namespace medssl::losses
