#include "medssl/weights/manifest.h"

#include <torch/version.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/version.h"
#include "medssl/weights/torch_save_format.h"

namespace medssl::weights {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json value_or_null(const json& object, const char* key) {
  return object.is_object() && object.contains(key) ? object.at(key) : json();
}

}  // namespace

std::string manifest_sidecar_path(const std::string& weights_path) {
  fs::path p(weights_path);
  const std::string ext = p.extension().string();
  if (ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt") p.replace_extension();
  return p.string() + ".manifest.json";
}

json base_manifest(const std::string& kind) {
  return {{"format", kManifestFormat},
          {"manifest_version", kManifestVersion},
          {"kind", kind},
          {"axis_convention", kAxisConvention},
          {"medssl", {{"version", MEDSSL_VERSION}, {"commit", MEDSSL_GIT_COMMIT}}},
          {"libtorch", TORCH_VERSION},
          {"created_utc", utc_now()}};
}

json input_contract(int spatial_dims, int64_t in_channels, int64_t patch_side, const json& preprocessing) {
  json patch = json::array();
  for (int d = 0; d < spatial_dims; ++d) patch.push_back(patch_side);
  return {{"spatial_dims", spatial_dims},
          {"in_channels", in_channels},
          {"patch_size", patch},
          {"target_spacing", value_or_null(preprocessing, "spacing")},
          {"intensity", {{"window", value_or_null(preprocessing, "window")},
                         {"normalize", value_or_null(preprocessing, "normalize")}}},
          {"axis_convention", kAxisConvention},
          {"preprocessing", preprocessing}};
}

json parse_manifest(const std::string& text, const std::string& where) {
  json m;
  try {
    m = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: the manifest is not valid JSON ({})", where, e.what());
  }
  check(m.is_object(), "{}: the manifest is not a JSON object", where);
  return m;
}

void save_weights(const StateDict& tensors, const std::string& path, const json& manifest) {
  const std::string text = manifest.dump(2) + "\n";
  write_torch_save(tensors, path, {{kManifestRecord, text}});
  write_file_atomic(manifest_sidecar_path(path), text);
}

json read_sidecar_manifest(const std::string& weights_path) {
  const std::string sidecar = manifest_sidecar_path(weights_path);
  if (!fs::is_regular_file(sidecar)) return json();
  return parse_manifest(read_file(sidecar), "'" + sidecar + "'");
}

}  // namespace medssl::weights
