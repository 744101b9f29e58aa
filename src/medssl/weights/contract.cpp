#include "medssl/weights/contract.h"

#include <fmt/format.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace medssl::weights {
namespace {

using json = nlohmann::json;

struct Key {
  const char* name;  ///< dotted path in the manifest
  const char* unit;  ///< appended to the values in messages
};

const std::vector<Key>& compared_keys() {
  static const std::vector<Key> keys = {{"spatial_dims", ""},      {"in_channels", " channel(s)"},
                                        {"patch_size", " voxels"},  {"target_spacing", " mm (D, H, W)"},
                                        {"intensity.window", ""},   {"intensity.normalize", ""},
                                        {"axis_convention", ""}};
  return keys;
}

/// The value at a dotted path, and whether it is there at all.
std::pair<bool, json> lookup(const json& j, const std::string& path) {
  const json* at = &j;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object() || !at->contains(part)) return {false, json()};
    at = &at->at(part);
    if (dot == std::string::npos) return {true, *at};
    start = dot + 1;
  }
}

/// Equal JSON values, numbers within a relative 1e-6 (spacings computed in floating point).
bool same(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::fabs(x - y) <= 1e-6 * std::max(1.0, std::max(std::fabs(x), std::fabs(y)));
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

std::string shown(const json& v) { return v.is_null() ? "none" : (v.is_string() ? v.get<std::string>() : v.dump()); }

std::string note_for(const std::string& key, const json& weights, const json& run) {
  if (key == "in_channels") return "the first layer's kernels are adapted (docs/weights.md)";
  if (key == "spatial_dims" && weights == 2 && run == 3)
    return "2D kernels are inflated to 3D where the network allows";
  if (key == "target_spacing" && weights.is_null()) return "the weights' data was not resampled";
  if (key == "target_spacing" && run.is_null()) return "this run does not resample";
  if (key == "axis_convention") return "a transposed or flipped input silently defeats the pretraining";
  return "";
}

}  // namespace

std::string ContractDifference::text() const {
  std::string unit;
  for (const auto& k : compared_keys())
    if (key == k.name) unit = k.unit;
  std::string s = fmt::format("{}: the weights' {}{}, this run's {}{}", key, shown(weights),
                              weights.is_null() ? "" : unit, shown(run), run.is_null() ? "" : unit);
  if (!note.empty()) s += " (" + note + ")";
  return s;
}

std::vector<ContractDifference> compare_contract(const json& manifest, const json& run) {
  std::vector<ContractDifference> out;
  if (!manifest.is_object()) return out;
  for (const auto& k : compared_keys()) {
    auto [in_manifest, weights] = lookup(manifest, k.name);
    if (!in_manifest) continue;
    auto [in_run, value] = lookup(run, k.name);
    if (!in_run || same(weights, value)) continue;
    out.push_back({k.name, weights, value, note_for(k.name, weights, value)});
  }
  return out;
}

void enforce_contract(const std::vector<ContractDifference>& differences, bool strict, const std::string& where) {
  if (differences.empty()) {
    log::info("{}: the run's input matches the weights' preprocessing contract", where);
    return;
  }
  std::string lines;
  for (const auto& d : differences) lines += "\n  " + d.text();
  if (strict)
    fail("{}: the run differs from the weights' preprocessing contract (--strict-contract):{}", where, lines);
  log::warn("{}: the run differs from the weights' preprocessing contract in {} point(s) (--strict-contract makes "
            "this an error):{}", where, differences.size(), lines);
}

json differences_json(const std::vector<ContractDifference>& differences) {
  json a = json::array();
  for (const auto& d : differences)
    a.push_back({{"key", d.key}, {"weights", d.weights}, {"run", d.run}, {"note", d.note}, {"text", d.text()}});
  return a;
}

}  // namespace medssl::weights
