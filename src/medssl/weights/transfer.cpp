#include "medssl/weights/transfer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <set>

#include "medssl/core/error.h"
#include "medssl/models/transformer_block.h"
#include "medssl/weights/transfer_adapt.h"
#include "medssl/weights/transfer_names.h"

namespace medssl::weights {
namespace {

constexpr size_t kListed = 10;  // tensors named per category in an error message

std::string shape_of(c10::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

std::string first_entries(const std::vector<std::string>& entries) {
  const auto count = static_cast<std::ptrdiff_t>(std::min(kListed, entries.size()));
  std::string s = fmt::format("{}", fmt::join(entries.begin(), entries.begin() + count, ", "));
  if (entries.size() > kListed) s += fmt::format(", ... ({} in all)", entries.size());
  return s;
}

/// The distinct first name components ("encoder.", "features."), to hint at a prefix mistake.
template <typename Names>
std::string leading_components(const Names& names) {
  std::set<std::string> heads;
  for (const auto& n : names) {
    const auto dot = n.find('.');
    heads.insert(dot == std::string::npos ? n : n.substr(0, dot + 1));
  }
  return first_entries(std::vector<std::string>(heads.begin(), heads.end()));
}

bool starts_with(const std::string& s, const std::string& head) { return s.rfind(head, 0) == 0; }

std::vector<int64_t> sizes_of(const torch::Tensor& t) { return t.sizes().vec(); }

/// One file tensor going into one model tensor.
struct Proposal {
  std::string source;
  std::vector<std::string> steps;
};

}  // namespace

TransferReport transfer_weights(torch::nn::Module& model, const std::string& path, const TransferOptions& options) {
  ReadWeightsOptions read;
  read.entry = options.entry;
  return transfer_weights(model, read_weights_file(path, read), options);
}

TransferReport transfer_weights(torch::nn::Module& model, const WeightsFile& file, const TransferOptions& options) {
  const std::string where = fmt::format("{} '{}' ({})", options.label, file.path, file.description());
  check(options.min_match >= 0.0 && options.min_match <= 1.0,
        "{}: --min-match {} is not a fraction in [0, 1]", where, options.min_match);
  std::map<std::string, torch::Tensor> targets;
  std::map<std::string, size_t> position;  // registration order: errors list the network's first layers first
  for (const auto& p : model.named_parameters(/*recurse=*/true)) targets.emplace(p.key(), p.value());
  for (const auto& b : model.named_buffers(/*recurse=*/true))
    if (b.value().defined()) targets.emplace(b.key(), b.value());
  for (const auto& p : model.named_parameters(/*recurse=*/true)) position.emplace(p.key(), position.size());
  for (const auto& b : model.named_buffers(/*recurse=*/true)) position.emplace(b.key(), position.size());
  const std::string& part = options.pretrained_prefix;
  auto in_part = [&](const std::string& name) { return part.empty() || starts_with(name, part); };

  TransferReport report;
  report.file = file.path;
  report.source = file.description();
  report.pretrained_prefix = part;
  report.model_tensors = targets.size();
  report.min_match = options.min_match;
  report.manifest = file.manifest;
  for (const auto& item : targets) report.pretrained_tensors += in_part(item.first) ? 1 : 0;

  // Names: every file tensor to at most one model tensor; a second claimant is skipped.
  std::set<std::string> model_names;
  for (const auto& item : targets) model_names.insert(item.first);
  std::vector<NameMap> user_maps;
  for (const auto& m : options.maps) user_maps.push_back(parse_name_map(m));
  const NameMapper mapper(model_names, user_maps, part);
  std::map<std::string, Proposal> proposals;
  for (const auto& [name, tensor] : file.tensors) {
    if (models::is_unused_monai_vit_key(name)) {
      report.skipped.push_back({name, "MONAI >= 1.4 cross-attention, never used by the model", sizes_of(tensor)});
      continue;
    }
    NameMapping m = mapper.map(name);
    if (!m.in_model) {
      report.skipped.push_back(
          {name, m.target == name ? "not in the model" : fmt::format("not in the model (mapped to \"{}\")", m.target),
           sizes_of(tensor)});
      continue;
    }
    auto it = proposals.find(m.target);
    if (it == proposals.end()) {
      proposals.emplace(m.target, Proposal{name, m.steps});
      continue;
    }
    // Two file tensors for one model tensor: the one needing fewer name steps wins (the exact name first).
    Proposal loser{name, m.steps};
    if (m.steps.size() < it->second.steps.size()) std::swap(loser, it->second);
    report.skipped.push_back({loser.source, fmt::format("\"{}\" also maps to the model's \"{}\" and is used instead",
                                                        it->second.source, m.target),
                              sizes_of(file.tensors.at(loser.source))});
  }

  // Shapes, values: decide everything before the model is touched.
  std::vector<std::pair<std::string, torch::Tensor>> to_copy;
  std::vector<std::pair<size_t, std::string>> unadaptable;
  std::set<std::string> loaded;
  for (const auto& [target_name, proposal] : proposals) {
    const torch::Tensor& source = file.tensors.at(proposal.source);
    const torch::Tensor& target = targets.at(target_name);
    if (source.is_floating_point() && source.numel() > 0) {
      const int64_t bad = source.numel() - torch::isfinite(source).sum().item<int64_t>();
      check(bad == 0, "{}: tensor \"{}\" holds {} NaN or infinite value(s) of {}; such weights cannot initialise a "
            "model (the file is damaged, or saved from a run that diverged)", where, proposal.source, bad,
            source.numel());
    }
    const std::string steps = fmt::format("{}", fmt::join(proposal.steps, "; "));
    if (source.sizes() == target.sizes()) {
      report.matched.push_back({target_name, proposal.source, steps, "", sizes_of(target), sizes_of(source)});
      to_copy.emplace_back(target_name, source);
      loaded.insert(target_name);
    } else if (auto adapted = adapt_tensor(source, target.sizes(), options.in_channels)) {
      report.adapted.push_back({target_name, proposal.source, steps, adapted->how, sizes_of(target), sizes_of(source)});
      to_copy.emplace_back(target_name, adapted->tensor);
      loaded.insert(target_name);
    } else if (in_part(target_name)) {
      unadaptable.emplace_back(position.at(target_name),
                               fmt::format("{}: file {} vs model {}", target_name, shape_of(source.sizes()),
                                           shape_of(target.sizes())));
    } else {
      report.skipped.push_back(
          {proposal.source,
           fmt::format("another shape than the model's \"{}\" {}, outside the pretrained part: the model's tensor "
                       "keeps its fresh initialisation", target_name, shape_of(target.sizes())),
           sizes_of(source)});
    }
  }
  std::sort(unadaptable.begin(), unadaptable.end());
  std::vector<std::string> unadaptable_text;
  for (const auto& u : unadaptable) unadaptable_text.push_back(u.second);
  if (!unadaptable.empty())
    fail("{} does not fit the model: {} tensor(s) of its {} have shapes that no rule adapts (only the first layer's "
         "input channels and 2D -> 3D kernels are adapted):\n  {}{}",
         where, unadaptable.size(), part.empty() ? "weights" : "pretrained part \"" + part + "\"",
         fmt::join(unadaptable_text.begin(),
                   unadaptable_text.begin() + static_cast<std::ptrdiff_t>(std::min(kListed, unadaptable.size())),
                   "\n  "),
         unadaptable.size() > kListed ? fmt::format("\n  ... ({} in all)", unadaptable.size()) : "");

  std::vector<std::string> missing_in_part;
  for (const auto& [name, target] : targets) {
    if (loaded.count(name)) continue;
    const bool reinit = proposals.count(name) > 0;
    report.missing.push_back({name, reinit ? "the file's tensor has another shape: re-initialised"
                                           : "not in the file: keeps its fresh initialisation",
                              sizes_of(target)});
    if (in_part(name)) missing_in_part.push_back(fmt::format("{} {}", name, shape_of(target.sizes())));
  }
  report.pretrained_loaded = report.pretrained_tensors - missing_in_part.size();

  std::vector<std::string> file_names, target_names;
  for (const auto& item : file.tensors) file_names.push_back(item.first);
  for (const auto& item : targets) target_names.push_back(item.first);
  check(!loaded.empty() || targets.empty(),
        "{}: not one of the file's {} tensors fits the model's {} (the file's names start with: {}; the model's with: "
        "{}); map the names with --map OLD=NEW",
        where, file.tensors.size(), targets.size(), leading_components(file_names), leading_components(target_names));
  const double needed = options.min_match * static_cast<double>(report.pretrained_tensors);
  check(static_cast<double>(report.pretrained_loaded) + 1e-9 >= needed,
        "{}: only {} of the {} tensors of the model's {} were loaded, fewer than --min-match {} asks ({}); missing: "
        "{}\n  (the file's names start with: {}; map them with --map OLD=NEW, or lower --min-match)",
        where, report.pretrained_loaded, report.pretrained_tensors,
        part.empty() ? "weights" : "pretrained part \"" + part + "\"", options.min_match,
        static_cast<int64_t>(std::ceil(needed - 1e-9)), first_entries(missing_in_part), leading_components(file_names));

  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : to_copy) targets.at(name).copy_(tensor);
  return report;
}

}  // namespace medssl::weights
