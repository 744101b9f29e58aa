#include "medssl/weights/transfer_adapt.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace medssl::weights {
namespace {

std::string shape_of(c10::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

std::optional<Adaptation> adapt_tensor(const torch::Tensor& source, c10::IntArrayRef target_shape,
                                       int64_t model_in_channels) {
  if (!source.is_floating_point() || source.dim() < 3 || source.size(0) != target_shape[0]) return std::nullopt;
  torch::Tensor t = source.to(torch::kFloat64);  // the arithmetic in double, the copy converts to the model's type
  std::vector<std::string> how;

  if (static_cast<int64_t>(target_shape.size()) == t.dim() + 1) {
    // [O, I, k...] -> [O, I, kd, k...]: the file's spatial kernel must be the model's last spatial dims.
    const auto file_spatial = t.sizes().slice(2);
    const auto model_spatial = target_shape.slice(3);
    if (file_spatial != model_spatial) return std::nullopt;
    const int64_t depth = target_shape[2];
    std::vector<int64_t> inflated(t.sizes().begin(), t.sizes().end());
    inflated.insert(inflated.begin() + 2, depth);
    t = t.unsqueeze(2).expand(inflated).contiguous() / static_cast<double>(depth);
    how.push_back(fmt::format("inflated {} to {} (2D kernel copied along depth {}, divided by {})",
                              shape_of(source.sizes()), shape_of(inflated), depth, depth));
  }
  if (static_cast<int64_t>(target_shape.size()) != t.dim()) return std::nullopt;

  if (t.size(1) != target_shape[1]) {
    std::vector<int64_t> same_but_channels(target_shape.begin(), target_shape.end());
    same_but_channels[1] = t.size(1);
    if (model_in_channels < 0 || target_shape[1] != model_in_channels || t.sizes() != same_but_channels)
      return std::nullopt;
    const int64_t channels = target_shape[1];
    std::vector<int64_t> expanded(target_shape.begin(), target_shape.end());
    t = (t.sum(1, /*keepdim=*/true) / static_cast<double>(channels)).expand(expanded).contiguous();
    how.push_back(fmt::format("input channels {} -> {} (each channel: the sum of the file's channel kernels / {})",
                              same_but_channels[1], channels, channels));
  }
  if (t.sizes() != target_shape || how.empty()) return std::nullopt;
  return Adaptation{t, fmt::format("{}", fmt::join(how, "; "))};
}

}  // namespace medssl::weights
