#include "medssl/losses/dino_loss.h"

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::losses {

namespace {
void check_shapes(const torch::Tensor& teacher, const torch::Tensor& center, const char* what) {
  check(teacher.dim() == 2, "{}: teacher outputs must be (N, K), got {} dims", what, teacher.dim());
  check(center.numel() == teacher.size(1), "{}: the centre has {} entries but the outputs have K = {}", what,
        center.numel(), teacher.size(1));
}
}  // namespace

torch::Tensor dino_loss(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& center,
                        double student_temp, double teacher_temp) {
  if (student.dim() != 2 || student.sizes() != teacher.sizes())
    fail("dino_loss: student {} and teacher {} outputs must both be (N, K)", fmt::format("[{}]", fmt::join(student.sizes(), ", ")),
        fmt::format("[{}]", fmt::join(teacher.sizes(), ", ")));
  check_shapes(teacher, center, "dino_loss");
  check(student_temp > 0 && teacher_temp > 0, "dino_loss: temperatures must be > 0 (student {}, teacher {})",
        student_temp, teacher_temp);
  const auto targets =
      torch::softmax((teacher.detach() - center.detach().reshape({1, -1})) / teacher_temp, 1);
  const auto log_probs = torch::log_softmax(student / student_temp, 1);
  return -(targets * log_probs).sum(1).mean();
}

torch::Tensor dino_center_update(const torch::Tensor& center, const torch::Tensor& teacher, double momentum) {
  check_shapes(teacher, center, "dino_center_update");
  check(momentum >= 0 && momentum <= 1, "dino_center_update: center_momentum must lie in [0, 1], got {}", momentum);
  torch::NoGradGuard no_grad;
  return center.reshape({1, -1}) * momentum + teacher.detach().mean(0, true) * (1.0 - momentum);
}

double dino_teacher_entropy(const torch::Tensor& teacher, const torch::Tensor& center, double teacher_temp) {
  check_shapes(teacher, center, "dino_teacher_entropy");
  torch::NoGradGuard no_grad;
  const auto logits = (teacher.detach() - center.reshape({1, -1})) / teacher_temp;
  return -(torch::softmax(logits, 1) * torch::log_softmax(logits, 1)).sum(1).mean().item<double>();
}

}  // namespace medssl::losses
