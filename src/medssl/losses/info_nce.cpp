#include "medssl/losses/info_nce.h"

#include "medssl/core/error.h"

namespace medssl::losses {

InfoNceOutput info_nce_loss(const torch::Tensor& pred, const torch::Tensor& z) {
  check(pred.dim() == 3 && pred.sizes() == z.sizes() && pred.size(0) >= 1,
        "InfoNCE: predictions and target codes must both be (S, K, D) of the same shape with S >= 1");
  const int64_t samples = pred.size(0), targets = pred.size(1);
  // (K, S, D) x (K, D, S) -> (K, S, S): row i of logits[k] scores prediction i against every target code.
  const torch::Tensor logits = torch::bmm(pred.transpose(0, 1), z.permute({1, 2, 0}));
  const torch::Tensor positives =
      torch::arange(samples, torch::TensorOptions().dtype(torch::kLong).device(pred.device())).repeat({targets});
  InfoNceOutput out;
  const torch::Tensor flat_logits = logits.reshape({targets * samples, samples});
  out.loss = torch::nn::functional::cross_entropy(flat_logits, positives);
  out.accuracy = (flat_logits.argmax(1) == positives).to(torch::kFloat64).mean().item<double>();
  return out;
}

}  // namespace medssl::losses
