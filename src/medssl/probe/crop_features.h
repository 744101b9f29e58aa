#pragma once
// Labelled crops for the linear probe and their frozen-encoder features.
//
// A crop is a cube (3D) or square (2D) of side `side` around a centre voxel of one labelled item (a volume, or a
// slice of one); its label is the class of the label map AT THE CENTRE (background / organ / lesion for the CT
// phantoms). The image is padded with its own minimum (air / background after preprocessing) by side/2 on every side,
// so a crop can sit on any voxel, also near the border, and always has the encoder's input size.
//
// Sampling ("balanced", the default): each crop first draws a class uniformly among the classes present in the items,
// then an item holding that class, then one of that class's voxels; otherwise ("uniform") an item and then any voxel.
// Balanced draws keep rare classes (a lesion is a few hundred voxels) in the probe's training and test sets; the
// majority-class rate is reported either way. Every draw comes from Rng::derive(seed, "probe-crops"), so the crops are a
// pure function of (items, options).
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/data/loader/image_set.h"

namespace medssl::probe {

struct CropSamplingOptions {
  int64_t count = 512;     ///< crops to draw
  int64_t side = 32;       ///< crop side (the encoder's input size)
  uint64_t seed = 0;
  bool balanced = true;    ///< class-balanced draws (see above), else uniform over items and voxels
  int64_t batch_size = 16; ///< crops per encoder forward pass
};

struct CropCentre {
  int64_t item = 0;                 ///< index into the ImageSet
  std::vector<int64_t> position;    ///< spatial index of the centre voxel
  int64_t label = 0;                ///< class at the centre
};

/// Draws `options.count` crop centres from the labelled items `items` of `set` (indices into set). Errors when an item
/// has no label map or when no item is given.
std::vector<CropCentre> sample_crop_centres(const data::ImageSet& set, const std::vector<int64_t>& items,
                                            int64_t num_classes, const CropSamplingOptions& options);

/// The crop (C, side, side[, side]) of `image` (C, *spatial) centred on `position` (padded with `pad_value`; the
/// centre voxel lands at index side/2 on every axis).
torch::Tensor crop_around(const torch::Tensor& image, const std::vector<int64_t>& position, int64_t side,
                          double pad_value);

struct CropFeatures {
  torch::Tensor features;  ///< (N, F) float32
  torch::Tensor labels;    ///< (N) int64
};

/// Runs the frozen `encoder` (eval mode, no grad; pretext::encode_flat) on the crops at `centres` in batches.
CropFeatures extract_crop_features(const data::ImageSet& set, const std::vector<CropCentre>& centres,
                                   torch::nn::Module& encoder, const CropSamplingOptions& options);

}  // namespace medssl::probe
