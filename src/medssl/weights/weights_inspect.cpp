#include "medssl/weights/weights_inspect.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "medssl/weights/python_twins.h"

namespace medssl::weights {
namespace {

using json = nlohmann::json;

std::string shape_text(const json& shape) {
  std::vector<int64_t> s = shape.get<std::vector<int64_t>>();
  return fmt::format("[{}]", fmt::join(s, ", "));
}

/// PyTorch's name of a dtype ("float32", "int64"), as Python prints it.
std::string torch_dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Bool: return "bool";
    case c10::ScalarType::ComplexFloat: return "complex64";
    case c10::ScalarType::ComplexDouble: return "complex128";
    default: return c10::toString(t);
  }
}

std::string value_text(const json& v) { return v.is_null() ? "-" : (v.is_string() ? v.get<std::string>() : v.dump()); }

}  // namespace

json inspect_weights(const WeightsFile& file) {
  json j;
  j["file"] = file.path;
  j["format"] = format_name(file.format);
  j["entry"] = file.entry;
  j["nesting"] = json::array();
  if (file.candidates.empty()) {
    j["nesting"].push_back({{"entry", ""}, {"tensors", file.tensors.size()}, {"chosen", true}});
  } else {
    for (const auto& c : file.candidates)
      j["nesting"].push_back({{"entry", c.entry}, {"tensors", c.tensors}, {"chosen", c.entry == file.entry}});
  }
  int64_t parameters = 0, statistics = 0, bytes = 0;
  std::map<std::string, int64_t> dtypes;
  json non_finite = json::array(), tensors = json::array();
  for (const auto& [name, t] : file.tensors) {
    (is_running_statistic(name) ? statistics : parameters) += t.numel();
    bytes += static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
    const std::string dtype = torch_dtype_name(t.scalar_type());
    ++dtypes[dtype];
    if (t.is_floating_point() && t.numel() > 0 && !torch::isfinite(t).all().item<bool>()) non_finite.push_back(name);
    tensors.push_back({{"name", name}, {"shape", t.sizes().vec()}, {"dtype", dtype}});
  }
  j["tensor_count"] = file.tensors.size();
  j["parameters"] = parameters;
  j["running_statistics"] = statistics;
  j["bytes"] = bytes;
  j["dtypes"] = dtypes;
  j["non_finite"] = non_finite;
  j["names_start_with"] = leading_components(file.tensors);
  auto verdict = torchvision_densenet_verdict(file.tensors, file.path);
  j["torchvision"] = verdict ? json(*verdict) : json();
  auto note = monai_vit_note(file.tensors);
  j["monai"] = note ? json(*note) : json();
  j["tensors"] = tensors;
  j["manifest"] = file.manifest;
  j["manifest_source"] = file.manifest_source;
  return j;
}

std::string inspection_text(const json& j) {
  std::string s = fmt::format("file        {}\nformat      {}\n", j.at("file").get<std::string>(),
                              j.at("format").get<std::string>());
  for (const auto& n : j.at("nesting")) {
    const std::string entry = n.at("entry").get<std::string>();
    s += fmt::format("nesting     {} ({} tensors){}\n",
                     entry.empty() ? "(the saved object itself)" : "\"" + entry + "\"", n.at("tensors").get<size_t>(),
                     n.at("chosen").get<bool>() ? "  <- read" : "");
  }
  std::vector<std::string> dtypes;
  for (const auto& [dtype, count] : j.at("dtypes").items())
    dtypes.push_back(fmt::format("{} {}", count.get<int64_t>(), dtype));
  s += fmt::format("tensors     {} ({}), {} parameters + {} BatchNorm statistics, {:.1f} MiB\n",
                   j.at("tensor_count").get<size_t>(), fmt::join(dtypes, ", "), j.at("parameters").get<int64_t>(),
                   j.at("running_statistics").get<int64_t>(), j.at("bytes").get<int64_t>() / (1024.0 * 1024.0));
  s += fmt::format("names       start with {}\n", j.at("names_start_with").get<std::string>());
  if (!j.at("non_finite").empty())
    s += fmt::format("NON-FINITE  {} tensor(s) hold NaN or inf: {}\n", j.at("non_finite").size(),
                     fmt::join(j.at("non_finite").get<std::vector<std::string>>(), ", "));
  if (!j.at("torchvision").is_null()) s += "torchvision " + j.at("torchvision").get<std::string>() + "\n";
  if (!j.at("monai").is_null()) s += "MONAI       " + j.at("monai").get<std::string>() + "\n";
  const json& m = j.at("manifest");
  if (m.is_object()) {
    s += fmt::format("manifest    from {}\n", j.at("manifest_source").get<std::string>());
    for (const char* key : {"kind", "architecture", "encoder", "tensor_prefix", "spatial_dims", "in_channels",
                            "patch_size", "target_spacing", "intensity", "axis_convention", "pretext", "training_data",
                            "seed", "medssl", "libtorch", "final_metrics"}) {
      if (!m.contains(key)) continue;
      json v = m.at(key);
      if (std::string(key) == "pretext" && v.is_object()) v = v.value("method", json());
      s += fmt::format("  {:<15} {}\n", key, value_text(v));
    }
  } else {
    s += "manifest    none (no embedded record, no sidecar .manifest.json): the preprocessing the weights need is "
         "unknown\n";
  }
  size_t width = 4;
  for (const auto& t : j.at("tensors")) width = std::max(width, t.at("name").get<std::string>().size());
  s += fmt::format("\n{:<{}}  {:<20}  {}\n", "name", width, "shape", "dtype");
  for (const auto& t : j.at("tensors"))
    s += fmt::format("{:<{}}  {:<20}  {}\n", t.at("name").get<std::string>(), width, shape_text(t.at("shape")),
                     t.at("dtype").get<std::string>());
  return s;
}

}  // namespace medssl::weights
