// TransferReport as transfer.json and as log lines (the report itself is filled by transfer.cpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "medssl/core/atomic_file.h"
#include "medssl/weights/transfer.h"

namespace medssl::weights {
namespace {

using json = nlohmann::json;

constexpr size_t kShown = 5;  // tensors per category in the log summary

std::string shape_of(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

template <typename Items, typename Format>
std::string first_few(const Items& items, Format format) {
  std::vector<std::string> shown;
  for (size_t i = 0; i < std::min(kShown, items.size()); ++i) shown.push_back(format(items[i]));
  std::string s = fmt::format("{}", fmt::join(shown, "; "));
  if (items.size() > kShown) s += fmt::format("; ... ({} in all, see transfer.json)", items.size());
  return s;
}

}  // namespace

json TransferReport::to_json() const {
  json j;
  j["file"] = file;
  j["source"] = source;
  j["pretrained_part"] = pretrained_prefix.empty() ? json("(whole model)") : json(pretrained_prefix);
  j["counts"] = {{"matched", matched.size()},
                 {"adapted", adapted.size()},
                 {"skipped", skipped.size()},
                 {"missing", missing.size()},
                 {"model_tensors", model_tensors},
                 {"pretrained_tensors", pretrained_tensors},
                 {"pretrained_loaded", pretrained_loaded},
                 {"min_match", min_match}};
  // How names were mapped, counted per step ("built-in \"\" -> \"encoder.\" (...)": 725).
  std::map<std::string, size_t> steps;
  for (const auto* list : {&matched, &adapted})
    for (const auto& l : *list)
      if (!l.renamed.empty()) ++steps[l.renamed];
  j["name_steps"] = steps;
  auto loaded = [](const std::vector<Loaded>& list, bool with_file_shape) {
    json a = json::array();
    for (const auto& l : list) {
      json e = {{"target", l.target}, {"source", l.source}, {"shape", l.shape}};
      if (with_file_shape) e["file_shape"] = l.file_shape;
      if (!l.renamed.empty()) e["renamed"] = l.renamed;
      if (!l.how.empty()) e["how"] = l.how;
      a.push_back(e);
    }
    return a;
  };
  j["matched"] = loaded(matched, false);
  j["adapted"] = loaded(adapted, true);
  j["skipped"] = json::array();
  for (const auto& s : skipped) j["skipped"].push_back({{"source", s.source}, {"shape", s.shape}, {"why", s.why}});
  j["missing"] = json::array();
  for (const auto& m : missing) j["missing"].push_back({{"target", m.target}, {"shape", m.shape}, {"why", m.why}});
  j["manifest"] = manifest;
  return j;
}

std::string TransferReport::summary() const {
  std::string s = fmt::format(
      "transfer from '{}' ({}): {} matched, {} adapted, {} skipped, {} missing; {}: {} of {} tensors loaded "
      "(min-match {:.0f} %)",
      file, source, matched.size(), adapted.size(), skipped.size(), missing.size(),
      pretrained_prefix.empty() ? "model" : "pretrained part \"" + pretrained_prefix + "\"", pretrained_loaded,
      pretrained_tensors, 100.0 * min_match);
  if (!adapted.empty())
    s += "\n  adapted: " + first_few(adapted, [](const Loaded& l) { return fmt::format("{} ({})", l.target, l.how); });
  if (!skipped.empty())
    s += "\n  skipped: " + first_few(skipped, [](const Skipped& k) {
           return fmt::format("{} {} ({})", k.source, shape_of(k.shape), k.why);
         });
  if (!missing.empty())
    s += "\n  missing: " + first_few(missing, [](const Missing& m) {
           return fmt::format("{} {} ({})", m.target, shape_of(m.shape), m.why);
         });
  return s;
}

void write_transfer_json(const TransferReport& report, const std::string& path, const json& extra) {
  json j = report.to_json();
  for (const auto& [k, v] : extra.items()) j[k] = v;
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace medssl::weights
