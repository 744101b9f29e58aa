#include "medssl/weights/weights_file.h"

#include <caffe2/serialize/inline_container.h>

#include <filesystem>
#include <fstream>

#include "medssl/core/error.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/torch_save_format.h"

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

WeightsFile read_weights_file(const std::string& path) {
  check(std::filesystem::is_regular_file(path), "weights file '{}' does not exist or is not a file", path);
  check(std::filesystem::file_size(path) > 0, "weights file '{}' is empty (truncated?)", path);
  WeightsFile file;
  file.path = path;
  if (is_torchscript_archive(path)) {
    file.format = WeightsFormat::medssl_checkpoint;
    file.tensors = train::read_checkpoint_tensors(path);
    return file;
  }
  auto contents = read_torch_save(path);
  file.format = contents.legacy_format ? WeightsFormat::torch_save_legacy : WeightsFormat::torch_save;
  file.entry = contents.entry;
  file.tensors = std::move(contents.tensors);
  return file;
}

}  // namespace medssl::weights
