#include "medssl/data/synth/fundus_canvas.h"

#include <algorithm>
#include <cmath>

namespace medssl::synth {

void stamp_disc(Grid& rgb, double cx, double cy, double radius, const Rgb& colour, double opacity, double softness) {
  // A sub-pixel disc is drawn at radius 0.5 with its opacity scaled by area, so it keeps its total "ink".
  const double r = std::max(radius, 0.5);
  const double alpha_scale = radius < 0.5 ? (radius * radius) / 0.25 : 1.0;
  const double half_soft = std::max(0.5, softness / 2);
  const int x0 = std::max(0, static_cast<int>(std::floor(cx - r - half_soft)));
  const int x1 = std::min(rgb.width - 1, static_cast<int>(std::ceil(cx + r + half_soft)));
  const int y0 = std::max(0, static_cast<int>(std::floor(cy - r - half_soft)));
  const int y1 = std::min(rgb.height - 1, static_cast<int>(std::ceil(cy + r + half_soft)));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
      double cover = std::clamp((r + half_soft - d) / (2 * half_soft), 0.0, 1.0);
      double a = cover * opacity * alpha_scale;
      if (a <= 0) continue;
      for (int c = 0; c < 3; ++c) {
        float& v = rgb.at(c, y, x);
        v = static_cast<float>(v * (1 - a) + colour[static_cast<size_t>(c)] * a);
      }
    }
}

void shade_gaussian(Grid& rgb, double cx, double cy, double sigma, const Rgb& f) {
  const double reach = 3 * sigma;
  const int x0 = std::max(0, static_cast<int>(cx - reach)), x1 = std::min(rgb.width - 1, static_cast<int>(cx + reach));
  const int y0 = std::max(0, static_cast<int>(cy - reach)), y1 = std::min(rgb.height - 1, static_cast<int>(cy + reach));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      double g = std::exp(-0.5 * (dx * dx + dy * dy) / (sigma * sigma));
      for (int c = 0; c < 3; ++c) rgb.at(c, y, x) *= static_cast<float>(1 + (f[static_cast<size_t>(c)] - 1) * g);
    }
}

void draw_curve(Grid& rgb, Rng& rng, double x, double y, double angle, const CurveStyle& s,
                const std::array<double, 3>& limit) {
  const int steps = std::max(1, static_cast<int>(s.length / s.step));
  for (int n = 0; n < steps; ++n) {
    double t = static_cast<double>(n) / steps;
    double w = s.width * (1 - (1 - s.taper) * t);
    stamp_disc(rgb, x, y, w, s.colour, s.opacity, 1.0);
    if (s.depth > 0 && rng.bernoulli(s.branch_rate * s.step)) {
      CurveStyle child = s;
      child.width = w * 0.7;
      child.length = s.length * (1 - t) * rng.uniform(0.4, 0.8);
      child.depth = s.depth - 1;
      child.curvature = -s.curvature * rng.uniform(0.0, 1.0);
      double side = rng.bernoulli(0.5) ? 1.0 : -1.0;
      draw_curve(rgb, rng, x, y, angle + side * rng.uniform(0.4, 0.9), child, limit);
    }
    angle += s.curvature * s.step + s.wiggle * std::sqrt(s.step) * standard_normal(rng);
    x += std::cos(angle) * s.step;
    y += std::sin(angle) * s.step;
    if (std::hypot(x - limit[0], y - limit[1]) > limit[2]) break;
  }
}

}  // namespace medssl::synth
