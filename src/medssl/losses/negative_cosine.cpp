#include "medssl/losses/negative_cosine.h"

#include <algorithm>
#include <cmath>

#include "medssl/core/error.h"

namespace medssl::losses {

torch::Tensor negative_cosine(const torch::Tensor& p, const torch::Tensor& z, double eps) {
  check(p.dim() == 2 && p.sizes() == z.sizes(), "negative_cosine: p and z must be (N, D) of equal shape");
  return -torch::nn::functional::cosine_similarity(
              p, z.detach(), torch::nn::functional::CosineSimilarityFuncOptions().dim(1).eps(eps))
              .mean();
}

torch::Tensor simsiam_loss(const torch::Tensor& p1, const torch::Tensor& p2, const torch::Tensor& z1,
                           const torch::Tensor& z2) {
  return 0.5 * negative_cosine(p1, z2) + 0.5 * negative_cosine(p2, z1);
}

double collapse_level(const torch::Tensor& outputs) {
  check(outputs.dim() == 2 && outputs.size(0) >= 2, "collapse_level: need (N >= 2, D) outputs");
  torch::NoGradGuard no_grad;
  auto normalised = torch::nn::functional::normalize(outputs.detach().to(torch::kFloat32),
                                                     torch::nn::functional::NormalizeFuncOptions().dim(1));
  const double spread = normalised.std(0).mean().item<double>();
  return std::max(0.0, 1.0 - std::sqrt(static_cast<double>(outputs.size(1))) * spread);
}

}  // namespace medssl::losses
