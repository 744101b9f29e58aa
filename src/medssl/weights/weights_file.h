#pragma once
// Any file medssl can take weights from, recognised by its content (not its name):
//   medssl checkpoint   RUN_DIR/checkpoints/last.pt or best.pt (train/checkpoint.h, a TorchScript archive with the
//                       tag "medssl-checkpoint-v1"): its model tensors
//   torch.save file     what `medssl export` / save_state_dict write, and Python's torch.save of a state dict, in the
//                       zip or the legacy format, also nested in a training-checkpoint dict (torch_save_format.h)
#include <string>

#include "medssl/weights/state_dict_io.h"

namespace medssl::weights {

enum class WeightsFormat { medssl_checkpoint, torch_save, torch_save_legacy };

/// "medssl checkpoint", "torch.save file", "torch.save file (legacy format)".
std::string format_name(WeightsFormat format);

struct WeightsFile {
  std::string path;
  WeightsFormat format = WeightsFormat::torch_save;
  std::string entry;  ///< torch.save files: the dict key the state dict was found under ("" = the saved dict itself)
  StateDict tensors;  ///< name -> tensor (CPU), as stored

  /// e.g. "medssl checkpoint" or "torch.save file, entry \"state_dict\"".
  std::string description() const;
};

/// Reads the tensors of a weights file of any supported format. Throws medssl::Error naming `path` if it is missing,
/// empty, truncated, corrupt, or holds no state dict.
WeightsFile read_weights_file(const std::string& path);

}  // namespace medssl::weights
