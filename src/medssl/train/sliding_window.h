#pragma once
// Sliding-window inference over a whole image/volume with a patch-based predictor, replicating MONAI's
// monai.inferers.sliding_window_inference (1.x, non-buffered path) so the same predictor gives the same result:
//
//  1. Spatial axes smaller than the roi are padded (diff // 2 before, the rest after; constant `cval` by default).
//  2. Scan interval per axis: int(roi * (1 - overlap)) (at least 1); the roi itself when roi == image size.
//  3. Windows per axis: the smallest n with (n - 1) * interval + roi >= size; start_i = i * interval, shifted back
//     so that the last window ends exactly at the border. All combinations, first spatial axis slowest
//     (numpy meshgrid "ij"), and for a batch of N images: all windows of image 0, then image 1, ...
//  4. Windows go to the predictor sw_batch_size at a time (a batch may mix images). Its output (B, C', roi...) is
//     weighted by the importance map (constant: 1; gaussian: separable exp(-x^2 / (2 sigma^2)), x measured from the
//     window centre, sigma = sigma_scale * roi, peak 1, clamped below at 1e-3) and summed into the output; the
//     weights are summed into a count map; output = sum / count; the padding is cropped off.
//  The predictor may change the channel count and may return a spatially scaled window (e.g. half resolution):
//  then, as in MONAI, the output grid is int(size * scale), window positions are int(start * scale) and the
//  importance map is resized with nearest-exact interpolation.
//
// Memory: windows are cut on `sw_device` (default: the input's device) and the stitched output and count map live
// on `device` (default: the input's device); set device = CPU to keep a large output off the accelerator.
// Gradients are not disabled here: wrap inference calls in torch::NoGradGuard.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

enum class BlendMode { constant, gaussian };

/// "constant" | "gaussian"; throws medssl::Error otherwise.
BlendMode parse_blend_mode(const std::string& name);

/// How the input is padded when it is smaller than the roi (torch.nn.functional.pad modes).
enum class WindowPadding { constant, reflect, replicate, circular };

/// "constant" | "reflect" | "replicate" | "circular"; throws medssl::Error otherwise.
WindowPadding parse_window_padding(const std::string& name);

struct SlidingWindowOptions {
  explicit SlidingWindowOptions(std::vector<int64_t> roi_size) : roi_size_(std::move(roi_size)) {}
  /// window size per spatial axis (one value = all axes); a value <= 0 means the whole axis.
  TORCH_ARG(std::vector<int64_t>, roi_size);
  /// windows per predictor call.
  TORCH_ARG(int64_t, sw_batch_size) = 1;
  /// fraction of overlap between neighbouring windows, in [0, 1); one value or one per spatial axis.
  TORCH_ARG(std::vector<double>, overlap) = std::vector<double>{0.25};
  TORCH_ARG(BlendMode, mode) = BlendMode::constant;
  /// gaussian sigma as a fraction of the roi size; one value or one per spatial axis.
  TORCH_ARG(std::vector<double>, sigma_scale) = std::vector<double>{0.125};
  TORCH_ARG(WindowPadding, padding_mode) = WindowPadding::constant;
  /// the value of constant padding.
  TORCH_ARG(double, cval) = 0.0;
  /// where windows are cut and the predictor runs; default: the input's device.
  TORCH_ARG(std::optional<torch::Device>, sw_device) = std::nullopt;
  /// where the output is stitched and returned; default: the input's device.
  TORCH_ARG(std::optional<torch::Device>, device) = std::nullopt;
};

/// Maps a batch of windows (B, C, roi...) to predictions (B, C', roi'...), roi' = roi or a scaled roi.
using WindowPredictor = std::function<torch::Tensor(const torch::Tensor&)>;

/// inputs (N, C, spatial...) floating point, 1 or more spatial axes (2D and 3D in practice). Returns
/// (N, C', spatial'...) in the input's dtype on options.device().
torch::Tensor sliding_window_inference(const torch::Tensor& inputs, const WindowPredictor& predictor,
                                       const SlidingWindowOptions& options);

// ---- The pieces, for tests and for code that needs the same window grid.

/// MONAI's _get_scan_interval: int(roi * (1 - overlap)), at least 1; roi where roi == image size.
std::vector<int64_t> scan_intervals(const std::vector<int64_t>& image_size, const std::vector<int64_t>& roi_size,
                                    const std::vector<double>& overlap);

/// MONAI's dense_patch_slices, one list of window starts per axis (image_size already >= roi_size).
std::vector<std::vector<int64_t>> window_starts_per_axis(const std::vector<int64_t>& image_size,
                                                         const std::vector<int64_t>& roi_size,
                                                         const std::vector<int64_t>& scan_interval);

/// All window starts in MONAI's order (first axis slowest).
std::vector<std::vector<int64_t>> window_starts(const std::vector<int64_t>& image_size,
                                                const std::vector<int64_t>& roi_size,
                                                const std::vector<int64_t>& scan_interval);

/// MONAI's compute_importance_map (computed in float32, then cast to `options`' dtype), shaped roi_size.
torch::Tensor importance_map(const std::vector<int64_t>& roi_size, BlendMode mode,
                             const std::vector<double>& sigma_scale,
                             const torch::TensorOptions& options = torch::kFloat32);

}  // namespace medssl::train
