#include "medssl/weights/init_weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/models/transformer_block.h"
#include "medssl/weights/weights_file.h"

namespace medssl::weights {
namespace {

constexpr size_t kListed = 10;  // keys named per category in an error message

std::string shape_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

/// "a, b, c, ... (N in all)" for the first kListed entries.
std::string first_entries(const std::vector<std::string>& entries) {
  const auto count = static_cast<std::ptrdiff_t>(std::min(kListed, entries.size()));
  std::vector<std::string> shown(entries.begin(), entries.begin() + count);
  std::string s = fmt::format("{}", fmt::join(shown, ", "));
  if (entries.size() > kListed) s += fmt::format(", ... ({} in all)", entries.size());
  return s;
}

/// The distinct first components of the names ("encoder.", "decoder."), to hint at a prefix mistake.
std::string leading_components(const std::vector<std::string>& names) {
  std::set<std::string> heads;
  for (const auto& n : names) heads.insert(n.substr(0, n.find('.') == std::string::npos ? n.size() : n.find('.') + 1));
  std::vector<std::string> shown(heads.begin(), heads.end());
  return first_entries(shown);
}

std::vector<std::string> names_of(const StateDict& tensors) {
  std::vector<std::string> out;
  for (const auto& item : tensors) out.push_back(item.first);
  return out;
}

}  // namespace

LoadReport init_weights(torch::nn::Module& model, const std::string& file, const InitWeightsOptions& options) {
  const WeightsFile weights = read_weights_file(file);
  const std::string where = fmt::format("init-weights '{}' ({})", file, weights.description());

  StateDict tensors;
  size_t unused_monai = 0;
  for (const auto& [name, tensor] : weights.tensors) {
    if (models::is_unused_monai_vit_key(name)) ++unused_monai;
    else tensors.emplace(name, tensor);
  }
  if (unused_monai > 0) log::debug("{}: ignored {} unused MONAI cross-attention tensors", where, unused_monai);
  if (!options.source_prefix().empty()) {
    StateDict stripped = strip_prefix(tensors, options.source_prefix());
    check(!stripped.empty(), "{}: no tensor name starts with \"{}\" (the file's names start with: {})", where,
          options.source_prefix(), leading_components(names_of(tensors)));
    tensors = std::move(stripped);
  }
  if (!options.target_prefix().empty()) tensors = add_prefix(tensors, options.target_prefix());

  // Match everything first, so that a strict failure names every problem at once and leaves the model untouched.
  StateDict targets;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) targets.emplace(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true))
    if (b.value().defined()) targets.emplace(b.key(), b.value());
  std::vector<std::string> missing, unexpected, mismatched;
  size_t matching = 0;
  for (const auto& [name, target] : targets) {
    auto it = tensors.find(name);
    if (it == tensors.end()) missing.push_back(fmt::format("{} {}", name, shape_of(target)));
    else if (it->second.sizes() != target.sizes())
      mismatched.push_back(fmt::format("{}: file {} vs model {}", name, shape_of(it->second), shape_of(target)));
    else ++matching;
  }
  for (const auto& [name, tensor] : tensors)
    if (!targets.count(name)) unexpected.push_back(fmt::format("{} {}", name, shape_of(tensor)));

  const std::string prefix_hint =
      fmt::format("the file's names start with: {}; the model's with: {}", leading_components(names_of(tensors)),
                  leading_components(names_of(targets)));
  check(matching > 0 || targets.empty(),
        "{}: none of the file's {} tensors matches the model's {} by name and shape ({}); a source or target prefix "
        "missing?",
        where, tensors.size(), targets.size(), prefix_hint);
  if (!options.allow_partial() && (!missing.empty() || !unexpected.empty() || !mismatched.empty())) {
    std::string message = fmt::format("{} does not match the model ({} of {} tensors match; allow partial loading to "
                                      "load only those):",
                                      where, matching, targets.size());
    if (!missing.empty())
      message += fmt::format("\n  missing from the file ({}): {}", missing.size(), first_entries(missing));
    if (!unexpected.empty())
      message += fmt::format("\n  not in the model ({}): {}", unexpected.size(), first_entries(unexpected));
    if (!mismatched.empty())
      message += fmt::format("\n  shape mismatches ({}): {}", mismatched.size(), first_entries(mismatched));
    if (!missing.empty() && !unexpected.empty()) message += "\n  (" + prefix_hint + ")";
    throw Error(message);
  }

  LoadReport report;
  try {
    report = load_into(model, tensors, options.allow_partial());
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
  log::info("{}: loaded {} of the model's {} tensors{}", where, report.loaded.size(), targets.size(),
            report.complete() ? "" : fmt::format(", skipped {}", report.skipped().size()));
  return report;
}

}  // namespace medssl::weights
