#pragma once
// Hausdorff distance (HD95 by default) between two binary masks, as MONAI's compute_hausdorff_distance (1.5) computes
// it with percentile=95 and the default edge extraction:
//   edges = mask XOR binary_erosion(mask)   (face-connected structuring element, outside the image counts as
//                                            background, so mask voxels on the image border are edges);
//   d(pred -> truth) = for each predicted edge voxel, the Euclidean distance (with voxel spacing) to the nearest
//                      true edge voxel; likewise d(truth -> pred);
//   HD = max(percentile(d(pred -> truth)), percentile(d(truth -> pred)))   (directed: the first term only),
//   percentile with linear interpolation (numpy / torch.quantile default).
// Empty masks: NaN if both are empty, +inf if only one is (MONAI's results).
// Distances are exact (brute force over edge voxels, in chunks), so the cost grows with the product of the two
// surface sizes: fine for validation of typical organ masks, slow for huge surfaces.
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::metrics {

struct HausdorffOptions {
  /// in (0, 100]; 100 = the classic (maximum) Hausdorff distance.
  TORCH_ARG(double, percentile) = 95.0;
  /// voxel size per spatial axis (one value = isotropic); empty = 1.
  TORCH_ARG(std::vector<double>, spacing) = {};
  /// only prediction -> truth.
  TORCH_ARG(bool, directed) = false;
};

/// predicted_mask, true_mask: binary masks (nonzero = inside) of the same shape, 1 to 3 (or more) spatial axes,
/// no batch or channel axis.
double hausdorff_distance(const torch::Tensor& predicted_mask, const torch::Tensor& true_mask,
                          const HausdorffOptions& options = {});

/// Per case and class on class maps (B, spatial...) WITHOUT a channel axis (a size-1 axis would make every voxel an
/// edge), values in [0, num_classes): (B, C') float64, background skipped unless include_background (MONAI's default
/// excludes it).
torch::Tensor hausdorff_per_case(const torch::Tensor& predicted, const torch::Tensor& truth, int64_t num_classes,
                                 bool include_background = false, const HausdorffOptions& options = {});

}  // namespace medssl::metrics
