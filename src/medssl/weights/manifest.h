#pragma once
// The manifest: what a weights file needs beside its tensors to be used correctly elsewhere (docs/weights.md has the
// schema). It travels two ways: inside every torch.save file medssl writes (the zip record "medssl_manifest.json",
// which torch.load ignores) and next to it as STEM.manifest.json (encoder.pt -> encoder.manifest.json), which Python
// reads with json.load. medssl checkpoints carry the run's manifest in their "manifest_json" entry (and the trainer
// writes it as checkpoints/last.json).
//
//   format "medssl-weights-manifest", manifest_version 1, kind (pretrain | finetune | export),
//   architecture + architecture_options (the network in the file), encoder + encoder_options + tensor_prefix (the
//   transferable part and where its tensors are), spatial_dims, in_channels, patch_size (input side per spatial axis),
//   target_spacing (mm, D-H-W; null = not resampled), intensity {window, normalize}, axis_convention ("RAS+, C-D-H-W"),
//   preprocessing (the full `prepare` settings), pretext {method, config}, training_data {name, layout, cases, images,
//   spacing}, seed, medssl {version, commit}, libtorch, created_utc, final_metrics.
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/weights/state_dict_io.h"

namespace medssl::weights {

inline constexpr const char* kManifestFormat = "medssl-weights-manifest";
inline constexpr int kManifestVersion = 1;
inline constexpr const char* kAxisConvention = "RAS+, C-D-H-W";

/// STEM.manifest.json next to the weights (a .pt / .pth / .bin / .ckpt extension is replaced, any other name gets
/// ".manifest.json" appended).
std::string manifest_sidecar_path(const std::string& weights_path);

/// The fields every manifest has: format, manifest_version, kind, axis_convention, medssl version and commit,
/// LibTorch version, creation time.
nlohmann::json base_manifest(const std::string& kind);

/// The contract fields of a network's input, in manifest form: spatial_dims, in_channels, patch_size ([side] per
/// spatial axis), target_spacing, intensity {window, normalize}, axis_convention and the verbatim `preprocessing`
/// (validated prepare settings; null = unknown).
nlohmann::json input_contract(int spatial_dims, int64_t in_channels, int64_t patch_side,
                              const nlohmann::json& preprocessing);

/// Parses a manifest's text; medssl::Error naming `where` if it is not a JSON object of this format.
nlohmann::json parse_manifest(const std::string& text, const std::string& where);

/// Writes `tensors` as a torch.save file (torch_save_format.h) with `manifest` embedded, and the sidecar
/// manifest_sidecar_path(path); both atomically.
void save_weights(const StateDict& tensors, const std::string& path, const nlohmann::json& manifest);

/// The sidecar manifest of `weights_path`, or null when there is none; medssl::Error naming the sidecar if it is
/// unreadable.
nlohmann::json read_sidecar_manifest(const std::string& weights_path);

}  // namespace medssl::weights
