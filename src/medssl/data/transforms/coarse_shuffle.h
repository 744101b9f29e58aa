#pragma once
// Coarse shuffle of a (C, H, W) or (C, D, H, W) tensor: MONAI's RandCoarseShuffle (monai/transforms/intensity/
// array.py; spec: design/reference/iou_and_monai_ssl.md B.2), the "local pixel shuffling" of the MONAI
// self-supervised tutorial. Boxes are placed as coarse_dropout's holes (coarse_dropout.h: count, sizes, positions,
// clipping); inside each box, box after box, the voxels of every channel are permuted uniformly at random (each
// channel with its own permutation), so every box keeps the multiset of its values. Boxes may overlap; a later box
// then shuffles voxels an earlier one already moved. All randomness comes from the medssl::Rng passed in; results are
// fresh tensors (the input is never changed).
#include <cstdint>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"
#include "medssl/data/transforms/coarse_dropout.h"

namespace medssl {

struct CoarseShuffleOptions {
  /// Default: the tutorial's (10 boxes of 8 voxels per axis, fixed size).
  CoarseHoleOptions holes{10, {8}, std::nullopt, std::nullopt, false};
  double prob = 0.8;  ///< the tutorial's probability of applying the transform
};

/// Shuffles the voxels inside the given boxes (each inside the image), in order.
torch::Tensor coarse_shuffle(const torch::Tensor& data, const std::vector<SpatialBox>& boxes, Rng& rng);

/// RandCoarseShuffle: one draw decides (prob), then the boxes, then the permutations. Returns a copy when not applied.
/// `boxes_out` (optional) receives the boxes used (empty when not applied).
torch::Tensor random_coarse_shuffle(const torch::Tensor& data, const CoarseShuffleOptions& options, Rng& rng,
                                    std::vector<SpatialBox>* boxes_out = nullptr);

}  // namespace medssl
