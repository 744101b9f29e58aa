#include "medssl/metrics/hausdorff.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::metrics {

namespace {

// Voxels of `mask` (bool) that have a face neighbour outside the mask (or lie on the image border).
torch::Tensor edges_of(const torch::Tensor& mask) {
  const int64_t n = mask.dim();
  const auto padded = torch::constant_pad_nd(mask.to(torch::kUInt8), std::vector<int64_t>(2 * n, 1), 0);
  // The padded volume shifted by `offset` along `axis` (0 = the mask itself), cut back to the mask's shape.
  const auto shifted = [&](int64_t axis, int64_t offset) {
    torch::Tensor v = padded;
    for (int64_t d = 0; d < n; ++d) v = v.narrow(d, d == axis ? 1 + offset : 1, mask.size(d));
    return v;
  };
  torch::Tensor eroded = shifted(0, 0).to(torch::kBool);
  for (int64_t d = 0; d < n; ++d) {
    eroded = eroded & shifted(d, -1).to(torch::kBool) & shifted(d, +1).to(torch::kBool);
  }
  return mask & ~eroded;
}

// Coordinates (N, dims) of the true voxels, scaled by the spacing, float64.
torch::Tensor points_of(const torch::Tensor& edges, const std::vector<double>& spacing) {
  auto points = edges.nonzero().to(torch::kFloat64);
  if (!spacing.empty()) points = points * torch::tensor(spacing, torch::kFloat64).unsqueeze(0);
  return points;
}

// For each point of `from`, the distance to the nearest point of `to` (both non-empty).
std::vector<double> nearest_distances(const torch::Tensor& from, const torch::Tensor& to) {
  // Chunks bound the distance matrix to ~16M entries (128 MiB).
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(to.size(0), 1));
  std::vector<double> out;
  out.reserve(static_cast<size_t>(from.size(0)));
  for (int64_t i = 0; i < from.size(0); i += chunk) {
    const auto part = from.narrow(0, i, std::min(chunk, from.size(0) - i));
    // compute_mode 2: exact differences, not the matmul expansion (which loses precision).
    const auto nearest = torch::cdist(part, to, 2.0, /*compute_mode=*/2).amin(1).contiguous();
    const auto* p = nearest.data_ptr<double>();
    out.insert(out.end(), p, p + nearest.numel());
  }
  return out;
}

// numpy / torch.quantile "linear" percentile of non-empty values.
double percentile_of(std::vector<double> values, double percentile) {
  std::sort(values.begin(), values.end());
  const double position = percentile / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double weight = position - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * weight;
}

}  // namespace

double hausdorff_distance(const torch::Tensor& predicted_mask, const torch::Tensor& true_mask,
                          const HausdorffOptions& options) {
  check(predicted_mask.sizes() == true_mask.sizes(), "hausdorff distance: masks [{}] and [{}] differ in shape",
        fmt::join(predicted_mask.sizes(), ", "), fmt::join(true_mask.sizes(), ", "));
  check(predicted_mask.dim() >= 1, "hausdorff distance: masks need at least one axis");
  check(options.percentile() > 0 && options.percentile() <= 100,
        "hausdorff distance: percentile must lie in (0, 100], got {}", options.percentile());
  std::vector<double> spacing = options.spacing();
  if (spacing.size() == 1) spacing.assign(static_cast<size_t>(predicted_mask.dim()), spacing[0]);
  check(spacing.empty() || static_cast<int64_t>(spacing.size()) == predicted_mask.dim(),
        "hausdorff distance: {} spacing values for {} axes", spacing.size(), predicted_mask.dim());
  for (double s : spacing) check(s > 0, "hausdorff distance: spacing must be > 0, got {}", s);

  const auto predicted = points_of(edges_of(predicted_mask.detach().to(torch::kCPU) != 0), spacing);
  const auto truth = points_of(edges_of(true_mask.detach().to(torch::kCPU) != 0), spacing);
  const bool no_prediction = predicted.size(0) == 0, no_truth = truth.size(0) == 0;
  if (no_prediction && no_truth) return std::numeric_limits<double>::quiet_NaN();
  if (no_prediction || no_truth) return std::numeric_limits<double>::infinity();

  double distance = percentile_of(nearest_distances(predicted, truth), options.percentile());
  if (!options.directed()) {
    distance = std::max(distance, percentile_of(nearest_distances(truth, predicted), options.percentile()));
  }
  return distance;
}

torch::Tensor hausdorff_per_case(const torch::Tensor& predicted, const torch::Tensor& truth, int64_t num_classes,
                                 bool include_background, const HausdorffOptions& options) {
  check(predicted.sizes() == truth.sizes(), "hausdorff per case: class maps [{}] and [{}] differ in shape",
        fmt::join(predicted.sizes(), ", "), fmt::join(truth.sizes(), ", "));
  check(predicted.dim() >= 2, "hausdorff per case: class maps must be (B, spatial...)");
  check(num_classes >= (include_background ? 1 : 2), "hausdorff per case: num_classes {} leaves no class", num_classes);
  const int64_t first = include_background ? 0 : 1;
  auto out = torch::empty({predicted.size(0), num_classes - first}, torch::kFloat64);
  auto res = out.accessor<double, 2>();
  for (int64_t b = 0; b < predicted.size(0); ++b) {
    for (int64_t c = first; c < num_classes; ++c) {
      res[b][c - first] = hausdorff_distance(predicted[b] == c, truth[b] == c, options);
    }
  }
  return out;
}

}  // namespace medssl::metrics
