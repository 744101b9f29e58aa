#include "medssl/weights/python_twins.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "medssl/models/densenet.h"

namespace medssl::weights {
namespace {

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

bool is_running_statistic(const std::string& name) {
  return ends_with(name, ".running_mean") || ends_with(name, ".running_var") || ends_with(name, ".num_batches_tracked");
}

std::string leading_components(const StateDict& tensors) {
  std::vector<std::string> heads;  // the map is sorted, so equal heads are adjacent
  for (const auto& item : tensors) {
    const auto dot = item.first.find('.');
    std::string head = dot == std::string::npos ? item.first : item.first.substr(0, dot + 1);
    if (heads.empty() || heads.back() != head) heads.push_back(head);
  }
  return fmt::format("{}", fmt::join(heads, ", "));
}

std::optional<std::string> torchvision_densenet_verdict(const StateDict& tensors, const std::string& file) {
  if (!tensors.count("features.conv0.weight") || !tensors.count("features.norm5.weight")) return std::nullopt;
  const auto& conv0 = tensors.at("features.conv0.weight");
  if (conv0.dim() != 4) return std::string("not loadable: a 3D DenseNet (torchvision's densenet121 is 2D)");
  if (conv0.size(1) != 3)
    return fmt::format("not loadable: {} input channels (torchvision's densenet121 takes 3)", conv0.size(1));
  const bool has_classifier = tensors.count("classifier.weight") > 0;
  const int64_t classes = has_classifier ? tensors.at("classifier.weight").size(0) : 1000;
  models::DenseNet reference(models::DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(classes));
  const StateDict expected_tensors = state_dict(*reference);
  std::vector<std::string> differences;
  size_t classifier_missing = 0;
  for (const auto& [name, expected] : expected_tensors) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      if (name.rfind("classifier.", 0) == 0) ++classifier_missing;
      else differences.push_back("missing " + name);
    } else if (it->second.sizes() != expected.sizes()) {
      differences.push_back(fmt::format("{} is {} instead of {}", name, shape_of(it->second), shape_of(expected)));
    }
  }
  for (const auto& item : tensors)
    if (!expected_tensors.count(item.first)) differences.push_back("extra " + item.first);
  if (!differences.empty())
    return fmt::format("not loadable into densenet121: {} differences (first: {}); another DenseNet configuration?",
                       differences.size(), differences.front());
  if (classifier_missing > 0)
    return fmt::format("loadable without a classifier: torchvision.models.densenet121().load_state_dict("
                       "torch.load('{}'), strict=False) reports only classifier.weight/bias missing",
                       file);
  return fmt::format("loadable: torchvision.models.densenet121(num_classes={}).load_state_dict(torch.load('{}'), "
                     "strict=True)",
                     classes, file);
}

std::optional<std::string> monai_vit_note(const StateDict& tensors) {
  for (const auto& item : tensors)
    if (item.first.find("patch_embedding.patch_embeddings") != std::string::npos)
      return std::string("ViT/UNETR names; MONAI >= 1.4 models also hold never-used cross-attention weights, so load "
                         "with strict=False and check that only *cross_attn* keys are reported missing");
  return std::nullopt;
}

}  // namespace medssl::weights
