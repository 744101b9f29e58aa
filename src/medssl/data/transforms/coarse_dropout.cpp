#include "medssl/data/transforms/coarse_dropout.h"

#include <algorithm>

#include "medssl/core/error.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

namespace {

// MONAI's fall_back_tuple: one value for every axis or one per axis; values <= 0 take the image's size.
std::vector<int64_t> fall_back(const std::vector<int64_t>& values, const std::vector<int64_t>& shape, const char* key) {
  check(values.size() == 1 || values.size() == shape.size(),
        "coarse holes: {} has {} values but the image has {} spatial dims (give 1 or {})", key, values.size(),
        shape.size(), shape.size());
  std::vector<int64_t> out(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t v = values.size() == 1 ? values[0] : values[d];
    out[d] = v > 0 ? v : shape[d];
  }
  return out;
}

// U[lo, hi) noise of `sizes` in `dtype` (float64 draws, as numpy's uniform, cast to the image's type).
torch::Tensor uniform_noise(at::IntArrayRef sizes, double lo, double hi, torch::ScalarType dtype, Rng& rng) {
  std::vector<double> values(static_cast<size_t>(c10::multiply_integers(sizes)));
  for (auto& v : values) v = rng.uniform(lo, hi);
  return torch::from_blob(values.data(), sizes, torch::kFloat64).to(dtype).clone(at::MemoryFormat::Contiguous);
}

}  // namespace

CoarseDropoutOptions CoarseDropoutOptions::inpainting() { return CoarseDropoutOptions{}; }

CoarseDropoutOptions CoarseDropoutOptions::outpainting() {
  CoarseDropoutOptions o;
  o.holes = CoarseHoleOptions{6, {20}, std::vector<int64_t>{64}, std::nullopt, false};
  o.dropout_holes = false;
  return o;
}

std::vector<SpatialBox> sample_coarse_holes(const std::vector<int64_t>& shape, const CoarseHoleOptions& o, Rng& rng) {
  check(shape.size() == 2 || shape.size() == 3, "coarse holes: expected 2 or 3 spatial dims, got {}", shape.size());
  for (auto n : shape) check(n >= 1, "coarse holes: every spatial size must be >= 1, got {}", n);
  check(o.holes >= 1, "coarse holes: holes must be >= 1, got {}", o.holes);
  check(!o.max_holes || *o.max_holes >= o.holes, "coarse holes: max_holes {} must be >= holes {}",
        o.max_holes.value_or(0), o.holes);
  const std::vector<int64_t> size = fall_back(o.spatial_size, shape, "spatial_size");
  std::optional<std::vector<int64_t>> max_size;
  if (o.max_spatial_size) {
    max_size = fall_back(*o.max_spatial_size, shape, "max_spatial_size");
    for (size_t d = 0; d < shape.size(); ++d)
      check(size[d] <= (*max_size)[d], "coarse holes: spatial_size {} exceeds max_spatial_size {} on axis {}", size[d],
            (*max_size)[d], d);
  }
  const int64_t count = o.max_holes ? rng.uniform_int(o.holes, *o.max_holes) : o.holes;
  std::vector<int64_t> low = size;
  std::vector<SpatialBox> holes;
  for (int64_t k = 0; k < count; ++k) {
    std::vector<int64_t> drawn = size;
    if (max_size) {
      for (size_t d = 0; d < shape.size(); ++d) drawn[d] = rng.uniform_int(low[d], (*max_size)[d]);
      if (o.monai_growing_sizes) low = drawn;
    }
    SpatialBox box;
    for (size_t d = 0; d < shape.size(); ++d) {
      const int64_t valid = std::min(drawn[d], shape[d]);  // get_valid_patch_size
      box.size.push_back(valid);
      box.start.push_back(shape[d] > valid ? rng.uniform_int(0, shape[d] - valid) : 0);  // get_random_patch
    }
    holes.push_back(std::move(box));
  }
  return holes;
}

torch::Tensor box_view(const torch::Tensor& data, const SpatialBox& box) {
  const std::vector<int64_t> shape = spatial_shape(data, "coarse hole");
  check(box.start.size() == shape.size() && box.size.size() == shape.size(),
        "coarse hole: box has {} start and {} size values but the tensor has {} spatial dims", box.start.size(),
        box.size.size(), shape.size());
  torch::Tensor out = data;
  for (size_t a = 0; a < shape.size(); ++a) {
    check(box.size[a] > 0 && box.start[a] >= 0 && box.start[a] + box.size[a] <= shape[a],
          "coarse hole: box [{}, {}) on spatial axis {} does not fit inside size {}", box.start[a],
          box.start[a] + box.size[a], a, shape[a]);
    out = out.narrow(static_cast<int64_t>(a) + 1, box.start[a], box.size[a]);
  }
  return out;
}

torch::Tensor coarse_dropout(const torch::Tensor& data, const std::vector<SpatialBox>& holes, bool dropout_holes,
                             std::optional<double> fill_value, Rng& rng) {
  spatial_shape(data, "coarse_dropout");
  check(data.is_floating_point(), "coarse_dropout: expected a floating-point tensor, got {}", c10::toString(data.scalar_type()));
  check(data.numel() > 0, "coarse_dropout: the tensor is empty");
  const torch::Tensor source = data.contiguous();
  double lo = 0, hi = 0;
  if (!fill_value) {  // MONAI fill_value None: the range of the image before any hole is filled
    lo = source.min().item<double>();
    hi = source.max().item<double>();
  }
  auto filler = [&](at::IntArrayRef sizes) {
    return fill_value ? torch::full(sizes, *fill_value, source.options())
                      : uniform_noise(sizes, lo, hi, source.scalar_type(), rng);
  };
  if (dropout_holes) {
    torch::Tensor out = source.clone(at::MemoryFormat::Contiguous);
    for (const auto& h : holes) {
      auto region = box_view(out, h);
      region.copy_(filler(region.sizes()));
    }
    return out;
  }
  torch::Tensor out = filler(source.sizes());
  for (const auto& h : holes) box_view(out, h).copy_(box_view(source, h));
  return out;
}

torch::Tensor random_coarse_dropout(const torch::Tensor& data, const CoarseDropoutOptions& options, Rng& rng,
                                    std::vector<SpatialBox>* holes_out) {
  check(options.prob >= 0.0 && options.prob <= 1.0, "coarse_dropout: prob must be in [0, 1], got {}", options.prob);
  if (holes_out) holes_out->clear();
  if (!rng.bernoulli(options.prob)) return data.clone(at::MemoryFormat::Contiguous);
  auto holes = sample_coarse_holes(spatial_shape(data, "coarse_dropout"), options.holes, rng);
  auto out = coarse_dropout(data, holes, options.dropout_holes, options.fill_value, rng);
  if (holes_out) *holes_out = std::move(holes);
  return out;
}

}  // namespace medssl
