#include "medssl/losses/nt_xent.h"

#include <limits>

#include "medssl/core/error.h"

namespace medssl::losses {

NtXentOutput nt_xent_loss(const torch::Tensor& z1, const torch::Tensor& z2, double temperature) {
  check(z1.dim() == 2 && z1.sizes() == z2.sizes(), "nt_xent: the two views must be (N, D) of equal shape");
  check(temperature > 0, "nt_xent: temperature must be > 0, got {}", temperature);
  const int64_t n = z1.size(0);
  auto u = torch::nn::functional::normalize(torch::cat({z1, z2}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto logits = torch::matmul(u, u.t()) / temperature;
  // A sample is never its own negative: -inf on the diagonal removes it from the softmax.
  auto self = torch::eye(2 * n, torch::TensorOptions().dtype(torch::kBool).device(u.device()));
  logits = logits.masked_fill(self, -std::numeric_limits<float>::infinity());
  auto index = torch::arange(2 * n, torch::TensorOptions().dtype(torch::kInt64).device(u.device()));
  auto positives = torch::cat({index.slice(0, 0, n) + n, index.slice(0, n, 2 * n) - n});
  NtXentOutput out;
  out.loss = torch::nn::functional::cross_entropy(logits, positives);
  out.accuracy = logits.argmax(1).eq(positives).to(torch::kFloat32).mean().item<double>();
  return out;
}

}  // namespace medssl::losses
