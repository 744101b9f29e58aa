#include "medssl/data/synth/shapes3d.h"

#include <algorithm>
#include <cmath>

namespace medssl::synth {

double Sinusoids::operator()(double x, double y, double z) const {
  double s = 0;
  for (const auto& t : terms) s += t.amp * std::sin(t.freq * (t.dir[0] * x + t.dir[1] * y + t.dir[2] * z) + t.phase);
  return s;
}

double Sinusoids::max_abs() const {
  double s = 0;
  for (const auto& t : terms) s += std::abs(t.amp);
  return s;
}

Sinusoids Sinusoids::random(Rng& rng, int count, double fmin, double fmax, double amp) {
  constexpr double kPi = 3.141592653589793;
  Sinusoids s;
  for (int k = 0; k < count; ++k) {
    Term t;
    double phi = rng.uniform(0, 2 * kPi), cos_theta = rng.uniform(-1, 1);
    double sin_theta = std::sqrt(1 - cos_theta * cos_theta);
    t.dir = {sin_theta * std::cos(phi), sin_theta * std::sin(phi), cos_theta};
    t.freq = rng.uniform(fmin, fmax);
    t.phase = rng.uniform(0, 2 * kPi);
    t.amp = amp * rng.uniform(0.5, 1.0);
    s.terms.push_back(t);
  }
  return s;
}

WarpedGrid::WarpedGrid(int depth, int height, int width, const std::array<Sinusoids, 3>& warp)
    : D_(depth), H_(height), W_(width) {
  margin_ = std::max({warp[0].max_abs(), warp[1].max_abs(), warp[2].max_abs()});
  const size_t n = static_cast<size_t>(D_) * H_ * W_;
  x_.resize(n);
  y_.resize(n);
  z_.resize(n);
  size_t idx = 0;
  for (int k = 0; k < D_; ++k) {
    double z = (k + 0.5) / D_ * 2 - 1;
    for (int j = 0; j < H_; ++j) {
      double y = (j + 0.5) / H_ * 2 - 1;
      for (int i = 0; i < W_; ++i, ++idx) {
        double x = (i + 0.5) / W_ * 2 - 1;
        x_[idx] = static_cast<float>(x + warp[0](x, y, z));
        y_[idx] = static_cast<float>(y + warp[1](x, y, z));
        z_[idx] = static_cast<float>(z + warp[2](x, y, z));
      }
    }
  }
}

void WarpedGrid::for_each_in(const Box& box, const std::function<void(size_t, double, double, double)>& f) const {
  // Normalised coordinate c maps to voxel (c + 1) / 2 * n - 0.5.
  auto range = [this](double lo, double hi, int n, int& a, int& b) {
    a = std::max(0, static_cast<int>(std::floor(((lo - margin_) + 1) / 2 * n - 0.5)));
    b = std::min(n - 1, static_cast<int>(std::ceil(((hi + margin_) + 1) / 2 * n - 0.5)));
  };
  int i0, i1, j0, j1, k0, k1;
  range(box.lo[0], box.hi[0], W_, i0, i1);
  range(box.lo[1], box.hi[1], H_, j0, j1);
  range(box.lo[2], box.hi[2], D_, k0, k1);
  for (int k = k0; k <= k1; ++k)
    for (int j = j0; j <= j1; ++j) {
      size_t idx = (static_cast<size_t>(k) * H_ + j) * W_ + i0;
      for (int i = i0; i <= i1; ++i, ++idx) f(idx, x_[idx], y_[idx], z_[idx]);
    }
}

double Blob::radius_ratio(double x, double y, double z) const {
  double dx = x - centre[0], dy = y - centre[1], dz = z - centre[2];
  double c = std::cos(angle), s = std::sin(angle);
  double qx = (c * dx + s * dy) / semi[0], qy = (-s * dx + c * dy) / semi[1], qz = dz / semi[2];
  double r = std::sqrt(qx * qx + qy * qy + qz * qz);
  if (r < 1e-9) return 0;
  // Modulate by direction only, so the bumps are a property of the surface, not of depth inside the organ.
  double m = 1 + surface(qx / r, qy / r, qz / r);
  return r / std::max(0.2, m);
}

WarpedGrid::Box Blob::box() const {
  double grow = 1 + surface.max_abs();
  double rxy = std::max(semi[0], semi[1]) * grow;
  return {{centre[0] - rxy, centre[1] - rxy, centre[2] - semi[2] * grow},
          {centre[0] + rxy, centre[1] + rxy, centre[2] + semi[2] * grow}};
}

Blob Blob::random(Rng& rng, Vec3 centre, Vec3 semi, double angle, double pos_jitter, double size_jitter,
                  double bumpiness) {
  Blob b;
  for (int a = 0; a < 3; ++a) {
    b.centre[a] = centre[a] + rng.uniform(-pos_jitter, pos_jitter);
    b.semi[a] = semi[a] * rng.uniform(1 - size_jitter, 1 + size_jitter);
  }
  b.angle = angle + rng.uniform(-0.15, 0.15);
  b.surface = Sinusoids::random(rng, 3, 1.5, 3.5, bumpiness);
  return b;
}

std::vector<TubeSample> bezier_tube(const Vec3& p0, const Vec3& p1, const Vec3& p2, double r0_xy, double r1_xy,
                                    double r0_z, double r1_z, int n) {
  std::vector<TubeSample> out;
  for (int s = 0; s < n; ++s) {
    double t = n > 1 ? static_cast<double>(s) / (n - 1) : 0.0;
    double a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
    TubeSample ts;
    for (int d = 0; d < 3; ++d) ts.p[d] = a * p0[d] + b * p1[d] + c * p2[d];
    ts.r_xy = r0_xy + (r1_xy - r0_xy) * t;
    ts.r_z = r0_z + (r1_z - r0_z) * t;
    out.push_back(ts);
  }
  return out;
}

void tube_distance(const WarpedGrid& grid, const std::vector<TubeSample>& tube, std::vector<float>& out) {
  out.assign(grid.size(), 1e9f);
  for (const auto& s : tube) {
    WarpedGrid::Box box{{s.p[0] - s.r_xy, s.p[1] - s.r_xy, s.p[2] - s.r_z},
                        {s.p[0] + s.r_xy, s.p[1] + s.r_xy, s.p[2] + s.r_z}};
    grid.for_each_in(box, [&](size_t idx, double x, double y, double z) {
      double dx = (x - s.p[0]) / s.r_xy, dy = (y - s.p[1]) / s.r_xy, dz = (z - s.p[2]) / s.r_z;
      float d = static_cast<float>(std::sqrt(dx * dx + dy * dy + dz * dz));
      if (d < out[idx]) out[idx] = d;
    });
  }
}

}  // namespace medssl::synth
