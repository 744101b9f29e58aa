#pragma once
// What Python makes of a state dict: medssl's DenseNet uses torchvision's names and its ViT / UNETR / SwinUNETR
// MONAI's, so a file can be judged against the Python twin without Python (`medssl export`, `medssl weights inspect`).
#include <optional>
#include <string>

#include "medssl/weights/state_dict_io.h"

namespace medssl::weights {

/// BatchNorm running statistics (running_mean / running_var / num_batches_tracked): state, not parameters.
bool is_running_statistic(const std::string& name);

/// The distinct first name components, e.g. "encoder., head.".
std::string leading_components(const StateDict& tensors);

/// For a DenseNet state dict: whether torchvision.models.densenet121 loads it (strict, or strict=False with only the
/// classifier missing), judged against a medssl DenseNet-121 (whose names and shapes equal torchvision's); `file` is
/// the name used in the Python line shown. nullopt: not a DenseNet.
std::optional<std::string> torchvision_densenet_verdict(const StateDict& tensors, const std::string& file);

/// For MONAI ViT / UNETR names: how to load the file in MONAI >= 1.4 (which adds never-used cross-attention
/// weights). nullopt: no such names.
std::optional<std::string> monai_vit_note(const StateDict& tensors);

}  // namespace medssl::weights
