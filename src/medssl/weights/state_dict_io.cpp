#include "medssl/weights/state_dict_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/weights/torch_save_format.h"

namespace medssl::weights {
namespace {

std::string shape_string(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

// The module's tensors by name, as live references (parameters and buffers share storage with the module).
std::map<std::string, torch::Tensor> live_tensors(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out[item.key()] = item.value();
  return out;
}

std::string list_for_message(const std::vector<std::string>& keys, size_t limit = 20) {
  std::vector<std::string> shown(keys.begin(), keys.begin() + static_cast<long>(std::min(limit, keys.size())));
  std::string s = fmt::format("{}", fmt::join(shown, ", "));
  if (keys.size() > limit) s += fmt::format(", ... ({} more)", keys.size() - limit);
  return s;
}

}  // namespace

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& [name, tensor] : live_tensors(module)) out[name] = tensor.detach().to(torch::kCPU);
  return out;
}

void save_tensors(const StateDict& tensors, const std::string& path) {
  for (const auto& [name, tensor] : tensors)
    check(tensor.defined(), "save_state_dict '{}': tensor \"{}\" is undefined", path, name);
  // Our own torch.save writer, not torch::pickle_save: Python's torch.load(weights_only=True) (the default from
  // PyTorch 2.6 on) rejects pickle_save's type tags (torch_save_format.h).
  write_torch_save(tensors, path);
}

void save_state_dict(const torch::nn::Module& module, const std::string& path) {
  save_tensors(state_dict(module), path);
}

StateDict load_state_dict_file(const std::string& path) {
  check(std::filesystem::is_regular_file(path), "load_state_dict_file: '{}' does not exist or is not a file", path);
  // The restricted unpickler reads what LibTorch's pickle_load cannot (OrderedDict, one-entry dicts, the legacy
  // format, checkpoint dicts with a "state_dict" entry) and never executes code.
  return read_torch_save(path).tensors;
}

std::vector<std::string> LoadReport::skipped() const {
  std::vector<std::string> out;
  for (const auto& k : missing) out.push_back("missing: " + k);
  for (const auto& k : unexpected) out.push_back("unexpected: " + k);
  for (const auto& k : mismatched) out.push_back("shape mismatch: " + k);
  return out;
}

LoadReport load_into(torch::nn::Module& module, const StateDict& tensors, bool allow_partial) {
  auto targets = live_tensors(module);
  LoadReport report;
  for (const auto& [name, target] : targets) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      report.missing.push_back(name);
    } else if (!it->second.defined() || it->second.sizes() != target.sizes()) {
      report.mismatched.push_back(fmt::format("{}: file {} vs model {}", name,
                                              it->second.defined() ? shape_string(it->second) : "undefined",
                                              shape_string(target)));
    } else {
      report.loaded.push_back(name);
    }
  }
  for (const auto& item : tensors)
    if (targets.count(item.first) == 0) report.unexpected.push_back(item.first);

  if (!allow_partial && !report.complete()) {
    std::string message = "load_into: the state dict does not match the model:";
    if (!report.missing.empty())
      message += fmt::format("\n  missing keys ({}): {}", report.missing.size(), list_for_message(report.missing));
    if (!report.unexpected.empty())
      message += fmt::format("\n  unexpected keys ({}): {}", report.unexpected.size(),
                             list_for_message(report.unexpected));
    if (!report.mismatched.empty())
      message += fmt::format("\n  shape mismatches ({}): {}", report.mismatched.size(),
                             list_for_message(report.mismatched));
    throw Error(message);
  }
  check(!allow_partial || !report.loaded.empty() || targets.empty(), "load_into: none of the {} state dict keys matches the model's {} keys (first file "
        "key: \"{}\", first model key: \"{}\"); wrong prefix?",
        tensors.size(), targets.size(), tensors.empty() ? "" : tensors.begin()->first,
        targets.empty() ? "" : targets.begin()->first);

  torch::NoGradGuard no_grad;
  for (const auto& name : report.loaded) targets.at(name).copy_(tensors.at(name));
  if (!report.complete())
    log::warn("load_into: partial load, {} keys loaded, {} skipped: {}", report.loaded.size(),
              report.skipped().size(), list_for_message(report.skipped()));
  return report;
}

StateDict strip_prefix(const StateDict& tensors, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, tensor] : tensors)
    if (name.rfind(prefix, 0) == 0) out[name.substr(prefix.size())] = tensor;
  return out;
}

StateDict add_prefix(const StateDict& tensors, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, tensor] : tensors) out[prefix + name] = tensor;
  return out;
}

}  // namespace medssl::weights
