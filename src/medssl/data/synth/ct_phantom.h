#pragma once
// The abdominal CT phantom behind write_ct3d (internal to medssl_synth). Anatomy, HU values and label rules are
// described in docs/synthetic-data.md.
#include <array>
#include <cstdint>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/data/synth/synth_common.h"

namespace medssl::synth {

struct CtPhantom {
  /// HU values (already blurred, noisy, rounded and clamped to int16-safe -1024..3071) on the canonical grid:
  /// planes = D (k, +superior), height = H (j, +anterior), width = W (i, +patient right), i.e. RAS voxel order.
  Grid hu;
  std::vector<uint8_t> label;     ///< same layout: 0 background, 1 pancreas, 2 lesion
  std::array<double, 3> spacing;  ///< mm along (i, j, k)
  bool has_lesion = false;
};

/// Draws one case from `rng` (in-plane size `size`, depth about 3/4 of it).
CtPhantom make_ct_phantom(Rng& rng, int size);

}  // namespace medssl::synth
