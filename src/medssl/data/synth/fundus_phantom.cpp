#include "medssl/data/synth/fundus_phantom.h"

#include <algorithm>
#include <cmath>

#include "medssl/data/synth/fundus_canvas.h"
#include "medssl/data/synth/shapes3d.h"

namespace medssl::synth {
namespace {

constexpr double kPi = 3.141592653589793;

// How many lesions of each kind a grade gets (the rules are listed in docs/synthetic-data.md).
struct LesionPlan {
  int microaneurysms = 0, haemorrhages = 0, exudate_clusters = 0, cotton_wool = 0, new_vessels = 0;
  bool all_quadrants = false, preretinal = false;
};

LesionPlan plan_for(int grade, Rng& rng) {
  LesionPlan p;
  auto n = [&](int lo, int hi) { return static_cast<int>(rng.uniform_int(lo, hi)); };
  switch (grade) {
    case 1: p.microaneurysms = n(1, 4); break;
    case 2:
      p.microaneurysms = n(4, 12), p.haemorrhages = n(1, 5), p.exudate_clusters = n(0, 3), p.cotton_wool = n(0, 1);
      break;
    case 3:
      p.microaneurysms = n(8, 20), p.haemorrhages = 4 * n(4, 6), p.exudate_clusters = n(2, 5), p.cotton_wool = n(1, 3);
      p.all_quadrants = true;
      break;
    case 4:
      p.microaneurysms = n(8, 20), p.haemorrhages = n(10, 24), p.exudate_clusters = n(1, 4), p.cotton_wool = n(0, 3);
      p.new_vessels = n(4, 7), p.preretinal = rng.bernoulli(0.4);
      break;
    default: break;
  }
  return p;
}

class FundusPainter {
 public:
  FundusPainter(Rng& rng, int size) : rng_(rng) {
    W_ = std::max(16, static_cast<int>(std::lround(size * rng.uniform(0.9, 1.3))));
    H_ = std::max(16, static_cast<int>(std::lround(W_ * rng.uniform(0.66, 1.0))));
    cx_ = W_ / 2.0 + rng.uniform(-0.02, 0.02) * W_;
    cy_ = H_ / 2.0 + rng.uniform(-0.02, 0.02) * H_;
    // Wide photos crop the retina at top and bottom, as many APTOS images do; the corners always stay black.
    R_ = std::min(0.47 * W_, 0.5 * H_ * rng.uniform(0.92, 1.12));
    side_ = rng.bernoulli(0.5) ? 1.0 : -1.0;  // right eye: disc on the image's right (nasal) side
    rgb_ = Grid(3, H_, W_, 0.0f);
  }

  Grid paint(int grade) {
    paint_background();
    paint_disc_and_macula();
    paint_vessels();
    paint_lesions(plan_for(grade, rng_));
    finish();
    return std::move(rgb_);
  }

 private:
  void paint_background() {
    const double red = rng_.uniform(170, 225);
    base_ = {static_cast<float>(red), static_cast<float>(red * rng_.uniform(0.35, 0.5)),
             static_cast<float>(red * rng_.uniform(0.12, 0.22))};
    Sinusoids texture = Sinusoids::random(rng_, 3, 4, 9, 0.03);
    for (int y = 0; y < H_; ++y)
      for (int x = 0; x < W_; ++x) {
        double u = (x + 0.5 - cx_) / R_, v = (y + 0.5 - cy_) / R_;
        double d = std::sqrt(u * u + v * v);
        if (d > 1) continue;
        // Radial illumination falloff, a slightly brighter upper half (the flash comes from above), vignetting.
        double light = (1 - 0.4 * d * d) * (1 - 0.08 * v) * (1 + texture(u, v, 0));
        if (d > 0.85) light *= 1 - 2.5 * (d - 0.85);
        double edge = std::clamp((1 - d) * R_, 0.0, 1.0);  // anti-aliased rim
        for (int c = 0; c < 3; ++c) rgb_.at(c, y, x) = static_cast<float>(base_[static_cast<size_t>(c)] * light * edge);
      }
  }

  void paint_disc_and_macula() {
    disc_x_ = cx_ + side_ * 0.36 * R_;
    disc_y_ = cy_ - 0.04 * R_;  // the disc sits slightly above the fovea
    disc_r_ = 0.1 * R_ * rng_.uniform(0.9, 1.1);
    const double mx = cx_ - side_ * 0.04 * R_, my = cy_ + 0.03 * R_;
    shade_gaussian(rgb_, mx, my, 0.1 * R_, {0.68f, 0.62f, 0.7f});
    shade_gaussian(rgb_, disc_x_, disc_y_, 1.4 * disc_r_, {1.15f, 1.2f, 1.15f});
    stamp_disc(rgb_, disc_x_, disc_y_, disc_r_, {250, 205, 130}, 0.9, 0.3 * disc_r_);
    stamp_disc(rgb_, disc_x_ + side_ * 0.15 * disc_r_, disc_y_, 0.45 * disc_r_, {255, 238, 190}, 0.7,
               0.3 * disc_r_);
    macula_x_ = mx, macula_y_ = my;
  }

  void paint_vessels() {
    const std::array<double, 3> limit{cx_, cy_, 0.97 * R_};
    const Rgb vein{105, 22, 18}, artery{150, 35, 25};
    for (double v : {-1.0, 1.0}) {
      // Temporal arcades leave the disc vertically and bend round the macula; nasal vessels run straighter.
      for (int kind = 0; kind < 2; ++kind) {
        CurveStyle s;
        s.width = std::max(0.45, (kind == 0 ? 0.018 : 0.013) * R_);
        s.step = std::max(0.5, 0.01 * R_);
        s.length = rng_.uniform(1.0, 1.25) * R_;
        s.curvature = v * side_ * rng_.uniform(1.2, 1.6) / s.length;
        s.wiggle = 0.05;
        s.branch_rate = 4.0 / R_;
        s.depth = 2;
        s.colour = kind == 0 ? vein : artery;
        s.opacity = 0.85;
        double angle = std::atan2(v * 0.94, -side_ * 0.34) + rng_.uniform(-0.15, 0.15) + kind * 0.12 * side_ * v;
        draw_curve(rgb_, rng_, disc_x_, disc_y_ + v * 0.3 * disc_r_, angle, s, limit);
        CurveStyle nasal = s;
        nasal.width *= 0.8;
        nasal.length = rng_.uniform(0.45, 0.6) * R_;
        nasal.curvature = -v * side_ * 0.3 / nasal.length;
        draw_curve(rgb_, rng_, disc_x_, disc_y_ + v * 0.3 * disc_r_,
                   std::atan2(v * 0.8, side_ * 0.6) + rng_.uniform(-0.2, 0.2), nasal, limit);
      }
    }
  }

  // A random point on the retina away from the optic disc; quadrant 0-3 restricts it (-1: anywhere).
  std::pair<double, double> spot(double max_r, int quadrant = -1) {
    for (int tries = 0;; ++tries) {
      double a = rng_.uniform(0, 2 * kPi), r = max_r * std::sqrt(rng_.uniform());
      if (quadrant >= 0) a = (quadrant + rng_.uniform(0.1, 0.9)) * kPi / 2;
      double x = cx_ + r * std::cos(a), y = cy_ + r * std::sin(a);
      if (std::hypot(x - disc_x_, y - disc_y_) > 1.6 * disc_r_ || tries > 20) return {x, y};
    }
  }

  void paint_lesions(const LesionPlan& p) {
    const double R = R_;
    for (int n = 0; n < p.microaneurysms; ++n) {
      auto [x, y] = spot(0.8 * R);
      stamp_disc(rgb_, x, y, 0.009 * R * rng_.uniform(0.8, 1.3), {100, 12, 10}, 0.95, 0.6);
    }
    for (int n = 0; n < p.haemorrhages; ++n) {
      auto [x, y] = spot(0.85 * R, p.all_quadrants ? n % 4 : -1);
      double r = rng_.uniform(0.025, 0.05) * R;
      stamp_disc(rgb_, x, y, r, {92, 14, 10}, 0.85, 0.5 * r);
      for (int k = 0; k < 2; ++k)  // blots are irregular: a couple of overlapping lobes
        stamp_disc(rgb_, x + rng_.uniform(-0.6, 0.6) * r, y + rng_.uniform(-0.6, 0.6) * r, r * rng_.uniform(0.5, 0.8),
                   {92, 14, 10}, 0.8, 0.5 * r);
    }
    if (p.preretinal) {
      auto [x, y] = spot(0.6 * R);
      stamp_disc(rgb_, x, y, 0.09 * R, {85, 10, 8}, 0.9, 0.2 * R * 0.09);
    }
    for (int n = 0; n < p.exudate_clusters; ++n) {
      // Hard exudates gather in clusters, often around the macula.
      double cx = macula_x_ + rng_.uniform(-0.35, 0.35) * R, cy = macula_y_ + rng_.uniform(-0.35, 0.35) * R;
      int spots = static_cast<int>(rng_.uniform_int(3, 8));
      for (int k = 0; k < spots; ++k)
        stamp_disc(rgb_, cx + rng_.uniform(-0.06, 0.06) * R, cy + rng_.uniform(-0.06, 0.06) * R,
                   rng_.uniform(0.008, 0.018) * R, {245, 222, 110}, 0.9, 0.6);
    }
    for (int n = 0; n < p.cotton_wool; ++n) {
      auto [x, y] = spot(0.7 * R);
      double r = rng_.uniform(0.03, 0.05) * R;
      stamp_disc(rgb_, x, y, r, {232, 222, 195}, 0.6, r);  // fluffy: edge as soft as the spot is wide
    }
    const std::array<double, 3> near_disc{disc_x_, disc_y_, 0.3 * R};
    for (int n = 0; n < p.new_vessels; ++n) {
      // Neovascularisation at the disc: fine, tortuous, densely branching vessels.
      CurveStyle s;
      s.width = std::max(0.3, 0.005 * R);
      s.taper = 0.8;
      s.step = std::max(0.4, 0.006 * R);
      s.length = rng_.uniform(0.15, 0.3) * R;
      s.curvature = rng_.uniform(-4, 4) / R;
      s.wiggle = 0.45;
      s.branch_rate = 12.0 / R;
      s.depth = 2;
      s.colour = {135, 18, 25};
      s.opacity = 0.75;
      double a = rng_.uniform(0, 2 * kPi);
      draw_curve(rgb_, rng_, disc_x_ + disc_r_ * std::cos(a), disc_y_ + disc_r_ * std::sin(a),
                 a + rng_.uniform(-1, 1), s, near_disc);
    }
  }

  void finish() {
    gaussian_blur(rgb_, 0, 0.5, 0.5);  // optics and JPEG history of the real photos
    const double noise = rng_.uniform(1.5, 3.0);
    for (int y = 0; y < H_; ++y)
      for (int x = 0; x < W_; ++x) {
        bool inside = std::hypot(x + 0.5 - cx_, y + 0.5 - cy_) < R_;
        for (int c = 0; c < 3; ++c) {
          float& v = rgb_.at(c, y, x);
          v = inside ? std::clamp(static_cast<float>(v + noise * standard_normal(rng_)), 0.0f, 255.0f) : 0.0f;
        }
      }
  }

  Rng& rng_;
  int W_ = 0, H_ = 0;
  double cx_ = 0, cy_ = 0, R_ = 0, side_ = 1;
  double disc_x_ = 0, disc_y_ = 0, disc_r_ = 0, macula_x_ = 0, macula_y_ = 0;
  Rgb base_{};
  Grid rgb_;
};

}  // namespace

Grid make_fundus_picture(Rng& rng, int grade, int size) { return FundusPainter(rng, size).paint(grade); }

}  // namespace medssl::synth
