#include "medssl/models/unet_block.h"

#include <numeric>

#include "medssl/core/error.h"
#include "medssl/models/fast_layers.h"
#include "medssl/models/layers.h"
#include "medssl/tensor/fused_dropout.h"

namespace medssl::models {

void check_unet_variant(const std::string& variant) {
  check(variant == "taleb" || is_modern_unet_variant(variant),
        "unet: variant must be \"taleb\", \"modern\" or \"modern_gn\", got \"{}\"", variant);
}

bool is_modern_unet_variant(const std::string& variant) { return variant == "modern" || variant == "modern_gn"; }

int64_t unet_norm_groups(int64_t channels) { return std::gcd<int64_t>(8, channels); }

UNetBlockImpl::UNetBlockImpl(UNetBlockOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "unet block");
  check_unet_variant(options_.variant());
  check(options_.dropout() >= 0.0 && options_.dropout() < 1.0, "unet block: dropout must be in [0, 1), got {}",
        options_.dropout());
  modern_ = is_modern_unet_variant(options_.variant());
  instance_norm_ = options_.variant() == "modern";
  const int64_t out = options_.out_channels();
  conv1_ = make_conv(dims, options_.in_channels(), out, 3, 1, /*padding=*/1);  // forward passes the same padding
  conv2_ = make_conv(dims, out, out, 3, 1, /*padding=*/1);
  if (instance_norm_) {
    norm1_ = make_instance_norm(dims, out, /*affine=*/true);
    norm2_ = make_instance_norm(dims, out, /*affine=*/true);
  } else if (modern_) {
    norm1_ = make_group_norm(unet_norm_groups(out), out);
    norm2_ = make_group_norm(unet_norm_groups(out), out);
  } else {
    norm1_ = make_batch_norm(dims, out, options_.bn_eps(), options_.bn_momentum());
    norm2_ = make_batch_norm(dims, out, options_.bn_eps(), options_.bn_momentum());
  }
  register_module("conv1", conv1_.ptr());
  register_module("norm1", norm1_.ptr());
  register_module("conv2", conv2_.ptr());
  register_module("norm2", norm2_.ptr());
  if (!modern_ && options_.dropout() > 0.0) dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout()));
  init_weight_zero_bias(conv1_, he_normal_truncated_);
  init_weight_zero_bias(conv2_, he_normal_truncated_);
}

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& x) {
  // InstanceNorm of a one-voxel map is 0 whatever the input: every later layer would see constants. Refuse it rather
  // than train on nothing (seen with rpl's 9^3 patches of 32^3 volumes through 3 poolings).
  if (instance_norm_ && x.dim() > 2) {
    int64_t voxels = 1;
    for (int64_t d = 2; d < x.dim(); ++d) voxels *= x.size(d);
    if (voxels == 1)
      fail("unet block (variant modern): instance norm of a {} map gives 0 for every input; the input is too small "
           "for num_layers (use larger images or patches, fewer num_layers, or encoder_variant modern_gn)",
           shape_string(x));
  }
  if (modern_) {
    auto y = torch::leaky_relu(norm1_.forward(conv_forward(conv1_, x, 1)), 0.01);
    return torch::leaky_relu(norm2_.forward(conv_forward(conv2_, y, 1)), 0.01);
  }
  // ReLU in place on the fresh convolution output (the convolution's backward needs its input, not its output), and
  // the fused dropout with a byte mask (tensor/fused_dropout.h): the same function as Dropout with less memory.
  auto y = norm1_.forward(conv_forward(conv1_, x, 1).relu_());
  if (!dropout_.is_empty()) y = medssl::dropout(y, dropout_->options.p(), is_training());
  return norm2_.forward(conv_forward(conv2_, y, 1).relu_());
}

}  // namespace medssl::models
