#include "medssl/models/unet_block.h"

#include "medssl/core/error.h"
#include "medssl/models/layers.h"
#include "medssl/tensor/fused_dropout.h"

namespace medssl::models {

void check_unet_variant(const std::string& variant) {
  check(variant == "taleb" || variant == "modern", "unet: variant must be \"taleb\" or \"modern\", got \"{}\"", variant);
}

UNetBlockImpl::UNetBlockImpl(UNetBlockOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "unet block");
  check_unet_variant(options_.variant());
  check(options_.dropout() >= 0.0 && options_.dropout() < 1.0, "unet block: dropout must be in [0, 1), got {}",
        options_.dropout());
  modern_ = options_.variant() == "modern";
  const int64_t out = options_.out_channels();
  conv1_ = make_conv(dims, options_.in_channels(), out, 3, 1, 1);
  conv2_ = make_conv(dims, out, out, 3, 1, 1);
  if (modern_) {
    norm1_ = make_instance_norm(dims, out, /*affine=*/true);
    norm2_ = make_instance_norm(dims, out, /*affine=*/true);
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
  if (modern_) {
    auto y = torch::leaky_relu(norm1_.forward(conv1_.forward(x)), 0.01);
    return torch::leaky_relu(norm2_.forward(conv2_.forward(y)), 0.01);
  }
  // ReLU in place on the fresh convolution output (the convolution's backward needs its input, not its output), and
  // the fused dropout with a byte mask (tensor/fused_dropout.h): the same function as Dropout with less memory.
  auto y = norm1_.forward(conv1_.forward(x).relu_());
  if (!dropout_.is_empty()) y = medssl::dropout(y, dropout_->options.p(), is_training());
  return norm2_.forward(conv2_.forward(y).relu_());
}

}  // namespace medssl::models
