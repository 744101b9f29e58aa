#include "medssl/losses/cpc_binary.h"

#include "medssl/core/error.h"

namespace medssl::losses {

torch::Tensor cpc_binary_logits(const torch::Tensor& pred, const torch::Tensor& z) {
  check(pred.dim() == 3 && pred.sizes() == z.sizes(),
        "CPC binary loss: predictions and target codes must both be (B, K, D) of the same shape");
  return (pred * z).mean({1, 2});
}

CpcBinaryLossOutput cpc_binary_loss(const torch::Tensor& pred, const torch::Tensor& z, const torch::Tensor& labels) {
  CpcBinaryLossOutput out;
  out.logits = cpc_binary_logits(pred, z);
  check(labels.dim() == 1 && labels.size(0) == out.logits.size(0), "CPC binary loss: labels must be ({},), got {} dims",
        out.logits.size(0), labels.dim());
  const torch::Tensor target = labels.to(out.logits.scalar_type());
  out.loss = torch::binary_cross_entropy_with_logits(out.logits, target);
  // Keras binary_accuracy thresholds the probability (p > 0.5); a logit of +1e-9 gives p == 0.5 in float32 -> 0.
  const torch::Tensor predicted = (torch::sigmoid(out.logits) > 0.5).to(target.scalar_type());
  out.accuracy = (predicted == target).to(torch::kFloat64).mean().item<double>();
  return out;
}

}  // namespace medssl::losses
