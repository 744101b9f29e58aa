#pragma once
// The retinal fundus phantom behind write_fundus (internal to medssl_synth). Layout, colours and grade rules are
// described in docs/synthetic-data.md.
#include "medssl/core/rng.h"
#include "medssl/data/synth/synth_common.h"

namespace medssl::synth {

/// Draws one RGB fundus photo (planes = 3 channels, values 0..255) of diabetic-retinopathy grade 0-4 from `rng`.
/// Its width varies in [0.9, 1.3] * size and its height in [0.66, 1] * width.
Grid make_fundus_picture(Rng& rng, int grade, int size);

}  // namespace medssl::synth
