#include "medssl/models/patch_embedding.h"

#include <cmath>

#include <fmt/ranges.h>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"

namespace medssl::models {

namespace nn = torch::nn;

std::vector<int64_t> expand_spatial(const std::vector<int64_t>& values, int spatial_dims, const std::string& what) {
  check_spatial_dims(spatial_dims, what);
  check(values.size() == 1 || values.size() == static_cast<size_t>(spatial_dims),
        "{}: expected 1 or {} values, got {} ({})", what, spatial_dims, values.size(), fmt::join(values, ", "));
  std::vector<int64_t> out(values.size() == 1 ? std::vector<int64_t>(spatial_dims, values[0]) : values);
  for (auto v : out) check(v > 0, "{}: values must be positive, got ({})", what, fmt::join(values, ", "));
  return out;
}

nn::AnyModule make_patch_conv(int spatial_dims, int64_t in_channels, int64_t out_channels,
                              const std::vector<int64_t>& kernel, bool transposed) {
  check_spatial_dims(spatial_dims, "patch convolution");
  check(kernel.size() == static_cast<size_t>(spatial_dims), "patch convolution: kernel has {} values for {} dims",
        kernel.size(), spatial_dims);
  if (spatial_dims == 2) {
    torch::ExpandingArray<2> k(kernel);
    if (transposed) return nn::AnyModule(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in_channels, out_channels, k).stride(k)));
    return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, k).stride(k)));
  }
  torch::ExpandingArray<3> k(kernel);
  if (transposed) return nn::AnyModule(nn::ConvTranspose3d(nn::ConvTranspose3dOptions(in_channels, out_channels, k).stride(k)));
  return nn::AnyModule(nn::Conv3d(nn::Conv3dOptions(in_channels, out_channels, k).stride(k)));
}

void trunc_normal_absolute_(torch::Tensor tensor, double mean, double std, double a, double b) {
  // Inverse-CDF sampling as in torch.nn.init.trunc_normal_: uniform in [cdf(a), cdf(b)] mapped back through erfinv.
  torch::NoGradGuard no_grad;
  auto norm_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double lower = norm_cdf((a - mean) / std), upper = norm_cdf((b - mean) / std);
  tensor.uniform_(2 * lower - 1, 2 * upper - 1);
  tensor.erfinv_();
  tensor.mul_(std * std::sqrt(2.0));
  tensor.add_(mean);
  tensor.clamp_(a, b);
}

PatchEmbeddingBlockImpl::PatchEmbeddingBlockImpl(PatchEmbeddingOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  const auto img = expand_spatial(options_.img_size(), dims, "PatchEmbeddingBlock img_size");
  const auto patch = expand_spatial(options_.patch_size(), dims, "PatchEmbeddingBlock patch_size");
  check(options_.in_channels() > 0 && options_.hidden_size() > 0,
        "PatchEmbeddingBlock: in_channels ({}) and hidden_size ({}) must be positive", options_.in_channels(),
        options_.hidden_size());
  check(options_.dropout() >= 0.0 && options_.dropout() <= 1.0, "PatchEmbeddingBlock: dropout must be in [0, 1], got {}",
        options_.dropout());
  n_patches_ = 1;
  for (int d = 0; d < dims; ++d) {
    // MONAI only demands patch <= img and floors; we demand divisibility so that no voxel is silently ignored.
    check(img[d] % patch[d] == 0, "PatchEmbeddingBlock: img_size ({}) must be divisible by patch_size ({}) on every axis",
          fmt::join(img, ", "), fmt::join(patch, ", "));
    grid_.push_back(img[d] / patch[d]);
    n_patches_ *= grid_.back();
  }
  options_.img_size(img).patch_size(patch);

  patch_embeddings_ = make_patch_conv(dims, options_.in_channels(), options_.hidden_size(), patch, /*transposed=*/false);
  register_module("patch_embeddings", patch_embeddings_.ptr());
  position_embeddings_ = register_parameter("position_embeddings", torch::zeros({1, n_patches_, options_.hidden_size()}));
  trunc_normal_absolute_(position_embeddings_, 0.0, 0.02, -2.0, 2.0);
  dropout_ = register_module("dropout", nn::Dropout(options_.dropout()));
}

torch::Tensor PatchEmbeddingBlockImpl::forward(const torch::Tensor& x) {
  const int dims = options_.spatial_dims();
  check(x.dim() == dims + 2 && x.size(1) == options_.in_channels(),
        "PatchEmbeddingBlock: expected input (B, {}, {}), got shape [{}]", options_.in_channels(),
        fmt::join(options_.img_size(), ", "), fmt::join(x.sizes(), ", "));
  for (int d = 0; d < dims; ++d)
    check(x.size(d + 2) == options_.img_size()[d],
          "PatchEmbeddingBlock: input spatial size [{}] differs from img_size ({}) that the position embeddings were "
          "built for",
          fmt::join(x.sizes().slice(2), ", "), fmt::join(options_.img_size(), ", "));
  auto tokens = patch_embeddings_.forward(x).flatten(2).transpose(-1, -2);
  return dropout_(tokens + position_embeddings_);
}

}  // namespace medssl::models
