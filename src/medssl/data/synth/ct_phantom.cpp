#include "medssl/data/synth/ct_phantom.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include "medssl/data/synth/shapes3d.h"

namespace medssl::synth {
namespace {

constexpr double kPi = 3.141592653589793;
using Box = WarpedGrid::Box;

// Body outline: an ellipse, flatter towards the back, with a gently bumpy outline; fat and muscle are rings of it.
struct Body {
  double cx = 0, cy = 0, ax = 0.88, ay_ant = 0.62, ay_post = 0.66;
  double fat = 0.08, muscle = 0.05;  // ring thicknesses as fractions of the outline ratio
  Sinusoids outline;
  double ratio(double x, double y, double z) const {
    double dx = (x - cx) / ax, dy = (y - cy) / (y > cy ? ay_ant : ay_post);
    double r = std::sqrt(dx * dx + dy * dy);
    if (r < 1e-9) return 0;
    return r / (1 + outline(dx / r, dy / r, 0.5 * z));
  }
  double cavity_limit() const { return 1 - fat - muscle; }
};

// A structure running along z (vessel, muscle, colon segment) whose centre sways slowly with z and whose radius
// may grow towards the feet (psoas).
struct Column {
  double cx = 0, cy = 0, ax = 0.05, ay = 0.05, zlo = -2, zhi = 2;
  double sway = 0, sway_freq = 0, sway_phase = 0, grow_caudal = 0;
  double ratio(double x, double y, double z) const {
    double s = sway * std::sin(sway_freq * z + sway_phase);
    double g = 1 + grow_caudal * (1 - z) / 2;
    double dx = (x - cx - s) / (ax * g), dy = (y - cy - s * 0.5) / (ay * g);
    return std::sqrt(dx * dx + dy * dy);
  }
  Box box() const {
    double g = 1 + std::max(0.0, grow_caudal);
    return {{cx - ax * g - sway, cy - ay * g - sway, zlo}, {cx + ax * g + sway, cy + ay * g + sway, zhi}};
  }
};

class PhantomBuilder {
 public:
  PhantomBuilder(Rng& rng, int size) : rng_(rng) {
    W_ = H_ = size;
    D_ = std::max(8, static_cast<int>(std::lround(size * 0.75 * rng.uniform(0.9, 1.1))));
    spacing_ = {0.8 * rng.uniform(0.85, 1.15), 0, 2.5 * rng.uniform(0.9, 1.1)};
    spacing_[1] = spacing_[0];
    std::array<Sinusoids, 3> warp{Sinusoids::random(rng, 3, 1.0, 2.5, 0.025),
                                  Sinusoids::random(rng, 3, 1.0, 2.5, 0.025),
                                  Sinusoids::random(rng, 3, 1.0, 2.5, 0.02)};
    grid_ = std::make_unique<WarpedGrid>(D_, H_, W_, warp);
    hu_ = Grid(D_, H_, W_, -1000.0f);
    label_.assign(grid_->size(), 0);
    body_ratio_.resize(grid_->size());
  }

  CtPhantom build() {
    make_body();
    make_spine_and_back();
    make_solid_organs();
    make_vessels();
    make_hollow_organs();
    make_pancreas();
    finish();
    CtPhantom out;
    out.hu = std::move(hu_);
    out.label = std::move(label_);
    out.spacing = spacing_;
    out.has_lesion = has_lesion_;
    return out;
  }

 private:
  double jitter(double base, double amount) { return base + rng_.uniform(-amount, amount); }
  // Body-relative position: organs move and scale with the body, plus a per-case craniocaudal shift.
  Vec3 at(double lx, double ly, double lz) const { return {body_.cx + scale_ * lx, body_.cy + scale_ * ly, z_shift_ + lz}; }
  bool in_cavity(size_t idx) const { return body_ratio_[idx] < body_.cavity_limit(); }
  bool in_body(size_t idx) const { return body_ratio_[idx] < 1; }
  void each(const Box& box, const std::function<void(size_t, double, double, double)>& f) { grid_->for_each_in(box, f); }

  void paint_blob(const Blob& b, float value, bool cavity_only) {
    each(b.box(), [&](size_t idx, double x, double y, double z) {
      if ((cavity_only ? in_cavity(idx) : in_body(idx)) && b.radius_ratio(x, y, z) < 1) hu_.values[idx] = value;
    });
  }
  void paint_column(const Column& c, float value, bool cavity_only) {
    each(c.box(), [&](size_t idx, double x, double y, double z) {
      if (z >= c.zlo && z <= c.zhi && (cavity_only ? in_cavity(idx) : in_body(idx)) && c.ratio(x, y, z) < 1)
        hu_.values[idx] = value;
    });
  }
  Blob organ(Vec3 local_centre, Vec3 semi, double angle, double bumpiness) {
    Vec3 c = at(local_centre[0], local_centre[1], local_centre[2]);
    Vec3 s{semi[0] * scale_, semi[1] * scale_, semi[2]};
    return Blob::random(rng_, c, s, angle, 0.035, 0.12, bumpiness);
  }

  void make_body() {
    scale_ = rng_.uniform(0.84, 1.0);
    body_.cx = jitter(0, 0.03);
    body_.cy = jitter(-0.02, 0.03);
    body_.ax = 0.88 * scale_ * rng_.uniform(0.95, 1.05);
    body_.ay_ant = 0.62 * scale_ * rng_.uniform(0.92, 1.08);
    body_.ay_post = 0.66 * scale_;
    body_.fat = rng_.uniform(0.05, 0.14);
    body_.muscle = rng_.uniform(0.04, 0.06);
    body_.outline = Sinusoids::random(rng_, 3, 1.0, 2.5, 0.025);
    // Where the scan starts and ends along the body varies between patients (about a fifth of the field of view), so
    // the pancreas is not at one depth of the volume: a segmentation must find it from the anatomy around it.
    z_shift_ = rng_.uniform(-0.24, 0.24);
    const float fat = static_cast<float>(jitter(-100, 8)), muscle = static_cast<float>(jitter(45, 5));
    const float visceral_fat = static_cast<float>(jitter(-90, 8));
    const double table_y = body_.cy - body_.ay_post - 0.06;
    each(Box{}, [&](size_t idx, double x, double y, double z) {
      double r = body_.ratio(x, y, z);
      body_ratio_[idx] = static_cast<float>(r);
      if (r < body_.cavity_limit()) hu_.values[idx] = visceral_fat;
      else if (r < 1 - body_.fat) hu_.values[idx] = muscle;
      else if (r < 1) hu_.values[idx] = fat;
      else {
        // The CT table under the patient's back: a posterior landmark no pretext task should be blind to.
        double ty = table_y - 0.06 * x * x;
        if (std::abs(x) < 0.95 && y < ty && y > ty - 0.05 && y > -0.99) hu_.values[idx] = 120;
      }
    });
  }

  void make_spine_and_back() {
    const double muscle = jitter(50, 5);
    for (int side = -1; side <= 1; side += 2) {
      Column paraspinal{at(side * 0.15, -0.52, 0)[0], at(0, -0.52, 0)[1], 0.1 * scale_, 0.08 * scale_};
      paint_column(paraspinal, static_cast<float>(muscle), false);
      Column psoas{at(side * 0.17, -0.33, 0)[0], at(0, -0.33, 0)[1], 0.035 * scale_, 0.035 * scale_};
      psoas.grow_caudal = 1.6;
      paint_column(psoas, static_cast<float>(muscle - 5), true);
    }
    // Vertebrae repeat along z (bone, then a disc), which gives slices an order relative-location tasks can read.
    const Vec3 c = at(0, -0.38, 0);
    const double period = rng_.uniform(0.32, 0.42), phase = rng_.uniform(0, 1);
    const double cortex = jitter(900, 80), cancellous = jitter(420, 40), disc = jitter(90, 10);
    const double sway = 0.02, sway_phase = rng_.uniform(0, 2 * kPi);
    const double s = scale_;
    each(Box{{c[0] - 0.2 * s, c[1] - 0.35 * s, -1}, {c[0] + 0.2 * s, c[1] + 0.14 * s, 1}},
         [&](size_t idx, double x, double y, double z) {
           if (!in_body(idx)) return;
           double dx = x - c[0] - sway * std::sin(2.0 * z + sway_phase), dy = y - c[1];
           double t = (z - z_shift_) / period + phase;
           double ph = t - std::floor(t);
           bool is_disc = ph < 0.2;
           auto ell = [&](double ex, double ey, double ax, double ay) {
             double u = (dx - ex * s) / (ax * s), v = (dy - ey * s) / (ay * s);
             return std::sqrt(u * u + v * v);
           };
           double body_r = ell(0, 0, 0.12, 0.10);
           double canal_r = ell(0, -0.15, 0.05, 0.05);
           float v = hu_.values[idx];
           bool set = true;
           if (body_r < 1) v = static_cast<float>(is_disc ? disc : (body_r > 0.75 ? cortex : cancellous));
           else if (canal_r < 1) v = 15;
           else if (!is_disc && canal_r < 1.7 && dy < -0.13 * s) v = static_cast<float>(cortex * 0.8);
           else if (!is_disc && ell(0, -0.25, 0.025, 0.065) < 1) v = static_cast<float>(cortex * 0.8);
           else if (ph > 0.4 && ph < 0.7 && (ell(0.11, -0.15, 0.07, 0.022) < 1 || ell(-0.11, -0.15, 0.07, 0.022) < 1))
             v = static_cast<float>(cortex * 0.8);
           else set = false;
           if (set) hu_.values[idx] = v;
         });
    // Lower ribs: bony dots in the body wall of the upper slices, present in bands of z like real rib arcs.
    const double rib_hu = jitter(700, 80);
    const double rib_angles[] = {20, -10, -35, -60};
    for (int side = -1; side <= 1; side += 2)
      for (double deg : rib_angles) {
        double th = deg * kPi / 180;
        double ex = side * std::cos(th), ey = std::sin(th);
        double rho = 1 - body_.fat - body_.muscle * 0.5;
        double ay = ey > 0 ? body_.ay_ant : body_.ay_post;
        Column rib{body_.cx + body_.ax * rho * ex, body_.cy + ay * rho * ey, 0.03 * scale_, 0.03 * scale_};
        rib.zlo = -0.3 + z_shift_;
        double rib_phase = rng_.uniform(0, 2 * kPi), rib_freq = rng_.uniform(9, 12);
        each(rib.box(), [&](size_t idx, double x, double y, double z) {
          if (z > rib.zlo && in_body(idx) && rib.ratio(x, y, z) < 1 && std::sin(rib_freq * z + rib_phase) > 0.2)
            hu_.values[idx] = static_cast<float>(rib_hu);
        });
      }
  }

  void make_solid_organs() {
    // Lung bases peek in at the top, behind the liver and spleen (a superior landmark).
    for (int side = -1; side <= 1; side += 2)
      paint_blob(organ({side * 0.42, -0.18, 1.35}, {0.32, 0.34, 0.5}, 0, 0.05), static_cast<float>(jitter(-850, 30)),
                 true);
    const float kidney = static_cast<float>(jitter(32, 4));
    paint_blob(organ({0.33, -0.28, -0.28}, {0.1, 0.13, 0.36}, 0.5, 0.06), kidney, true);    // right kidney, lower
    paint_blob(organ({-0.33, -0.28, -0.12}, {0.1, 0.13, 0.36}, -0.5, 0.06), kidney, true);  // left kidney
    const float liver = static_cast<float>(jitter(60, 5));
    paint_blob(organ({0.38, 0.0, 0.35}, {0.4, 0.42, 0.7}, 0, 0.06), liver, true);  // right lobe (patient right)
    paint_blob(organ({0.04, 0.22, 0.55}, {0.28, 0.15, 0.3}, 0.1, 0.08), liver, true);  // left lobe, anterior
    paint_blob(organ({0.3, 0.22, -0.12}, {0.07, 0.07, 0.13}, 0, 0.05), static_cast<float>(jitter(8, 5)), true);
    paint_blob(organ({-0.55, -0.18, 0.45}, {0.16, 0.25, 0.38}, -0.5, 0.07), static_cast<float>(jitter(50, 4)), true);
  }

  void make_vessels() {
    Column aorta{at(-0.05, 0, 0)[0], at(0, -0.22, 0)[1], 0.055 * scale_, 0.055 * scale_};
    aorta.sway = 0.01;
    aorta.sway_freq = 2;
    paint_column(aorta, static_cast<float>(jitter(190, 30)), true);
    Column ivc{at(0.12, 0, 0)[0], at(0, -0.2, 0)[1], 0.06 * scale_, 0.045 * scale_};
    ivc.zhi = 0.75 + z_shift_;
    paint_column(ivc, static_cast<float>(jitter(120, 15)), true);
    Column sma{at(-0.03, 0, 0)[0], at(0, -0.12, 0)[1], 0.025 * scale_, 0.025 * scale_};
    sma.zhi = 0.0 + z_shift_;
    paint_column(sma, static_cast<float>(jitter(180, 20)), true);
  }

  // A hollow organ: wall of soft tissue, lumen filled with fluid below an air-fluid level (patient supine, so air
  // rises anteriorly; another orientation cue), or with mottled stool for the colon.
  void paint_hollow(const std::vector<float>& dist, double wall_fraction, float wall, double air_level_y,
                    bool stool) {
    const float fluid = static_cast<float>(jitter(12, 6));
    Sinusoids mottle = Sinusoids::random(rng_, 3, 25, 40, 1.0);
    each(Box{}, [&](size_t idx, double x, double y, double z) {
      float d = dist[idx];
      if (d >= 1 || !in_cavity(idx)) return;
      if (d > 1 - wall_fraction) hu_.values[idx] = wall;
      else if (stool) hu_.values[idx] = mottle(x, y, z) > 0.4 ? -900.0f : static_cast<float>(-60 + 40 * mottle(z, x, y));
      else hu_.values[idx] = y > air_level_y ? -900.0f : fluid;
    });
  }

  void make_hollow_organs() {
    std::vector<float> dist;
    const float wall = static_cast<float>(jitter(42, 5));
    // Colon frame: ascending (right), transverse (anterior, upper), descending (left).
    Vec3 asc0 = at(0.55, 0.02, -1.1), asc1 = at(0.6, 0.05, -0.4), asc2 = at(0.5, 0.15, 0.15);
    Vec3 tr1 = at(0.0, 0.45, 0.05), tr2 = at(-0.55, 0.15, 0.3);
    Vec3 desc1 = at(-0.62, 0.0, -0.4), desc2 = at(-0.55, 0.0, -1.1);
    for (const auto& seg : {std::array<Vec3, 3>{asc0, asc1, asc2}, std::array<Vec3, 3>{asc2, tr1, tr2},
                            std::array<Vec3, 3>{tr2, desc1, desc2}}) {
      tube_distance(*grid_, bezier_tube(seg[0], seg[1], seg[2], 0.09 * scale_, 0.09 * scale_, 0.16, 0.16, 40), dist);
      paint_hollow(dist, 0.2, wall, 2.0, true);
    }
    // Small bowel: a few random loops in the lower anterior abdomen.
    int loops = static_cast<int>(rng_.uniform_int(4, 7));
    for (int l = 0; l < loops; ++l) {
      auto rnd = [&] { return at(rng_.uniform(-0.42, 0.35), rng_.uniform(-0.05, 0.4), rng_.uniform(-1.0, -0.3)); };
      Vec3 a = rnd(), b = rnd(), c = rnd();
      double r = rng_.uniform(0.05, 0.07) * scale_;
      tube_distance(*grid_, bezier_tube(a, b, c, r, r, r * 1.8, r * 1.8, 36), dist);
      double level = rng_.bernoulli(0.3) ? (a[1] + c[1]) / 2 + r : 2.0;
      paint_hollow(dist, 0.3, wall, level, false);
    }
    // Stomach (left upper, anterior) with an air-fluid level; duodenal C-loop around the pancreatic head.
    Blob stomach = organ({-0.28, 0.2, 0.42}, {0.24, 0.18, 0.38}, 0.4, 0.07);
    dist.assign(grid_->size(), 1e9f);
    each(stomach.box(), [&](size_t idx, double x, double y, double z) {
      dist[idx] = static_cast<float>(stomach.radius_ratio(x, y, z));
    });
    paint_hollow(dist, 0.18, wall, stomach.centre[1] + stomach.semi[1] * rng_.uniform(-0.2, 0.5), false);
    double rd = 0.055 * scale_;
    tube_distance(*grid_, bezier_tube(at(0.16, 0.16, 0.22), at(0.44, 0.0, 0.0), at(0.12, -0.12, -0.24), rd, rd,
                                      rd * 2, rd * 2, 40),
                  dist);
    paint_hollow(dist, 0.35, wall, rng_.bernoulli(0.4) ? at(0, 0.05, 0)[1] : 2.0, false);
  }

  void make_pancreas() {
    // Head near the duodenum (patient right), body arching anterior to aorta/SMA, tail towards the splenic hilum.
    auto j = [&](double v) { return v + rng_.uniform(-0.03, 0.03); };
    Vec3 head = at(j(0.17), j(-0.06), j(-0.02)), mid = at(j(-0.02), j(0.05), j(0.05)),
         tail = at(j(-0.42), j(-0.12), j(0.18));
    double size = rng_.uniform(0.9, 1.15);
    double r_head = 0.1 * scale_ * size, r_tail = 0.07 * scale_ * size;
    double rz_head = 0.15 * size, rz_tail = 0.11 * size;
    auto centre_line = bezier_tube(head, mid, tail, r_head, r_tail, rz_head, rz_tail, 48);
    std::vector<float> dist;
    // Splenic vein along the back of body and tail: contrast-bright, a context cue for where the pancreas is.
    std::vector<TubeSample> vein;
    for (size_t s = centre_line.size() / 3; s < centre_line.size(); ++s) {
      TubeSample v = centre_line[s];
      v.p[1] -= v.r_xy * 1.05;
      v.r_xy = 0.022 * scale_;
      v.r_z = 0.04;
      vein.push_back(v);
    }
    tube_distance(*grid_, vein, dist);
    const float vein_hu = static_cast<float>(jitter(150, 20));
    for (size_t idx = 0; idx < dist.size(); ++idx)
      if (dist[idx] < 1 && in_cavity(idx)) hu_.values[idx] = vein_hu;

    tube_distance(*grid_, centre_line, dist);
    Sinusoids lobules = Sinusoids::random(rng_, 3, 8, 14, 0.05);
    const float pancreas = static_cast<float>(jitter(45, 5));
    each(Box{}, [&](size_t idx, double x, double y, double z) {
      if (dist[idx] < 1.2 && in_cavity(idx) && dist[idx] < 1 + lobules(x, y, z)) {
        hu_.values[idx] = pancreas;
        label_[idx] = 1;
      }
    });

    has_lesion_ = rng_.bernoulli(0.6);
    if (!has_lesion_) return;
    // A hypodense mass as large as the gland is thick (about 5-50 % of the labelled volume, as Task07's tumours),
    // which may grow out of the gland's outline into the fat around it.
    const TubeSample& at_t = centre_line[static_cast<size_t>(rng_.uniform_int(6, 41))];
    double f = rng_.uniform(0.9, 1.4);
    Blob lesion;
    lesion.centre = {at_t.p[0] + rng_.uniform(-0.3, 0.3) * at_t.r_xy, at_t.p[1] + rng_.uniform(-0.3, 0.3) * at_t.r_xy,
                     at_t.p[2] + rng_.uniform(-0.3, 0.3) * at_t.r_z};
    lesion.semi = {f * at_t.r_xy, f * at_t.r_xy, f * at_t.r_z};
    lesion.surface = Sinusoids::random(rng_, 2, 1.5, 3, 0.08);
    const float lesion_hu = static_cast<float>(rng_.uniform(10, 25));
    size_t count = 0, nearest = 0;
    double nearest_d = 1e9;
    each(lesion.box(), [&](size_t idx, double x, double y, double z) {
      const bool next_to_gland = label_[idx] == 0 && in_cavity(idx) && dist[idx] < 1.5;
      if (label_[idx] != 1 && !next_to_gland) return;
      double r = lesion.radius_ratio(x, y, z);
      if (r < nearest_d) nearest_d = r, nearest = idx;
      if (r < 1) {
        hu_.values[idx] = lesion_hu;
        label_[idx] = 2;
        ++count;
      }
    });
    if (count == 0 && nearest_d < 1e9) {  // at tiny sizes the ellipsoid may miss every voxel centre
      hu_.values[nearest] = lesion_hu;
      label_[nearest] = 2;
    }
  }

  void finish() {
    gaussian_blur(hu_, 0.5, 0.7, 0.7);  // partial-volume effect; slices are thick, so less blur along z
    add_gaussian_noise(hu_, rng_.uniform(10, 20), rng_);
    for (auto& v : hu_.values) v = std::round(std::clamp(v, -1024.0f, 3071.0f));
  }

  Rng& rng_;
  int D_ = 0, H_ = 0, W_ = 0;
  std::array<double, 3> spacing_{};
  std::unique_ptr<WarpedGrid> grid_;
  Grid hu_;
  std::vector<uint8_t> label_;
  std::vector<float> body_ratio_;
  Body body_;
  double scale_ = 1, z_shift_ = 0;
  bool has_lesion_ = false;
};

}  // namespace

CtPhantom make_ct_phantom(Rng& rng, int size) { return PhantomBuilder(rng, size).build(); }

}  // namespace medssl::synth
