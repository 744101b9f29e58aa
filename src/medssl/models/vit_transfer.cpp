#include "medssl/models/vit_transfer.h"

#include <fmt/ranges.h>

#include <map>

#include "medssl/core/error.h"

namespace medssl::models {

namespace {

/// Parameters and buffers by name, like a PyTorch state_dict.
std::map<std::string, torch::Tensor> state_entries(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> entries;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) entries.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) entries.emplace(item.key(), item.value());
  return entries;
}

}  // namespace

WeightTransferReport transfer_matching_weights(const torch::nn::Module& source, torch::nn::Module& target) {
  const auto from = state_entries(source);
  const auto to = state_entries(target);
  WeightTransferReport report;
  // Validate every shape first so that a mismatch leaves the target untouched.
  for (const auto& [name, tensor] : from) {
    auto it = to.find(name);
    if (it == to.end()) {
      report.skipped.push_back(name);
      continue;
    }
    check(it->second.sizes() == tensor.sizes(),
          "weight transfer: entry \"{}\" has shape [{}] in the source but [{}] in the target", name,
          fmt::join(tensor.sizes(), ", "), fmt::join(it->second.sizes(), ", "));
    report.copied.push_back(name);
  }
  for (const auto& [name, tensor] : to)
    if (!from.count(name)) report.missing.push_back(name);
  torch::NoGradGuard no_grad;
  for (const auto& name : report.copied) to.at(name).copy_(from.at(name));
  return report;
}

WeightTransferReport load_vit_into_unetr(const ViTAutoEnc& source, UNETR& target) {
  return transfer_matching_weights(*source, *target->vit());
}

}  // namespace medssl::models
