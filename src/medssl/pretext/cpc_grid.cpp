#include "medssl/pretext/cpc_grid.h"

#include "medssl/core/error.h"

namespace medssl::pretext {

namespace {

// The reference's out-of-grid rule for the 3D context: reflect about the edge cell (no repeat).
int64_t mirror(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

}  // namespace

CpcLayout cpc_layout(int spatial_dims, int64_t patches_per_side) {
  check(spatial_dims == 2 || spatial_dims == 3, "cpc: spatial dims must be 2 or 3, got {}", spatial_dims);
  const int64_t p = patches_per_side;
  const int64_t last_context_row = p / 2 - 1;
  const int64_t first_target_row = spatial_dims == 2 ? last_context_row + 2 : last_context_row + 1;
  check(last_context_row >= 0 && first_target_row <= p - 1,
        "cpc: patches_per_side {} leaves no target row in {}D (need >= {})", p, spatial_dims,
        spatial_dims == 2 ? 3 : 2);

  CpcLayout layout;
  layout.spatial_dims = spatial_dims;
  layout.patches_per_side = p;
  const int64_t e = last_context_row;
  if (spatial_dims == 2) {
    auto cell = [&](int64_t x, int64_t y) -> int64_t { return (y < 0 || y >= p) ? -1 : x * p + y; };
    for (int64_t y = 0; y < p; ++y) {
      CpcColumn column;
      for (int64_t x = 0; x < e; ++x)
        for (int64_t dy = -(e - x); dy <= e - x; ++dy) column.context.push_back(cell(x, y + dy));
      column.context.push_back(cell(e, y));
      for (int64_t x = first_target_row; x < p; ++x) column.targets.push_back(cell(x, y));
      layout.columns.push_back(std::move(column));
    }
  } else {
    auto cell = [&](int64_t x, int64_t y, int64_t z) { return (x * p + mirror(y, p)) * p + mirror(z, p); };
    for (int64_t y = 0; y < p; ++y) {
      for (int64_t z = 0; z < p; ++z) {
        CpcColumn column;
        for (int64_t x = 0; x < e; ++x)
          for (int64_t dy = -(e - x); dy <= e - x; ++dy)
            for (int64_t dz = -(e - x); dz <= e - x; ++dz) column.context.push_back(cell(x, y + dy, z + dz));
        column.context.push_back(cell(e, y, z));
        for (int64_t x = first_target_row; x < p; ++x) column.targets.push_back(cell(x, y, z));
        layout.columns.push_back(std::move(column));
      }
    }
  }
  return layout;
}

}  // namespace medssl::pretext
