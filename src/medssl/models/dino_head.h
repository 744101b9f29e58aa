#pragma once
// DINO's projection head (Caron et al. 2021, as dittohed/exploring-ssl-for-ct builds it; iou_and_monai_ssl.md A.7):
//   mlp: Linear(in, hidden) GELU Linear(hidden, hidden) GELU Linear(hidden, bottleneck)   (trunc_normal std .02, bias 0)
//   -> L2-normalise -> last_layer: weight-normalised Linear(bottleneck, out, no bias) with weight_g fixed to 1,
// i.e. each output unit's weight row is v_k / |v_k| (a cosine classifier over `out` prototypes). Parameter names:
// mlp.0.*, mlp.2.*, mlp.4.*, last_layer.weight_v (the names PyTorch's weight_norm gives, less the constant weight_g).
// batch_norm (the original DINO's --use_bn_in_head, which it uses for convnets): Linear BatchNorm1d GELU per hidden
// layer, names mlp.0 (Linear) mlp.1 (BN) mlp.3 mlp.4 mlp.6 as in facebookresearch/dino's DINOHead. Why: a small
// randomly initialised conv encoder maps alike crops to nearly the same embedding, so once the teacher's outputs are
// centred what is left is far below the teacher temperature and the target is uniform (docs/probe.md); batch norm
// rescales each hidden unit's spread over the batch to 1, so the crops' differences reach the prototypes (measured
// on the phantoms: it delays the uniform collapse from about 10 epochs to about 150, it does not prevent it).
#include <cstdint>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

struct DinoHeadOptions {
  explicit DinoHeadOptions(int64_t in_features) : in_features_(in_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, hidden_features) = 2048;
  TORCH_ARG(int64_t, bottleneck_features) = 256;
  TORCH_ARG(int64_t, out_features) = 1024;  ///< the reference's --out_dim
  TORCH_ARG(bool, batch_norm) = false;      ///< BatchNorm1d after each hidden Linear (DINO's --use_bn_in_head)
};

class DinoLastLayerImpl : public torch::nn::Module {
 public:
  DinoLastLayerImpl(int64_t in_features, int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight_v;
};
TORCH_MODULE(DinoLastLayer);

class DinoHeadImpl : public torch::nn::Module {
 public:
  explicit DinoHeadImpl(DinoHeadOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  const DinoHeadOptions& options() const { return options_; }

  torch::nn::Sequential mlp{nullptr};
  DinoLastLayer last_layer{nullptr};

 private:
  DinoHeadOptions options_;
};
TORCH_MODULE(DinoHead);

}  // namespace medssl::models
