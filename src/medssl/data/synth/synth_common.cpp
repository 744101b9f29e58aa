#include "medssl/data/synth/synth_common.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"

namespace medssl::synth {

double standard_normal(Rng& rng) {
  constexpr double kTwoPi = 6.283185307179586;
  double u1 = rng.uniform();
  double u2 = rng.uniform();
  if (u1 < 1e-300) u1 = 1e-300;  // uniform() may return exactly 0; log(0) would be -inf
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

namespace {

std::vector<float> gaussian_kernel(double sigma) {
  int radius = std::max(1, static_cast<int>(std::ceil(3.0 * sigma)));
  std::vector<float> k(static_cast<size_t>(2 * radius + 1));
  double sum = 0;
  for (int t = -radius; t <= radius; ++t) {
    double w = std::exp(-0.5 * t * t / (sigma * sigma));
    k[static_cast<size_t>(t + radius)] = static_cast<float>(w);
    sum += w;
  }
  for (auto& w : k) w = static_cast<float>(w / sum);
  return k;
}

// Blurs `count` lines of `length` values each; line l starts at starts[l] and advances by `stride`.
void blur_lines(std::vector<float>& v, const std::vector<float>& kernel, int length, size_t stride,
                const std::vector<size_t>& starts) {
  const int radius = static_cast<int>(kernel.size() / 2);
  std::vector<float> line(static_cast<size_t>(length)), out(static_cast<size_t>(length));
  for (size_t start : starts) {
    for (int t = 0; t < length; ++t) line[static_cast<size_t>(t)] = v[start + static_cast<size_t>(t) * stride];
    for (int t = 0; t < length; ++t) {
      float acc = 0;
      for (int o = -radius; o <= radius; ++o) {
        int s = std::clamp(t + o, 0, length - 1);
        acc += kernel[static_cast<size_t>(o + radius)] * line[static_cast<size_t>(s)];
      }
      out[static_cast<size_t>(t)] = acc;
    }
    for (int t = 0; t < length; ++t) v[start + static_cast<size_t>(t) * stride] = out[static_cast<size_t>(t)];
  }
}

}  // namespace

void gaussian_blur(Grid& g, double sigma_planes, double sigma_y, double sigma_x) {
  const size_t W = static_cast<size_t>(g.width), H = static_cast<size_t>(g.height);
  std::vector<size_t> starts;
  if (sigma_x > 0 && g.width > 1) {
    starts.clear();
    for (int p = 0; p < g.planes; ++p)
      for (int y = 0; y < g.height; ++y) starts.push_back(g.index(p, y, 0));
    blur_lines(g.values, gaussian_kernel(sigma_x), g.width, 1, starts);
  }
  if (sigma_y > 0 && g.height > 1) {
    starts.clear();
    for (int p = 0; p < g.planes; ++p)
      for (int x = 0; x < g.width; ++x) starts.push_back(g.index(p, 0, x));
    blur_lines(g.values, gaussian_kernel(sigma_y), g.height, W, starts);
  }
  if (sigma_planes > 0 && g.planes > 1) {
    starts.clear();
    for (int y = 0; y < g.height; ++y)
      for (int x = 0; x < g.width; ++x) starts.push_back(g.index(0, y, x));
    blur_lines(g.values, gaussian_kernel(sigma_planes), g.planes, W * H, starts);
  }
}

void add_gaussian_noise(Grid& grid, double sigma, Rng& rng) {
  for (auto& v : grid.values) v += static_cast<float>(sigma * standard_normal(rng));
}

void prepare_output_folder(const std::string& dir, const std::string& what) {
  check(!dir.empty(), "{}: no output folder given", what);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    fail("{}: output folder '{}' exists and is not a folder", what, dir);
  make_dirs(dir);
  // access(W_OK) misses read-only mounts for root; creating a file is the real test.
  std::string probe = dir + "/.medssl-write-probe-" + std::to_string(::getpid());
  FILE* f = std::fopen(probe.c_str(), "wb");
  if (!f) fail("{}: output folder '{}' is not writable: {}", what, dir, std::strerror(errno));
  std::fclose(f);
  std::filesystem::remove(probe, ec);
}

}  // namespace medssl::synth
