#include "medssl/train/sliding_window.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::train {

namespace {

namespace F = torch::nn::functional;

// One value for every axis, or one per axis.
template <typename T>
std::vector<T> per_axis(const std::vector<T>& values, size_t num_axes, const char* name) {
  if (values.size() == 1) return std::vector<T>(num_axes, values[0]);
  check(values.size() == num_axes, "sliding window: {} has {} values for {} spatial axes", name, values.size(),
        num_axes);
  return values;
}

// The view of t (N, C, spatial...) at [start, start + size) on every spatial axis; batch and channels whole.
torch::Tensor window_of(const torch::Tensor& t, const std::vector<int64_t>& starts, const std::vector<int64_t>& sizes) {
  torch::Tensor w = t;
  for (size_t d = 0; d < starts.size(); ++d) w = w.narrow(static_cast<int64_t>(d) + 2, starts[d], sizes[d]);
  return w;
}

torch::Tensor pad_input(const torch::Tensor& inputs, const std::vector<int64_t>& pad, const SlidingWindowOptions& o) {
  switch (o.padding_mode()) {
    case WindowPadding::constant: return torch::constant_pad_nd(inputs, pad, o.cval());
    case WindowPadding::reflect: return F::pad(inputs, F::PadFuncOptions(pad).mode(torch::kReflect));
    case WindowPadding::replicate: return F::pad(inputs, F::PadFuncOptions(pad).mode(torch::kReplicate));
    case WindowPadding::circular: return F::pad(inputs, F::PadFuncOptions(pad).mode(torch::kCircular));
  }
  return torch::constant_pad_nd(inputs, pad, o.cval());
}

// F.interpolate(mode="nearest-exact", size=...) as MONAI calls it. (LibTorch 1.13's functional interpolate logs a
// spurious align_corners warning for this mode on every call, so the kernels are called directly.)
torch::Tensor resize_nearest_exact(const torch::Tensor& w, const std::vector<int64_t>& size) {
  switch (size.size()) {
    case 1: return at::_upsample_nearest_exact1d(w, size);
    case 2: return at::_upsample_nearest_exact2d(w, size);
    case 3: return at::_upsample_nearest_exact3d(w, size);
    default: fail("sliding window: a predictor output of another size than the roi needs 1 to 3 spatial axes");
  }
}

}  // namespace

BlendMode parse_blend_mode(const std::string& name) {
  if (name == "constant") return BlendMode::constant;
  if (name == "gaussian") return BlendMode::gaussian;
  fail("sliding window blend mode '{}' is not supported (choose constant or gaussian)", name);
}

WindowPadding parse_window_padding(const std::string& name) {
  if (name == "constant") return WindowPadding::constant;
  if (name == "reflect") return WindowPadding::reflect;
  if (name == "replicate") return WindowPadding::replicate;
  if (name == "circular") return WindowPadding::circular;
  fail("sliding window padding '{}' is not supported (choose constant, reflect, replicate or circular)", name);
}

std::vector<int64_t> scan_intervals(const std::vector<int64_t>& image_size, const std::vector<int64_t>& roi_size,
                                    const std::vector<double>& overlap) {
  check(image_size.size() == roi_size.size() && roi_size.size() == overlap.size(),
        "sliding window: image size, roi size and overlap need one value per spatial axis ({}, {}, {})",
        image_size.size(), roi_size.size(), overlap.size());
  std::vector<int64_t> intervals;
  for (size_t d = 0; d < roi_size.size(); ++d) {
    if (roi_size[d] == image_size[d]) {
      intervals.push_back(roi_size[d]);
    } else {
      // Python's int() truncates toward zero, as the cast does.
      const auto interval = static_cast<int64_t>(static_cast<double>(roi_size[d]) * (1.0 - overlap[d]));
      intervals.push_back(interval > 0 ? interval : 1);
    }
  }
  return intervals;
}

std::vector<std::vector<int64_t>> window_starts_per_axis(const std::vector<int64_t>& image_size,
                                                         const std::vector<int64_t>& roi_size,
                                                         const std::vector<int64_t>& scan_interval) {
  check(image_size.size() == roi_size.size() && roi_size.size() == scan_interval.size(),
        "sliding window: image size, roi size and scan interval need one value per spatial axis");
  std::vector<std::vector<int64_t>> starts;
  for (size_t d = 0; d < image_size.size(); ++d) {
    const int64_t size = image_size[d], interval = scan_interval[d];
    const int64_t patch = std::min(roi_size[d] > 0 ? roi_size[d] : size, size);  // get_valid_patch_size
    int64_t count = 1;
    if (interval > 0) {
      // The first d in [0, ceil(size / interval)) whose window reaches the border; +1 windows. (Such a d always
      // exists for a positive interval, since patch >= 1.)
      const int64_t limit = (size + interval - 1) / interval;
      for (int64_t i = 0; i < limit; ++i) {
        if (i * interval + patch >= size) {
          count = i + 1;
          break;
        }
      }
    }
    std::vector<int64_t> axis;
    for (int64_t i = 0; i < count; ++i) {
      int64_t start = i * interval;
      start -= std::max<int64_t>(start + patch - size, 0);
      axis.push_back(start);
    }
    starts.push_back(axis);
  }
  return starts;
}

std::vector<std::vector<int64_t>> window_starts(const std::vector<int64_t>& image_size,
                                                const std::vector<int64_t>& roi_size,
                                                const std::vector<int64_t>& scan_interval) {
  const auto axes = window_starts_per_axis(image_size, roi_size, scan_interval);
  std::vector<std::vector<int64_t>> all{{}};
  for (const auto& axis : axes) {  // meshgrid "ij": earlier axes vary slowest
    std::vector<std::vector<int64_t>> next;
    for (const auto& prefix : all) {
      for (int64_t s : axis) {
        auto p = prefix;
        p.push_back(s);
        next.push_back(std::move(p));
      }
    }
    all = std::move(next);
  }
  return all;
}

torch::Tensor importance_map(const std::vector<int64_t>& roi_size, BlendMode mode,
                             const std::vector<double>& sigma_scale, const torch::TensorOptions& options) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(options.device());
  torch::Tensor map;
  if (mode == BlendMode::constant) {
    map = torch::ones(roi_size, f32);
  } else {
    const auto sigma_scales = per_axis(sigma_scale, roi_size.size(), "sigma_scale");
    for (size_t i = 0; i < roi_size.size(); ++i) {
      const double p = static_cast<double>(roi_size[i]);
      const double sigma = p * sigma_scales[i];
      check(sigma > 0, "sliding window: gaussian sigma must be > 0 (sigma_scale {} for roi {})", sigma_scales[i], p);
      auto x = torch::arange(-(p - 1) / 2.0, (p - 1) / 2.0 + 1, f32);
      x = torch::exp(x.pow(2) / (-2 * sigma * sigma));
      if (i == 0) {
        map = x;
      } else {
        std::vector<int64_t> shape(i + 1, 1);
        shape[i] = roi_size[i];
        map = map.unsqueeze(-1) * x.view(shape);
      }
    }
  }
  // Non-positive (or vanishing) weights would divide by ~0 at the window borders.
  const double min_non_zero = std::max(map.min().item<double>(), 1e-3);
  return map.clamp_min(min_non_zero).to(options.dtype());
}

torch::Tensor sliding_window_inference(const torch::Tensor& inputs, const WindowPredictor& predictor,
                                       const SlidingWindowOptions& options) {
  check(inputs.dim() >= 3, "sliding window: inputs must be (N, C, spatial...), got {} dimensions", inputs.dim());
  check(torch::isFloatingType(inputs.scalar_type()), "sliding window: inputs must be floating point");
  check(static_cast<bool>(predictor), "sliding window: no predictor given");
  check(options.sw_batch_size() >= 1, "sliding window: sw_batch_size must be >= 1, got {}", options.sw_batch_size());
  const auto num_axes = static_cast<size_t>(inputs.dim() - 2);
  const auto overlap = per_axis(options.overlap(), num_axes, "overlap");
  for (double o : overlap) check(o >= 0 && o < 1, "sliding window: overlap must lie in [0, 1), got {}", o);

  const int64_t batch = inputs.size(0);
  std::vector<int64_t> original_size, roi, image_size;
  const auto roi_option = per_axis(options.roi_size(), num_axes, "roi_size");
  for (size_t d = 0; d < num_axes; ++d) {
    original_size.push_back(inputs.size(static_cast<int64_t>(d) + 2));
    roi.push_back(roi_option[d] > 0 ? roi_option[d] : original_size[d]);  // fall_back_tuple
    image_size.push_back(std::max(original_size[d], roi[d]));
  }
  const auto compute_dtype = inputs.scalar_type();
  const torch::Device device = options.device().value_or(inputs.device());
  const torch::Device sw_device = options.sw_device().value_or(inputs.device());

  // Pad axes smaller than the roi; torch's pad list starts with the LAST axis.
  std::vector<int64_t> pad, pad_before(num_axes, 0);
  for (size_t k = num_axes; k-- > 0;) {
    const int64_t diff = std::max<int64_t>(roi[k] - original_size[k], 0);
    pad.push_back(diff / 2);
    pad.push_back(diff - diff / 2);
    pad_before[k] = diff / 2;
  }
  const bool padded = std::any_of(pad.begin(), pad.end(), [](int64_t p) { return p > 0; });
  const torch::Tensor image = padded ? pad_input(inputs, pad, options) : inputs;

  const auto intervals = scan_intervals(image_size, roi, overlap);
  const auto starts = window_starts(image_size, roi, intervals);
  const auto num_windows = static_cast<int64_t>(starts.size());
  const int64_t total = num_windows * batch;
  std::vector<int64_t> batched_roi{1, 1};
  batched_roi.insert(batched_roi.end(), roi.begin(), roi.end());
  const auto weights_batched = importance_map(roi, options.mode(), options.sigma_scale(),
                                              torch::TensorOptions().dtype(compute_dtype).device(sw_device))
                                   .view(batched_roi);

  torch::Tensor output, count;
  std::vector<double> scale;  // output size / roi per axis, set with the output
  std::vector<int64_t> out_roi;
  // A window's place in the output: [start, stop) scaled by int(x * scale) as MONAI does for scaled predictions.
  const auto placed = [&](const std::vector<int64_t>& start, bool scaled) {
    std::vector<int64_t> at(num_axes), len(num_axes);
    for (size_t d = 0; d < num_axes; ++d) {
      const auto to_output = [&](int64_t x) {
        return scaled ? static_cast<int64_t>(static_cast<double>(x) * scale[d]) : x;
      };
      at[d] = to_output(start[d]);
      len[d] = to_output(start[d] + roi[d]) - at[d];
    }
    return std::make_pair(at, len);
  };
  for (int64_t first = 0; first < total; first += options.sw_batch_size()) {
    const int64_t last = std::min(first + options.sw_batch_size(), total);
    std::vector<torch::Tensor> windows;
    for (int64_t idx = first; idx < last; ++idx) {
      windows.push_back(window_of(image.narrow(0, idx / num_windows, 1), starts[idx % num_windows], roi));
    }
    const auto window_batch = torch::cat(windows).to(sw_device);
    torch::Tensor prediction = predictor(window_batch);
    check(prediction.defined() && prediction.dim() == inputs.dim() && prediction.size(0) == last - first,
          "sliding window: the predictor must return ({}, C', window...) for {} windows, got shape [{}]", last - first,
          last - first,
          prediction.defined() ? fmt::format("{}", fmt::join(prediction.sizes(), ", ")) : std::string("undefined"));
    std::vector<int64_t> prediction_roi(prediction.sizes().begin() + 2, prediction.sizes().end());

    torch::Tensor w = weights_batched;
    const bool scaled = prediction_roi != roi;
    if (scaled) w = resize_nearest_exact(w, prediction_roi);
    if (!output.defined()) {
      out_roi = prediction_roi;
      std::vector<int64_t> out_shape{batch, prediction.size(1)};
      for (size_t d = 0; d < num_axes; ++d) {
        scale.push_back(static_cast<double>(prediction_roi[d]) / static_cast<double>(roi[d]));
        out_shape.push_back(scaled ? static_cast<int64_t>(static_cast<double>(image_size[d]) * scale[d])
                                   : image_size[d]);
      }
      const auto out_options = torch::TensorOptions().dtype(compute_dtype).device(device);
      output = torch::zeros(out_shape, out_options);
      std::vector<int64_t> count_shape{1, 1};
      count_shape.insert(count_shape.end(), out_shape.begin() + 2, out_shape.end());
      count = torch::zeros(count_shape, out_options);
      const auto w_out = w.to(device);
      for (const auto& s : starts) {
        const auto [at, len] = placed(s, scaled);
        window_of(count, at, len).add_(w_out);
      }
    }
    check(prediction_roi == out_roi && prediction.size(1) == output.size(1),
          "sliding window: the predictor's output shape changed between windows");
    const auto weighted = (prediction.to(compute_dtype) * w).to(device);
    for (int64_t idx = first; idx < last; ++idx) {
      const auto [at, len] = placed(starts[idx % num_windows], scaled);
      window_of(output.narrow(0, idx / num_windows, 1), at, len).add_(weighted.narrow(0, idx - first, 1));
    }
  }
  output = output / count;

  if (padded) {
    // Crop the padding off (scaled like the output). Python slicing clamps the stop to the size; so does this.
    for (size_t d = 0; d < num_axes; ++d) {
      const int64_t axis = static_cast<int64_t>(d) + 2;
      const double zoom = static_cast<double>(output.size(axis)) / static_cast<double>(roi[d]);
      const auto begin = static_cast<int64_t>(std::nearbyint(static_cast<double>(pad_before[d]) * zoom));
      auto end = static_cast<int64_t>(std::nearbyint(static_cast<double>(pad_before[d] + original_size[d]) * zoom));
      end = std::min(end, output.size(axis));
      output = output.narrow(axis, begin, std::max<int64_t>(end - begin, 0));
    }
  }
  return output;
}

}  // namespace medssl::train
