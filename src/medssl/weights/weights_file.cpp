#include "medssl/weights/weights_file.h"

#include <caffe2/serialize/inline_container.h>

#include <filesystem>
#include <fstream>

#include "medssl/core/error.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/manifest.h"

namespace medssl::weights {
namespace {

/// TorchScript archives (and so medssl checkpoints, written by torch::serialize::OutputArchive) carry their code and
/// constants next to data.pkl; torch.save files never do.
bool is_torchscript_archive(const std::string& path) {
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, sizeof(magic));
  if (in.gcount() != 4 || std::string(magic, 4) != std::string("PK\x03\x04", 4)) return false;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return reader.hasRecord("constants.pkl");
  } catch (const c10::Error& e) {
    fail("'{}' is truncated or corrupt (unreadable zip archive: {})", path, e.what_without_backtrace());
  }
}

nlohmann::json checkpoint_manifest(const std::string& path) {
  const std::string manifest = train::read_checkpoint_state(path).state.manifest_json;
  if (manifest.empty() || manifest == "null" || manifest == "{}") return nlohmann::json();
  return parse_manifest(manifest, "checkpoint '" + path + "'");
}

}  // namespace

std::string format_name(WeightsFormat format) {
  switch (format) {
    case WeightsFormat::medssl_checkpoint: return "medssl checkpoint";
    case WeightsFormat::torch_save: return "torch.save file";
    case WeightsFormat::torch_save_legacy: return "torch.save file (legacy format)";
  }
  return "weights file";
}

std::string WeightsFile::description() const {
  return entry.empty() ? format_name(format) : fmt::format("{}, entry \"{}\"", format_name(format), entry);
}

WeightsFile read_weights_file(const std::string& path) { return read_weights_file(path, ReadWeightsOptions{}); }

WeightsFile read_weights_file(const std::string& path, const ReadWeightsOptions& options) {
  check(std::filesystem::is_regular_file(path), "weights file '{}' does not exist or is not a file", path);
  check(std::filesystem::file_size(path) > 0, "weights file '{}' is empty (truncated?)", path);
  WeightsFile file;
  file.path = path;
  if (is_torchscript_archive(path)) {
    check(options.entry.empty(), "'{}' is a medssl checkpoint, which has no entries to choose (--entry {})", path,
          options.entry);
    file.format = WeightsFormat::medssl_checkpoint;
    file.tensors = train::read_checkpoint_tensors(path);
    file.manifest = checkpoint_manifest(path);
    if (!file.manifest.is_null()) file.manifest_source = "checkpoint";
    return file;
  }
  auto contents = read_torch_save(path, options.entry);
  file.format = contents.legacy_format ? WeightsFormat::torch_save_legacy : WeightsFormat::torch_save;
  file.entry = contents.entry;
  file.candidates = std::move(contents.candidates);
  file.tensors = std::move(contents.tensors);
  if (!contents.manifest_json.empty()) {
    file.manifest = parse_manifest(contents.manifest_json, "'" + path + "' (embedded record)");
    file.manifest_source = "embedded";
  } else {
    file.manifest = read_sidecar_manifest(path);
    if (!file.manifest.is_null()) file.manifest_source = manifest_sidecar_path(path);
  }
  return file;
}

nlohmann::json read_weights_manifest(const std::string& path) {
  check(std::filesystem::is_regular_file(path), "weights file '{}' does not exist or is not a file", path);
  if (is_torchscript_archive(path)) return checkpoint_manifest(path);
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, sizeof(magic));
  if (in.gcount() == 4 && std::string(magic, 4) == std::string("PK\x03\x04", 4)) {
    try {
      caffe2::serialize::PyTorchStreamReader reader(path);
      if (reader.hasRecord(kManifestRecord)) {
        auto [ptr, size] = reader.getRecord(kManifestRecord);
        return parse_manifest(std::string(static_cast<const char*>(ptr.get()), size),
                              "'" + path + "' (embedded record)");
      }
    } catch (const c10::Error& e) {
      fail("'{}' is truncated or corrupt (unreadable zip archive: {})", path, e.what_without_backtrace());
    }
  }
  return read_sidecar_manifest(path);
}

}  // namespace medssl::weights
