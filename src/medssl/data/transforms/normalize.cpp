#include "medssl/data/transforms/normalize.h"

#include <cmath>

#include "medssl/core/error.h"

namespace medssl {
namespace {

void check_input(const torch::Tensor& data, const char* what) {
  check(data.defined() && data.numel() > 0, "{}: tensor is undefined or empty", what);
  check(data.dim() >= 1, "{}: expected a (C, *spatial) tensor", what);
}

torch::Tensor minmax_one(const torch::Tensor& x) {
  const double lo = x.min().item<double>();
  const double hi = x.max().item<double>();
  check(std::isfinite(lo) && std::isfinite(hi), "normalize_minmax: tensor contains NaN or infinite values");
  if (hi == lo) return torch::zeros_like(x);
  return (x - lo) / (hi - lo);
}

torch::Tensor zscore_one(const torch::Tensor& x, bool nonzero_only) {
  if (!nonzero_only) {
    const double mean = x.mean().item<double>();
    const double sd = x.std(/*unbiased=*/false).item<double>();
    check(std::isfinite(mean) && std::isfinite(sd), "normalize_zscore: tensor contains NaN or infinite values");
    return (x - mean) / (sd > 0 ? sd : 1.0);
  }
  const torch::Tensor mask = x != 0;
  if (!mask.any().item<bool>()) return x.clone();
  const torch::Tensor values = x.masked_select(mask);
  const double mean = values.mean().item<double>();
  const double sd = values.std(/*unbiased=*/false).item<double>();
  check(std::isfinite(mean) && std::isfinite(sd), "normalize_zscore: tensor contains NaN or infinite values");
  return torch::where(mask, (x - mean) / (sd > 0 ? sd : 1.0), x);
}

// Applies `fn` to the whole tensor or to each channel, in float32 (LibTorch's float reductions sum pairwise and
// compute std with Welford, accurate enough here, and a float64 copy of a CT volume would double the memory).
template <typename Fn>
torch::Tensor apply(const torch::Tensor& data, bool per_channel, Fn fn) {
  const torch::Tensor x = data.to(torch::kFloat32);
  if (!per_channel) return fn(x);
  std::vector<torch::Tensor> channels;
  for (int64_t c = 0; c < x.size(0); ++c) channels.push_back(fn(x[c]));
  return torch::stack(channels);
}

}  // namespace

torch::Tensor normalize_minmax(const torch::Tensor& data, bool per_channel) {
  check_input(data, "normalize_minmax");
  return apply(data, per_channel, minmax_one);
}

torch::Tensor normalize_zscore(const torch::Tensor& data, bool nonzero_only, bool per_channel) {
  check_input(data, "normalize_zscore");
  return apply(data, per_channel, [nonzero_only](const torch::Tensor& x) { return zscore_one(x, nonzero_only); });
}

}  // namespace medssl
