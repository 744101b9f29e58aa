#include "medssl/weights/state_dict_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <sstream>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"

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
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    check(tensor.defined(), "save_state_dict '{}': tensor \"{}\" is undefined", path, name);
    // contiguous() + clone(): a view would otherwise serialise its whole base storage.
    dict.insert(name, tensor.detach().to(torch::kCPU).contiguous().clone());
  }
  std::vector<char> bytes;
  try {
    bytes = torch::pickle_save(c10::IValue(dict));
  } catch (const c10::Error& e) {
    fail("save_state_dict '{}': serialisation failed: {}", path, e.what_without_backtrace());
  }
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

void save_state_dict(const torch::nn::Module& module, const std::string& path) {
  save_tensors(state_dict(module), path);
}

StateDict load_state_dict_file(const std::string& path) {
  check(std::filesystem::is_regular_file(path), "load_state_dict_file: '{}' does not exist or is not a file", path);
  const std::string bytes = read_file(path);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    std::string why = e.what_without_backtrace();
    // LibTorch 1.13's unpickler lacks the SETITEM opcode ('s' = 0x73) that Python emits for a one-entry dict.
    if (why.find("Unknown opcode") != std::string::npos && why.find("115") != std::string::npos)
      why += " (a dict with a single entry saved by Python cannot be read by this LibTorch; save two or more entries)";
    fail("load_state_dict_file: '{}' is not a readable PyTorch file (torch.save / save_state_dict): {}", path, why);
  } catch (const std::exception& e) {
    fail("load_state_dict_file: '{}' is not a readable PyTorch file (torch.save / save_state_dict): {}", path,
         e.what());
  }
  check(value.isGenericDict(), "load_state_dict_file: '{}' does not hold a dict (it holds a {})", path,
        value.tagKind());
  StateDict out;
  for (const auto& entry : value.toGenericDict()) {
    check(entry.key().isString(), "load_state_dict_file: '{}' has a non-string key ({})", path,
          entry.key().tagKind());
    const std::string name = entry.key().toStringRef();
    check(entry.value().isTensor(), "load_state_dict_file: '{}': entry \"{}\" is not a tensor (it is a {})", path,
          name, entry.value().tagKind());
    out[name] = entry.value().toTensor();
  }
  return out;
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
