#pragma once
// The preprocessing of `medssl prepare`, one image at a time, so that training (through the cache) and `medssl
// predict` (on a new case, no cache) apply exactly the same steps in the same order:
//   volumes:  resample to `spacing` -> intensity (window / normalize) -> crop to the foreground box -> `size` cube
//             (resize, or centre crop/pad)
//   pictures: intensity -> `size` square
// Every geometric step keeps Volume::affine exact (data/volume/affine_update.h), so a prediction on the preprocessed
// grid can be mapped back to the input's grid through the two affines (data/transforms/resample_to_grid.h).
// `settings` are validated prepare keys (cache::prepare_schema()).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "medssl/data/volume/volume.h"

namespace medssl::cache {

/// Loads a case's image files (one per channel, as nnU-Net's _0000, _0001, ...; a 4D file gives its own channels) into
/// one volume, channels concatenated; every file must have channel 0's spatial shape. `what` names the case.
Volume load_channels(const std::vector<std::string>& files, const std::string& what);

/// The intensity step: `window` (clip + map to [0, 1]) then `normalize` (auto | minmax | zscore | divide_by_255 |
/// none; auto = none after a window, divide_by_255 for 8-bit pictures, else minmax).
torch::Tensor normalize_intensity(const torch::Tensor& data, const nlohmann::json& settings, bool is_picture);

/// Preprocesses a volume; `label`, when given, goes through the same geometric steps (nearest neighbour).
Volume preprocess_volume(Volume image, const nlohmann::json& settings, std::optional<Volume>* label = nullptr);

/// Preprocesses a picture; `label`, when given, goes through the same geometric steps.
Image2D preprocess_picture(Image2D image, const nlohmann::json& settings, std::optional<Image2D>* label = nullptr);

/// What the cache stores: the image rounded through `store_dtype` (float16 or float32) and back to float32, so that
/// a model sees at inference exactly the values it was trained on.
torch::Tensor as_stored(const torch::Tensor& image, const nlohmann::json& settings);

}  // namespace medssl::cache
