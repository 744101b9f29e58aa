#include "medssl/pretext/contrastive_views.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop_or_pad.h"
#include "medssl/data/transforms/resize.h"

namespace medssl::pretext {

torch::Tensor gaussian_smooth(const torch::Tensor& image, const std::vector<double>& sigmas) {
  const int64_t dims = image.dim() - 1;
  check(static_cast<int64_t>(sigmas.size()) == dims, "gaussian_smooth: {} sigmas for {} spatial axes", sigmas.size(),
        dims);
  torch::Tensor x = image;
  for (int64_t a = 0; a < dims; ++a) {
    const double sigma = sigmas[static_cast<size_t>(a)];
    if (sigma <= 0) continue;
    const int64_t radius = static_cast<int64_t>(std::ceil(3.0 * sigma));
    auto offsets = torch::arange(-radius, radius + 1, torch::kFloat32);
    auto kernel = torch::exp(-offsets.pow(2) / (2.0 * sigma * sigma));
    kernel = kernel / kernel.sum();
    // Move axis a last, replicate-pad it, convolve every line with the 1-D kernel, move it back.
    const int64_t axis = a + 1;
    auto moved = x.movedim(axis, -1).contiguous();
    auto shape = moved.sizes().vec();
    const int64_t n = shape.back();
    auto lines = moved.reshape({-1, 1, n});
    lines = torch::nn::functional::pad(lines, torch::nn::functional::PadFuncOptions({radius, radius}).mode(torch::kReplicate));
    lines = torch::conv1d(lines, kernel.view({1, 1, -1}));
    x = lines.reshape(shape).movedim(-1, axis);
  }
  return x.contiguous();
}

torch::Tensor augment_view(const torch::Tensor& crop, const ViewAugmentOptions& o, Rng& rng) {
  const int64_t dims = crop.dim() - 1;
  check(dims == 2 || dims == 3, "augment_view: expected (C, H, W) or (C, D, H, W), got {} dims", crop.dim());
  torch::Tensor x = crop.to(torch::kFloat32);
  std::vector<int64_t> shape(x.sizes().begin() + 1, x.sizes().end());
  if (rng.bernoulli(o.zoom_p)) {
    const double factor = rng.uniform(o.min_zoom, o.max_zoom);
    std::vector<int64_t> zoomed;
    for (auto n : shape) zoomed.push_back(std::max<int64_t>(1, static_cast<int64_t>(std::llround(n * factor))));
    x = crop_or_pad_to(resize_to(x, zoomed), shape);
  }
  for (int64_t a = 0; a < dims; ++a)
    if (rng.bernoulli(o.flip_p)) x = x.flip({a + 1});
  if (rng.bernoulli(o.rot90_p) && shape[0] == shape[1]) x = torch::rot90(x, rng.uniform_int(1, 3), {1, 2});
  if (rng.bernoulli(o.scale_p)) x = x * (1.0 + rng.uniform(-o.scale, o.scale));
  if (rng.bernoulli(o.shift_p)) x = x + rng.uniform(-o.shift, o.shift);
  if (rng.bernoulli(o.smooth_p)) {
    std::vector<double> sigmas;
    for (int64_t a = 0; a < dims; ++a) sigmas.push_back(rng.uniform(o.min_sigma, o.max_sigma));
    x = gaussian_smooth(x, sigmas);
  }
  if (rng.bernoulli(o.noise_p)) {
    const double sigma = rng.uniform(0.0, o.noise_std);
    auto generator = at::detail::createCPUGenerator(rng.next_u64());
    x = x + sigma * torch::randn(x.sizes(), generator, torch::kFloat32);
  }
  return x.contiguous();
}

}  // namespace medssl::pretext
