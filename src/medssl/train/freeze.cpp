#include "medssl/train/freeze.h"

#include "medssl/core/error.h"

namespace medssl::train {

namespace {

size_t set_requires_grad(torch::nn::Module& model, const std::string& prefix, bool value, const char* verb) {
  size_t n = 0;
  for (auto& item : model.named_parameters(true)) {
    if (item.key().rfind(prefix, 0) != 0) continue;
    // Match whole name components: prefix "enc" must not catch "encoder2.weight" unless written so.
    if (!prefix.empty() && item.key().size() > prefix.size() && prefix.back() != '.' &&
        item.key()[prefix.size()] != '.')
      continue;
    item.value().set_requires_grad(value);
    ++n;
  }
  check(n > 0, "cannot {} '{}': no parameter of the model has that name prefix", verb, prefix);
  return n;
}

}  // namespace

size_t freeze(torch::nn::Module& model, const std::string& prefix) {
  return set_requires_grad(model, prefix, false, "freeze");
}

size_t unfreeze(torch::nn::Module& model, const std::string& prefix) {
  return set_requires_grad(model, prefix, true, "unfreeze");
}

bool is_batch_norm(const torch::nn::Module& module) {
  return dynamic_cast<const torch::nn::BatchNorm1dImpl*>(&module) != nullptr ||
         dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&module) != nullptr ||
         dynamic_cast<const torch::nn::BatchNorm3dImpl*>(&module) != nullptr;
}

size_t apply_freeze_mode(torch::nn::Module& model) {
  size_t n = 0;
  for (auto& module : model.modules(/*include_self=*/true)) {
    if (!is_batch_norm(*module)) continue;
    auto params = module->parameters(/*recurse=*/false);
    if (params.empty()) continue;
    bool frozen = std::none_of(params.begin(), params.end(), [](const torch::Tensor& p) { return p.requires_grad(); });
    if (frozen) {
      module->eval();
      ++n;
    }
  }
  return n;
}

}  // namespace medssl::train
