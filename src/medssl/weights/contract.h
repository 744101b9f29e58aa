#pragma once
// The preprocessing contract: what the weights' manifest (manifest.h) says about the input the network was trained
// on, compared with what a run (finetune, predict) feeds it. Compared, where the manifest records them:
//   spatial_dims, in_channels, patch_size, target_spacing, intensity window, intensity normalisation, axis_convention.
// A difference is reported as one line naming the key and both values; `--strict-contract` makes any difference an
// error instead of a warning. Differences medssl can bridge (input channels, 2D -> 3D) say so in their note.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace medssl::weights {

struct ContractDifference {
  std::string key;       ///< e.g. "target_spacing", "intensity.window"
  nlohmann::json weights, run;
  std::string note;      ///< what follows from it, "" if nothing
  /// "target_spacing: the weights' [2, 2, 2], this run's [3, 3, 3] (mm, D-H-W)" (+ note).
  std::string text() const;
};

/// The differences between a manifest and a run's input contract (manifest.h's input_contract). Keys the manifest
/// does not have are not compared (older or foreign manifests).
std::vector<ContractDifference> compare_contract(const nlohmann::json& manifest, const nlohmann::json& run);

/// Logs every difference as a warning naming `where`; with `strict` throws medssl::Error listing them all instead.
void enforce_contract(const std::vector<ContractDifference>& differences, bool strict, const std::string& where);

/// [{"key", "weights", "run", "note"}] for transfer.json / summaries.
nlohmann::json differences_json(const std::vector<ContractDifference>& differences);

}  // namespace medssl::weights
