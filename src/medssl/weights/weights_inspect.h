#pragma once
// `medssl weights inspect FILE [--json]`: what a weights file holds, without loading it into a model: its format, the
// nesting where the state dict was found (and every other dict of tensors in the file), each tensor's name, shape
// and dtype, tensors holding NaN or inf, the verdict of the Python twins (torchvision DenseNet-121, MONAI ViT), and the
// manifest (manifest.h) with where it came from.
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/weights/weights_file.h"

namespace medssl::weights {

/// The inspection as JSON: file, format, entry, nesting [{entry, tensors, chosen}], tensor_count, parameters,
/// running_statistics, bytes, dtypes {dtype: count}, non_finite [names], names_start_with, torchvision, monai,
/// tensors [{name, shape, dtype}] (dtype as PyTorch names it: float32, int64, ...), manifest, manifest_source.
nlohmann::json inspect_weights(const WeightsFile& file);

/// The same for people: a header, the table of tensors, the manifest's main fields.
std::string inspection_text(const nlohmann::json& inspection);

}  // namespace medssl::weights
