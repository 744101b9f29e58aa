#include "medssl/models/layers.h"

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/models/sync_batch_norm.h"

namespace medssl::models {
namespace nn = torch::nn;

std::string shape_string(const torch::Tensor& x) {
  if (!x.defined()) return "undefined";
  std::string s = "[";
  for (int64_t i = 0; i < x.dim(); ++i) s += (i ? ", " : "") + std::to_string(x.size(i));
  return s + "]";
}

void check_spatial_dims(int dims, const std::string& who) {
  check(dims == 2 || dims == 3, "{}: spatial_dims must be 2 or 3, got {}", who, dims);
}

nn::AnyModule make_conv(int dims, int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                        int64_t padding, bool bias) {
  check_spatial_dims(dims, "conv layer");
  if (dims == 2)
    return nn::AnyModule(
        nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, kernel).stride(stride).padding(padding).bias(bias)));
  return nn::AnyModule(
      nn::Conv3d(nn::Conv3dOptions(in_channels, out_channels, kernel).stride(stride).padding(padding).bias(bias)));
}

nn::AnyModule make_conv_transpose(int dims, int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                                  bool bias) {
  check_spatial_dims(dims, "transposed conv layer");
  if (dims == 2)
    return nn::AnyModule(
        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in_channels, out_channels, kernel).stride(stride).bias(bias)));
  return nn::AnyModule(
      nn::ConvTranspose3d(nn::ConvTranspose3dOptions(in_channels, out_channels, kernel).stride(stride).bias(bias)));
}

nn::AnyModule make_batch_norm(int dims, int64_t features, double eps, double momentum, bool affine) {
  check_spatial_dims(dims, "batch norm layer");
  if (dims == 2)
    return nn::AnyModule(SyncBatchNorm2d(nn::BatchNorm2dOptions(features).eps(eps).momentum(momentum).affine(affine)));
  // A plain BatchNorm3d unless a data-parallel run with sync_bn installs a cross-process sum (sync_batch_norm.h).
  return nn::AnyModule(SyncBatchNorm3d(nn::BatchNorm3dOptions(features).eps(eps).momentum(momentum).affine(affine)));
}

nn::AnyModule make_instance_norm(int dims, int64_t features, bool affine, double eps) {
  check_spatial_dims(dims, "instance norm layer");
  if (dims == 2) return nn::AnyModule(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(features).affine(affine).eps(eps)));
  return nn::AnyModule(nn::InstanceNorm3d(nn::InstanceNorm3dOptions(features).affine(affine).eps(eps)));
}

nn::AnyModule make_group_norm(int64_t groups, int64_t features, bool affine, double eps) {
  check(groups >= 1 && features % groups == 0, "group norm layer: {} channels do not split into {} groups", features,
        groups);
  return nn::AnyModule(nn::GroupNorm(nn::GroupNormOptions(groups, features).affine(affine).eps(eps)));
}

nn::AnyModule make_max_pool(int dims, int64_t kernel, int64_t stride, int64_t padding) {
  check_spatial_dims(dims, "max pool layer");
  if (dims == 2) return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(kernel).stride(stride).padding(padding)));
  return nn::AnyModule(nn::MaxPool3d(nn::MaxPool3dOptions(kernel).stride(stride).padding(padding)));
}

nn::AnyModule make_avg_pool(int dims, int64_t kernel, int64_t stride, int64_t padding) {
  check_spatial_dims(dims, "average pool layer");
  if (dims == 2) return nn::AnyModule(nn::AvgPool2d(nn::AvgPool2dOptions(kernel).stride(stride).padding(padding)));
  return nn::AnyModule(nn::AvgPool3d(nn::AvgPool3dOptions(kernel).stride(stride).padding(padding)));
}

torch::Tensor global_pool(const torch::Tensor& x, const std::string& mode) {
  check(x.dim() >= 3, "global_pool: expected an (N, C, spatial...) tensor, got {} dims", x.dim());
  auto flat = x.flatten(2);
  if (mode == "avg") return flat.mean(2);
  if (mode == "max") return std::get<0>(flat.max(2));
  fail("global_pool: pooling must be \"avg\" or \"max\", got \"{}\"", mode);
}

torch::Tensor upsample_nearest(const torch::Tensor& x, int64_t factor) {
  // For an integer factor, nearest upsampling to size * factor copies source voxel floor(i / factor): the same
  // result (and gradient) as repeating every voxel, in one kernel instead of one copy per axis.
  std::vector<int64_t> size;
  for (int64_t axis = 2; axis < x.dim(); ++axis) size.push_back(x.size(axis) * factor);
  if (x.dim() == 5) return at::upsample_nearest3d(x, size);
  if (x.dim() == 4) return at::upsample_nearest2d(x, size);
  auto out = x;
  for (int64_t axis = 2; axis < x.dim(); ++axis) out = out.repeat_interleave(factor, axis);
  return out;
}

torch::Tensor fit_spatial(const torch::Tensor& x, const std::vector<int64_t>& spatial_sizes) {
  check(static_cast<int64_t>(spatial_sizes.size()) == x.dim() - 2, "fit_spatial: {} target sizes for a {}-d tensor",
        spatial_sizes.size(), x.dim());
  auto out = x;
  for (size_t i = 0; i < spatial_sizes.size(); ++i) {
    const int64_t axis = static_cast<int64_t>(i) + 2;
    const int64_t have = out.size(axis), want = spatial_sizes[i];
    if (have > want) {
      out = out.narrow(axis, 0, want);
    } else if (have < want) {
      auto pad_shape = out.sizes().vec();
      pad_shape[static_cast<size_t>(axis)] = want - have;
      out = torch::cat({out, torch::zeros(pad_shape, out.options())}, axis);
    }
  }
  return out;
}

namespace {
// PyTorch's fan computation: dim 1 is "in" for a conv/linear weight; transposed convs swap the roles, which does not
// matter for glorot (symmetric) and is handled by the callers for he_normal (only used on ordinary convs).
std::pair<double, double> fans(const torch::Tensor& w) {
  check(w.dim() >= 2, "initialiser: weight needs at least 2 dims, got {}", w.dim());
  const double receptive = w.dim() > 2 ? static_cast<double>(w[0][0].numel()) : 1.0;
  return {static_cast<double>(w.size(1)) * receptive, static_cast<double>(w.size(0)) * receptive};
}
}  // namespace

void truncated_normal_(torch::Tensor tensor, double std) {
  torch::NoGradGuard no_grad;
  // Inverse CDF: uniform in [Phi(-2), Phi(2)] mapped through erfinv; exact truncation, no rejection loop.
  const double lo = 0.5 * (1.0 + std::erf(-2.0 / std::sqrt(2.0)));
  const double hi = 0.5 * (1.0 + std::erf(2.0 / std::sqrt(2.0)));
  tensor.uniform_(2.0 * lo - 1.0, 2.0 * hi - 1.0);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0));
  tensor.clamp_(-2.0 * std, 2.0 * std);
}

void he_normal_truncated_(torch::Tensor weight) {
  // 0.879... is the std of a unit normal truncated at +-2; TF2 divides by it so the truncated draw has std sqrt(2/fan_in).
  const double std = std::sqrt(2.0 / fans(weight).first) / 0.87962566103423978;
  truncated_normal_(weight, std);
}

void glorot_uniform_(torch::Tensor weight) {
  torch::NoGradGuard no_grad;
  auto [fan_in, fan_out] = fans(weight);
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  weight.uniform_(-limit, limit);
}

void init_weight_zero_bias(nn::Module& module, void (*init)(torch::Tensor)) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/false)) {
    if (item.key() == "weight") init(item.value());
    if (item.key() == "bias") item.value().zero_();
  }
}

void init_weight_zero_bias(const nn::AnyModule& module, void (*init)(torch::Tensor)) {
  init_weight_zero_bias(*module.ptr(), init);
}

int64_t count_parameters(const nn::Module& module, bool trainable_only) {
  int64_t total = 0;
  for (const auto& p : module.parameters(/*recurse=*/true))
    if (!trainable_only || p.requires_grad()) total += p.numel();
  return total;
}

}  // namespace medssl::models
