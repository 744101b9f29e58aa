#include "medssl/models/unetr_blocks.h"

#include <fmt/ranges.h>

#include "medssl/core/error.h"
#include "medssl/models/fast_layers.h"
#include "medssl/models/layers.h"

namespace medssl::models {

namespace nn = torch::nn;

namespace {

nn::AnyModule make_norm(const std::string& norm_name, int spatial_dims, int64_t channels) {
  check_unetr_norm_name(norm_name);
  if (norm_name == "instance") return make_instance_norm(spatial_dims, channels, /*affine=*/false, /*eps=*/1e-5);
  return make_batch_norm(spatial_dims, channels, /*eps=*/1e-5, /*momentum=*/0.1, /*affine=*/true);
}

ConvLayer conv_layer(int dims, int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return ConvLayer(ConvLayerOptions(dims, in, out, kernel).stride(stride));
}

ConvLayer up_conv_layer(int dims, int64_t in, int64_t out, int64_t kernel) {
  return ConvLayer(ConvLayerOptions(dims, in, out, kernel).stride(kernel).transposed(true));
}

nn::AnyModule conv_block(const UnetConvBlockOptions& options, bool res_block) {
  if (res_block) return nn::AnyModule(UnetResBlock(options));
  return nn::AnyModule(UnetBasicBlock(options));
}

}  // namespace

void check_unetr_norm_name(const std::string& norm_name) {
  check(norm_name == "instance" || norm_name == "batch", "UNETR blocks: norm_name must be \"instance\" or \"batch\", got \"{}\"",
        norm_name);
}

// ------------------------------------------------------------------------------------------------------ ConvLayer

ConvLayerImpl::ConvLayerImpl(ConvLayerOptions o) {
  check_spatial_dims(o.spatial_dims(), "UNETR conv layer");
  check(o.in_channels() > 0 && o.out_channels() > 0 && o.kernel() > 0 && o.stride() > 0,
        "UNETR conv layer: channels ({} -> {}), kernel {} and stride {} must be positive", o.in_channels(),
        o.out_channels(), o.kernel(), o.stride());
  conv_transpose_ = o.transposed();
  if (o.transposed()) {
    check(o.kernel() == o.stride(), "UNETR transposed conv layer: kernel ({}) must equal stride ({})", o.kernel(),
          o.stride());
    conv_ = make_conv_transpose(o.spatial_dims(), o.in_channels(), o.out_channels(), o.kernel(), o.stride(), o.bias());
  } else {
    const int64_t padding = (o.kernel() - o.stride() + 1) / 2;  // MONAI get_padding
    check(o.kernel() - o.stride() + 1 >= 0, "UNETR conv layer: stride {} too large for kernel {}", o.stride(),
          o.kernel());
    conv_ = make_conv(o.spatial_dims(), o.in_channels(), o.out_channels(), o.kernel(), o.stride(), padding, o.bias());
  }
  register_module("conv", conv_.ptr());
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
  return conv_transpose_ ? conv_transpose_forward(conv_, x) : conv_.forward(x);
}

// --------------------------------------------------------------------------------------------------- UnetResBlock

UnetResBlockImpl::UnetResBlockImpl(UnetConvBlockOptions o) {
  const int dims = o.spatial_dims();
  conv1_ = register_module("conv1", conv_layer(dims, o.in_channels(), o.out_channels(), o.kernel(), o.stride()));
  conv2_ = register_module("conv2", conv_layer(dims, o.out_channels(), o.out_channels(), o.kernel(), 1));
  lrelu_ = register_module("lrelu", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(o.negative_slope())));
  norm1_ = make_norm(o.norm_name(), dims, o.out_channels());
  register_module("norm1", norm1_.ptr());
  norm2_ = make_norm(o.norm_name(), dims, o.out_channels());
  register_module("norm2", norm2_.ptr());
  if (o.in_channels() != o.out_channels() || o.stride() != 1) {
    conv3_ = register_module("conv3", conv_layer(dims, o.in_channels(), o.out_channels(), 1, o.stride()));
    norm3_ = make_norm(o.norm_name(), dims, o.out_channels());
    register_module("norm3", norm3_.ptr());
  }
}

torch::Tensor UnetResBlockImpl::forward(const torch::Tensor& x) {
  auto out = lrelu_(norm1_.forward(conv1_(x)));
  out = norm2_.forward(conv2_(out));
  auto residual = conv3_ ? norm3_.forward(conv3_(x)) : x;
  return lrelu_(out + residual);
}

// ------------------------------------------------------------------------------------------------- UnetBasicBlock

UnetBasicBlockImpl::UnetBasicBlockImpl(UnetConvBlockOptions o) {
  const int dims = o.spatial_dims();
  conv1_ = register_module("conv1", conv_layer(dims, o.in_channels(), o.out_channels(), o.kernel(), o.stride()));
  conv2_ = register_module("conv2", conv_layer(dims, o.out_channels(), o.out_channels(), o.kernel(), 1));
  lrelu_ = register_module("lrelu", nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(o.negative_slope())));
  norm1_ = make_norm(o.norm_name(), dims, o.out_channels());
  register_module("norm1", norm1_.ptr());
  norm2_ = make_norm(o.norm_name(), dims, o.out_channels());
  register_module("norm2", norm2_.ptr());
}

torch::Tensor UnetBasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = lrelu_(norm1_.forward(conv1_(x)));
  return lrelu_(norm2_.forward(conv2_(out)));
}

// ------------------------------------------------------------------------------------------------ UnetrBasicBlock

UnetrBasicBlockImpl::UnetrBasicBlockImpl(UnetConvBlockOptions options, bool res_block) {
  layer_ = conv_block(options, res_block);
  register_module("layer", layer_.ptr());
}

torch::Tensor UnetrBasicBlockImpl::forward(const torch::Tensor& x) { return layer_.forward(x); }

// ------------------------------------------------------------------------------------------------- UnetrPrUpBlock

UpsampleRefineImpl::UpsampleRefineImpl(ConvLayer up, nn::AnyModule refine) : refine_(std::move(refine)) {
  up_ = register_module("0", std::move(up));
  register_module("1", refine_.ptr());
}

torch::Tensor UpsampleRefineImpl::forward(const torch::Tensor& x) { return refine_.forward(up_(x)); }

UnetrPrUpBlockImpl::UnetrPrUpBlockImpl(UnetrPrUpBlockOptions o) {
  check(o.num_layer() >= 0, "UnetrPrUpBlock: num_layer must be >= 0, got {}", o.num_layer());
  const int dims = o.spatial_dims();
  transp_conv_init_ =
      register_module("transp_conv_init", up_conv_layer(dims, o.in_channels(), o.out_channels(), o.upsample_kernel()));
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < o.num_layer(); ++i) {
    auto up = up_conv_layer(dims, o.out_channels(), o.out_channels(), o.upsample_kernel());
    nn::AnyModule block;
    if (o.conv_block()) {
      auto refine = conv_block(UnetConvBlockOptions(dims, o.out_channels(), o.out_channels())
                                   .kernel(o.kernel())
                                   .norm_name(o.norm_name()),
                               o.res_block());
      block = nn::AnyModule(UpsampleRefine(up, refine));
    } else {
      block = nn::AnyModule(up);
    }
    blocks_->push_back(block.ptr());
    block_list_.push_back(block);
  }
}

torch::Tensor UnetrPrUpBlockImpl::forward(const torch::Tensor& x) {
  auto out = transp_conv_init_(x);
  for (auto& block : block_list_) out = block.forward(out);
  return out;
}

// --------------------------------------------------------------------------------------------------- UnetrUpBlock

UnetrUpBlockImpl::UnetrUpBlockImpl(UnetrUpBlockOptions o) {
  const int dims = o.spatial_dims();
  transp_conv_ =
      register_module("transp_conv", up_conv_layer(dims, o.in_channels(), o.out_channels(), o.upsample_kernel()));
  conv_block_ = conv_block(
      UnetConvBlockOptions(dims, 2 * o.out_channels(), o.out_channels()).kernel(o.kernel()).norm_name(o.norm_name()),
      o.res_block());
  register_module("conv_block", conv_block_.ptr());
}

torch::Tensor UnetrUpBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  auto up = transp_conv_(x);
  check(up.sizes() == skip.sizes(), "UnetrUpBlock: upsampled features [{}] and skip [{}] differ in shape",
        fmt::join(up.sizes(), ", "), fmt::join(skip.sizes(), ", "));
  return conv_block_.forward(torch::cat({up, skip}, 1));
}

// --------------------------------------------------------------------------------------------------- UnetOutBlock

UnetOutBlockImpl::UnetOutBlockImpl(int spatial_dims, int64_t in_channels, int64_t out_channels) {
  conv_ = register_module("conv", ConvLayer(ConvLayerOptions(spatial_dims, in_channels, out_channels, 1).bias(true)));
}

torch::Tensor UnetOutBlockImpl::forward(const torch::Tensor& x) { return conv_(x); }

}  // namespace medssl::models
