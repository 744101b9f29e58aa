#pragma once
// Which patches of the CPC patch grid form the context ("terms") and the targets of each sample (healthml
// `preprocess_grid_2d` / `preprocess_grid_3d`). The grid is patches_per_side (p) cells per axis in raster order
// (axis 0 slowest); axis 0 ("rows", x) is the prediction direction, every position of the remaining axes (a column
// y in 2D, a (y, z) pair in 3D) gives one sample. With e = p / 2 - 1:
//   context  a pyramid: for rows x = 0 .. e-1 the cells within half-width e - x of the column
//            (2D: y - (e-x) .. y + (e-x); 3D: the (2(e-x)+1)^2 block, y outer, z inner), then the cell (e, column).
//            Cells off the grid: 2D -> a zero patch (index -1), 3D -> mirrored (-i -> i, p-1+i -> p-1-i).
//   targets  rows e+2 .. p-1 in 2D (row e+1 is skipped), e+1 .. p-1 in 3D (no skipped row).
// p = 5 in 2D: 4 context cells ((0,y-1), (0,y), (0,y+1), (1,y)), targets rows 3 and 4. p = 4 in 3D: the 3x3 block of
// row 0 plus (1,y,z) = 10 context cells, targets rows 2 and 3. Only these two are pinned by the reference configs;
// other p follow the same recursive code.
#include <cstdint>
#include <vector>

namespace medssl::pretext {

/// One CPC sample's cells: raster patch indices, -1 = an all-zero patch.
struct CpcColumn {
  std::vector<int64_t> context;
  std::vector<int64_t> targets;
};

struct CpcLayout {
  int spatial_dims = 2;
  int64_t patches_per_side = 5;
  std::vector<CpcColumn> columns;  ///< p columns (2D) or p^2 (3D), column index y (2D) / y * p + z (3D)
  int64_t context_length() const { return static_cast<int64_t>(columns.front().context.size()); }
  int64_t num_targets() const { return static_cast<int64_t>(columns.front().targets.size()); }
};

/// The layout for a grid of `patches_per_side` cells per axis; throws medssl::Error if the grid leaves no target row
/// (2D needs p >= 3, 3D p >= 2).
CpcLayout cpc_layout(int spatial_dims, int64_t patches_per_side);

}  // namespace medssl::pretext
