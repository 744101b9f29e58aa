#pragma once
// Any file medssl can take weights from, recognised by its content (not its name):
//   medssl checkpoint   RUN_DIR/checkpoints/last.pt or best.pt (train/checkpoint.h, a TorchScript archive with the
//                       tag "medssl-checkpoint-v1"): its model tensors and the run's manifest
//   torch.save file     what `medssl export` / save_state_dict write, and Python's torch.save of a state dict, in the
//                       zip or the legacy format, also nested in a training-checkpoint dict (torch_save_format.h)
// read_weights_file is the one entry point for untrusted weights files (the CLI verbs, fuzz targets): whatever the
// bytes, it returns or throws medssl::Error naming the file, and never runs code from the file.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/torch_save_format.h"

namespace medssl::weights {

enum class WeightsFormat { medssl_checkpoint, torch_save, torch_save_legacy };

/// "medssl checkpoint", "torch.save file", "torch.save file (legacy format)".
std::string format_name(WeightsFormat format);

struct WeightsFile {
  std::string path;
  WeightsFormat format = WeightsFormat::torch_save;
  std::string entry;  ///< torch.save files: the dict path the state dict was found under ("" = the saved object)
  std::vector<StateDictCandidate> candidates;  ///< torch.save files: every dict of tensors the file holds
  StateDict tensors;  ///< name -> tensor (CPU), as stored
  nlohmann::json manifest;      ///< the weights' manifest (manifest.h), null if the file has none
  std::string manifest_source;  ///< where it came from: "embedded", the sidecar's path, "checkpoint", ""

  /// e.g. "medssl checkpoint" or "torch.save file, entry \"state_dict\"".
  std::string description() const;
};

struct ReadWeightsOptions {
  /// torch.save files: which nested state dict to read ("teacher"); "" = decide (see read_torch_save)
  std::string entry;
};

/// Reads the tensors and the manifest of a weights file of any supported format. Throws medssl::Error naming `path`
/// if it is missing, empty, truncated, corrupt, refers to a Python global a state dict does not use, holds no state
/// dict, or several without `options.entry` choosing one.
WeightsFile read_weights_file(const std::string& path);
WeightsFile read_weights_file(const std::string& path, const ReadWeightsOptions& options);

/// Only the manifest of a weights file (embedded record, sidecar, or a checkpoint's run manifest), without reading
/// its tensors; null if it has none. medssl::Error naming the file if it is missing or its manifest is malformed.
nlohmann::json read_weights_manifest(const std::string& path);

}  // namespace medssl::weights
