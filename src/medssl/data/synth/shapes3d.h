#pragma once
// Geometric primitives of the CT phantom (internal to medssl_synth). Everything lives in box-normalised coordinates
// (x, y, z) in [-1, 1] of the canonical RAS voxel grid: +x patient right (i), +y anterior (j), +z superior (k).
// A smooth random warp bends the whole body, and every organ gets its own low-frequency surface modulation, so no
// two cases are rigid copies of one another.
#include <array>
#include <functional>
#include <vector>

#include "medssl/core/rng.h"

namespace medssl::synth {

using Vec3 = std::array<double, 3>;

/// A sum of a few low-frequency sinusoids: f(q) = sum_k amp_k * sin(freq_k * dot(dir_k, q) + phase_k).
struct Sinusoids {
  struct Term {
    Vec3 dir{1, 0, 0};
    double freq = 0, phase = 0, amp = 0;
  };
  std::vector<Term> terms;
  double operator()(double x, double y, double z) const;
  double max_abs() const;
  /// `count` terms with random unit directions, frequency in [fmin, fmax] and amplitude in [0.5, 1] * amp.
  static Sinusoids random(Rng& rng, int count, double fmin, double fmax, double amp);
};

/// The voxel grid with, for every voxel, its warped normalised coordinates (where the anatomy is evaluated).
class WarpedGrid {
 public:
  WarpedGrid(int depth, int height, int width, const std::array<Sinusoids, 3>& warp);
  int depth() const { return D_; }
  int height() const { return H_; }
  int width() const { return W_; }
  size_t size() const { return x_.size(); }

  struct Box {
    Vec3 lo{-1, -1, -1}, hi{1, 1, 1};
  };
  /// Calls f(index, x, y, z) for every voxel whose unwarped position is inside `box` grown by the warp amplitude.
  void for_each_in(const Box& box, const std::function<void(size_t, double, double, double)>& f) const;

 private:
  int D_, H_, W_;
  double margin_;
  std::vector<float> x_, y_, z_;
};

/// An ellipsoid rotated about z, with its surface radially modulated by sinusoids of the unit-sphere position.
struct Blob {
  Vec3 centre{0, 0, 0}, semi{1, 1, 1};
  double angle = 0;  ///< in-plane rotation (radians)
  Sinusoids surface;
  /// < 1 inside, 1 on the surface; scales like a radius.
  double radius_ratio(double x, double y, double z) const;
  WarpedGrid::Box box() const;
  /// Jitters centre by +-pos_jitter, semi-axes by a factor in [1-size_jitter, 1+size_jitter], adds surface bumps.
  static Blob random(Rng& rng, Vec3 centre, Vec3 semi, double angle, double pos_jitter, double size_jitter,
                     double bumpiness);
};

/// A tube of elliptical cross-section (in-plane radius, z radius) along a sampled centre line.
struct TubeSample {
  Vec3 p;
  double r_xy, r_z;
};
/// Quadratic Bezier centre line through p0 -> p2 (pulled towards p1), radii interpolated linearly, n samples.
std::vector<TubeSample> bezier_tube(const Vec3& p0, const Vec3& p1, const Vec3& p2, double r0_xy, double r1_xy,
                                    double r0_z, double r1_z, int n);

/// For every voxel near the tube, the smallest normalised distance to a sample (< 1 inside). Voxels far from the
/// tube keep a large value. `out` is resized to the grid.
void tube_distance(const WarpedGrid& grid, const std::vector<TubeSample>& tube, std::vector<float>& out);

}  // namespace medssl::synth
