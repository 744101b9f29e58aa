#pragma once
// Two crops of one image whose intersection-over-union lies in [min_iou, max_iou] (both inclusive): the positive
// pairs of "IoU-constrained" contrastive pretraining (dittohed/exploring-ssl-for-ct, IoUCropd; spec:
// iou_and_monai_ssl.md A.2). Axis-aligned boxes in 2D or 3D; the two crops may have different sizes.
//
// Direct sampling (the default). Crop 1 is placed uniformly, as in the reference. Crop 2 is then drawn UNIFORMLY
// FROM THE SET OF POSITIONS THAT SATISFY THE INTERVAL, so no returned pair ever violates it and the cost does not grow
// as the interval narrows. Why this is exact and cheap: the intersection volume is a product of per-axis overlaps
// o_d (integers 0..min(s1_d, s2_d)), IoU = I / (A1 + A2 - I) increases with I = prod o_d, so for fixed overlaps on the
// other axes the admissible overlaps of the last axis form an interval; counting positions per overlap value
// (a histogram per axis, given crop 1) gives the number of admissible completions of every partial choice, and the
// axes are drawn one after another with those counts as weights (cost O(s^2 log s) in 3D, O(s log s) in 2D).
// If crop 1's position admits no crop 2 (e.g. [0, 0] with crop 1 in the middle of a small image), crop 1 is drawn
// again; if no position at all admits a pair, the interval is impossible for this image and crop size: an error
// naming both.
//
// Reference mode (`sample_iou_pair_rejection`): the reference's rejection sampler, draw for draw (30 draws of crop 2
// per crop 1, 4 crops 1, crop 2 searched in [start1 - s, start1 + s] when min_iou > 0), including its fallback of
// returning the last, constraint-violating pair; `fell_back` reports when that happens, so its frequency can be
// measured (bench / tests) against the direct sampler's zero.
#include <cstdint>
#include <vector>

#include "medssl/core/rng.h"

namespace medssl::pretext {

/// An axis-aligned box: start and size per spatial axis (tensor order, e.g. (D, H, W)).
struct CropBox {
  std::vector<int64_t> start, size;
};

struct CropPair {
  CropBox first, second;
  double iou = 0.0;
  bool fell_back = false;  ///< reference mode only: no admissible pair found, the last draw was returned
};

struct IouInterval {
  double min_iou = 0.0;
  double max_iou = 1.0;
};

/// IoU of two boxes (touching boxes: 0), computed as the reference does.
double box_iou(const CropBox& a, const CropBox& b);

/// Direct sampler. `image` = spatial shape; `size1`, `size2` = crop sizes per axis (each <= the image's).
CropPair sample_iou_pair(const std::vector<int64_t>& image, const std::vector<int64_t>& size1,
                         const std::vector<int64_t>& size2, IouInterval interval, Rng& rng);

/// The reference's rejection sampler (equal crops of `size` per axis, r1 = 30, r2 = 4).
CropPair sample_iou_pair_rejection(const std::vector<int64_t>& image, const std::vector<int64_t>& size,
                                   IouInterval interval, Rng& rng, int draws_per_first = 30, int total_draws = 120);

}  // namespace medssl::pretext
