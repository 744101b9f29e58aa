#pragma once
// State dicts that PyTorch reads: `torch.load(path)` in Python returns a dict {name: tensor} for a file written by
// save_state_dict, and load_state_dict_file reads files written by Python's `torch.save(model.state_dict(), path)`.
//
// A state dict holds every parameter and every buffer (BatchNorm running_mean / running_var / num_batches_tracked)
// under PyTorch's dotted names ("features.denseblock1.denselayer1.conv1.weight"), so a medssl DenseNet state dict
// loads into torchvision with strict=True, and an encoder saved by a pretext task loads into a downstream model.
//
// Loading is strict by default: any missing, unexpected or mis-shaped key fails with a message listing them all.
// allow_partial loads the matching keys and reports the rest (never silently): the report is returned and logged.
#include <map>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::weights {

using StateDict = std::map<std::string, torch::Tensor>;

/// Parameters and buffers of `module` (recursively) by dotted name, detached, on the CPU.
StateDict state_dict(const torch::nn::Module& module);

/// Writes `module`'s state dict to `path` in torch.save's zip format (Python torch.load reads it, also with
/// weights_only=True), atomically.
void save_state_dict(const torch::nn::Module& module, const std::string& path);
/// Writes an arbitrary name -> tensor map the same way (e.g. a renamed/filtered state dict, or test tensors).
void save_tensors(const StateDict& tensors, const std::string& path);

/// Reads a file holding a dict {str: tensor} (written by save_state_dict or Python torch.save). Throws medssl::Error
/// naming the file if it is missing, not a PyTorch file, or not a dict of tensors.
StateDict load_state_dict_file(const std::string& path);

/// What load_into did not load. All lists are sorted.
struct LoadReport {
  std::vector<std::string> loaded;      ///< keys copied into the module
  std::vector<std::string> missing;     ///< in the module, absent from the state dict (left as they were)
  std::vector<std::string> unexpected;  ///< in the state dict, absent from the module (ignored)
  std::vector<std::string> mismatched;  ///< in both, with different shapes, as "key: file [..] vs model [..]"
  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  /// Everything not loaded, one entry per key (missing, unexpected, mismatched).
  std::vector<std::string> skipped() const;
};

/// Copies `tensors` into `module`'s parameters and buffers by name (converting dtype, keeping the module's device).
/// allow_partial = false: throws medssl::Error listing every missing / unexpected / mis-shaped key, and changes
/// nothing. allow_partial = true: loads the matching keys, logs the skipped ones (warning) and returns them; throws if
/// not a single key matches (almost certainly a prefix mistake).
LoadReport load_into(torch::nn::Module& module, const StateDict& tensors, bool allow_partial = false);

/// The entries whose name starts with `prefix`, with the prefix removed ("encoder." -> a bare encoder's names).
StateDict strip_prefix(const StateDict& tensors, const std::string& prefix);
/// Every name with `prefix` prepended.
StateDict add_prefix(const StateDict& tensors, const std::string& prefix);

}  // namespace medssl::weights
