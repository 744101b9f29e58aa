#include "medssl/models/dino_head.h"

#include "medssl/core/error.h"
#include "medssl/models/patch_embedding.h"

namespace medssl::models {

DinoLastLayerImpl::DinoLastLayerImpl(int64_t in_features, int64_t out_features) {
  // PyTorch's weight_norm starts v at the Linear's own initialisation (kaiming uniform); only its direction matters.
  torch::nn::Linear init(torch::nn::LinearOptions(in_features, out_features).bias(false));
  weight_v = register_parameter("weight_v", init->weight.detach().clone());
}

torch::Tensor DinoLastLayerImpl::forward(const torch::Tensor& x) {
  return torch::nn::functional::linear(x, weight_v / weight_v.norm(2, {1}, true));
}

DinoHeadImpl::DinoHeadImpl(DinoHeadOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  check(o.in_features() >= 1 && o.hidden_features() >= 1 && o.bottleneck_features() >= 1 && o.out_features() >= 1,
        "dino head: all widths must be >= 1 (in {}, hidden {}, bottleneck {}, out {})", o.in_features(),
        o.hidden_features(), o.bottleneck_features(), o.out_features());
  torch::nn::Sequential layers;
  layers->push_back(torch::nn::Linear(o.in_features(), o.hidden_features()));
  if (o.batch_norm()) layers->push_back(torch::nn::BatchNorm1d(o.hidden_features()));
  layers->push_back(torch::nn::GELU());
  layers->push_back(torch::nn::Linear(o.hidden_features(), o.hidden_features()));
  if (o.batch_norm()) layers->push_back(torch::nn::BatchNorm1d(o.hidden_features()));
  layers->push_back(torch::nn::GELU());
  layers->push_back(torch::nn::Linear(o.hidden_features(), o.bottleneck_features()));
  mlp = register_module("mlp", layers);
  for (auto& module : mlp->modules(false))
    if (auto* linear = module->as<torch::nn::Linear>()) {
      trunc_normal_absolute_(linear->weight, 0.0, 0.02, -2.0, 2.0);
      torch::NoGradGuard no_grad;
      linear->bias.zero_();
    }
  last_layer = register_module("last_layer", DinoLastLayer(o.bottleneck_features(), o.out_features()));
}

torch::Tensor DinoHeadImpl::forward(const torch::Tensor& x) {
  auto h = torch::nn::functional::normalize(mlp->forward(x),
                                            torch::nn::functional::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12));
  return last_layer->forward(h);
}

}  // namespace medssl::models
