#pragma once
// Relative patch location (Doersch et al.; Taleb et al. `rpl`): given the centre patch of the grid and one other
// patch, predict which grid cell the other patch came from.
//
// Geometry (reference `crop_patches`, see patch_grid.h): patches_per_side p (default 3), patch_jitter j (default 0);
// cell = data_dim // p, patch side = cell - j, a random crop of that size inside each cell; patch_count = p^2 (2D) or
// p^3 (3D) in raster order (first spatial axis slowest). Centre id = patch_count / 2 (4 in 2D, 13 in 3D for p = 3).
// Label c uniform in [0, patch_count - 2]; the query patch is cell c if c < centre else c + 1 (the raster index with
// the centre removed: 8 classes in 2D, 26 in 3D, all neighbours including diagonals).
// Input per sample: (2, C, *patch) = [centre patch, query patch]. Training and validation both use random crops inside
// the cells, as the reference does.
#include <cstdint>

namespace medssl::pretext {

/// Raster index of the centre patch: patch_count / 2.
inline int64_t rpl_centre_index(int64_t patch_count) { return patch_count / 2; }
/// Raster index of the query patch for class `label` (0 .. patch_count - 2).
inline int64_t rpl_query_index(int64_t label, int64_t patch_count) {
  return label < rpl_centre_index(patch_count) ? label : label + 1;
}

}  // namespace medssl::pretext
