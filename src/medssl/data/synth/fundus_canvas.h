#pragma once
// Drawing primitives for the fundus phantom (internal to medssl_synth): soft round stamps blended onto an RGB grid,
// and random-walk curves (vessels). Coordinates are pixels, (x, y) with y pointing down.
#include <array>

#include "medssl/core/rng.h"
#include "medssl/data/synth/synth_common.h"

namespace medssl::synth {

using Rgb = std::array<float, 3>;

/// Blends `colour` into a disc: full `opacity` inside radius - softness/2, fading to 0 at radius + softness/2.
/// Radii below a pixel still leave a mark (coverage is scaled by area) so tiny lesions survive small images.
void stamp_disc(Grid& rgb, double cx, double cy, double radius, const Rgb& colour, double opacity,
                double softness = 1.0);

/// Multiplies a disc's pixels by a factor (darkening/brightening a region with a soft Gaussian profile).
void shade_gaussian(Grid& rgb, double cx, double cy, double sigma, const Rgb& factor_at_centre);

struct CurveStyle {
  double width = 1.0;       ///< radius in pixels at the start
  double taper = 0.5;       ///< width at the end as a fraction of the start width
  double step = 1.0;        ///< pixels per step
  double length = 50;       ///< pixels
  double curvature = 0;     ///< steady turn, radians per pixel
  double wiggle = 0.02;     ///< random turn, radians per sqrt(pixel)
  double branch_rate = 0;   ///< branches per pixel
  int depth = 0;            ///< how many more generations of branches may spawn
  Rgb colour{0, 0, 0};
  double opacity = 0.8;
};

/// Draws a random-walk curve from (x, y) heading `angle`, with branches; stays inside the circle (cx, cy, limit).
void draw_curve(Grid& rgb, Rng& rng, double x, double y, double angle, const CurveStyle& style,
                const std::array<double, 3>& limit_circle);

}  // namespace medssl::synth
