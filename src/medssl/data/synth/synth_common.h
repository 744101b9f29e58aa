#pragma once
// Small pieces shared by the synthetic-data generators (internal to medssl_synth): a float grid with separable
// Gaussian blur and noise, a platform-independent normal draw, and the output-folder check.
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/rng.h"

namespace medssl::synth {

/// Standard normal draw by Box-Muller on Rng::uniform. Unlike std::normal_distribution its output is specified by
/// this code alone, so a seed gives the same data with every standard library.
double standard_normal(Rng& rng);

/// A dense float grid of `planes` x H x W values (planes = D for a volume, channels for a picture), row-major.
struct Grid {
  int planes = 0, height = 0, width = 0;
  std::vector<float> values;

  Grid() = default;
  Grid(int planes_, int height_, int width_, float fill = 0.0f)
      : planes(planes_), height(height_), width(width_),
        values(static_cast<size_t>(planes_) * height_ * width_, fill) {}
  size_t index(int p, int y, int x) const { return (static_cast<size_t>(p) * height + y) * width + x; }
  float& at(int p, int y, int x) { return values[index(p, y, x)]; }
  float at(int p, int y, int x) const { return values[index(p, y, x)]; }
};

/// Separable Gaussian blur with edge clamping; sigma in voxels per axis (0 leaves that axis alone). Blurring along
/// `planes` treats them as a third spatial axis (use 0 for picture channels).
void gaussian_blur(Grid& grid, double sigma_planes, double sigma_y, double sigma_x);

/// Adds independent Gaussian noise of standard deviation `sigma` to every value.
void add_gaussian_noise(Grid& grid, double sigma, Rng& rng);

/// Creates `dir` (and parents) and checks that files can be created in it; throws medssl::Error naming it otherwise.
void prepare_output_folder(const std::string& dir, const std::string& what);

}  // namespace medssl::synth
