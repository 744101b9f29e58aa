#pragma once
// The convolutional blocks of MONAI's UNETR, with MONAI's module names so that state_dicts map 1:1. Sources (names
// and structure checked against MONAI 1.5.0): monai/networks/blocks/dynunet_block.py (UnetResBlock, UnetBasicBlock,
// UnetOutBlock, get_conv_layer, get_padding), monai/networks/blocks/unetr_block.py (UnetrBasicBlock, UnetrPrUpBlock,
// UnetrUpBlock), monai/networks/blocks/convolutions.py (Convolution: an nn.Sequential whose conv is the child "conv";
// with act/norm/dropout all None nothing else is added).
//
// Resulting parameter names, e.g. in UNETR:
//   encoder1.layer.conv1.conv.weight, encoder1.layer.conv2.conv.weight, encoder1.layer.conv3.conv.weight
//   encoder2.transp_conv_init.conv.weight, encoder2.blocks.<i>.0.conv.weight, encoder2.blocks.<i>.1.conv1.conv.weight
//   decoder5.transp_conv.conv.weight, decoder5.conv_block.conv{1,2,3}.conv.weight, out.conv.conv.{weight,bias}
// Norms: "instance" = InstanceNorm (affine=False, eps 1e-5, no running stats: no parameters, no buffers);
// "batch" = BatchNorm (affine, running stats: norm<k>.weight/bias/running_mean/running_var/num_batches_tracked).
// All convolutions of these blocks are bias-free except UnetOutBlock's; initialisation is PyTorch's default (MONAI
// applies none). Activation: LeakyReLU(0.01).
#include <cstdint>
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

/// Throws medssl::Error unless norm_name is "instance" or "batch".
void check_unetr_norm_name(const std::string& norm_name);

/// MONAI's `Convolution` with conv_only semantics: one Conv{2,3}d / ConvTranspose{2,3}d registered as child "conv".
/// Padding as MONAI's get_padding: (kernel - stride + 1) / 2; transposed convolutions need kernel == stride (the only
/// case UNETR uses; padding 0, output_padding 0).
struct ConvLayerOptions {
  ConvLayerOptions(int spatial_dims, int64_t in_channels, int64_t out_channels, int64_t kernel)
      : spatial_dims_(spatial_dims), in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel) {}
  TORCH_ARG(int, spatial_dims);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(bool, bias) = false;
  TORCH_ARG(bool, transposed) = false;
};

class ConvLayerImpl : public torch::nn::Module {
 public:
  explicit ConvLayerImpl(ConvLayerOptions options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::AnyModule conv_;
  bool conv_transpose_ = false;
};
TORCH_MODULE(ConvLayer);

/// Options shared by the residual and plain conv blocks.
struct UnetConvBlockOptions {
  UnetConvBlockOptions(int spatial_dims, int64_t in_channels, int64_t out_channels)
      : spatial_dims_(spatial_dims), in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int, spatial_dims);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel) = 3;
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(std::string, norm_name) = "instance";
  TORCH_ARG(double, negative_slope) = 0.01;
};

/// conv1 -> norm1 -> lrelu -> conv2 -> norm2, + residual (conv3 1x1 + norm3 when in != out or stride != 1) -> lrelu.
class UnetResBlockImpl : public torch::nn::Module {
 public:
  explicit UnetResBlockImpl(UnetConvBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvLayer conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::LeakyReLU lrelu_{nullptr};
  torch::nn::AnyModule norm1_, norm2_, norm3_;
};
TORCH_MODULE(UnetResBlock);

/// conv1 -> norm1 -> lrelu -> conv2 -> norm2 -> lrelu (no residual).
class UnetBasicBlockImpl : public torch::nn::Module {
 public:
  explicit UnetBasicBlockImpl(UnetConvBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvLayer conv1_{nullptr}, conv2_{nullptr};
  torch::nn::LeakyReLU lrelu_{nullptr};
  torch::nn::AnyModule norm1_, norm2_;
};
TORCH_MODULE(UnetBasicBlock);

/// UNETR encoder1: `layer` = UnetResBlock (res_block) or UnetBasicBlock.
class UnetrBasicBlockImpl : public torch::nn::Module {
 public:
  UnetrBasicBlockImpl(UnetConvBlockOptions options, bool res_block);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::AnyModule layer_;
};
TORCH_MODULE(UnetrBasicBlock);

struct UnetrPrUpBlockOptions {
  UnetrPrUpBlockOptions(int spatial_dims, int64_t in_channels, int64_t out_channels, int64_t num_layer)
      : spatial_dims_(spatial_dims), in_channels_(in_channels), out_channels_(out_channels), num_layer_(num_layer) {}
  TORCH_ARG(int, spatial_dims);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, num_layer);
  TORCH_ARG(int64_t, kernel) = 3;
  TORCH_ARG(int64_t, upsample_kernel) = 2;
  TORCH_ARG(std::string, norm_name) = "instance";
  TORCH_ARG(bool, conv_block) = true;
  TORCH_ARG(bool, res_block) = true;
};

/// One step of UnetrPrUpBlock with conv_block: MONAI's nn.Sequential(transposed conv, conv block), children "0" and
/// "1" (a plain module, because LibTorch cannot type-erase a Sequential into an AnyModule).
class UpsampleRefineImpl : public torch::nn::Module {
 public:
  UpsampleRefineImpl(ConvLayer up, torch::nn::AnyModule refine);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvLayer up_{nullptr};
  torch::nn::AnyModule refine_;
};
TORCH_MODULE(UpsampleRefine);

/// transp_conv_init (in -> out, x upsample) then num_layer x blocks.<i>: with conv_block
/// Sequential(0: transposed conv, 1: Unet{Res,Basic}Block(out -> out)), without it just the transposed conv.
class UnetrPrUpBlockImpl : public torch::nn::Module {
 public:
  explicit UnetrPrUpBlockImpl(UnetrPrUpBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvLayer transp_conv_init_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<torch::nn::AnyModule> block_list_;
};
TORCH_MODULE(UnetrPrUpBlock);

struct UnetrUpBlockOptions {
  UnetrUpBlockOptions(int spatial_dims, int64_t in_channels, int64_t out_channels)
      : spatial_dims_(spatial_dims), in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int, spatial_dims);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel) = 3;
  TORCH_ARG(int64_t, upsample_kernel) = 2;
  TORCH_ARG(std::string, norm_name) = "instance";
  TORCH_ARG(bool, res_block) = true;
};

/// transp_conv (in -> out, x upsample), concat with the skip (out channels) -> conv_block (2 out -> out).
class UnetrUpBlockImpl : public torch::nn::Module {
 public:
  explicit UnetrUpBlockImpl(UnetrUpBlockOptions options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip);

 private:
  ConvLayer transp_conv_{nullptr};
  torch::nn::AnyModule conv_block_;
};
TORCH_MODULE(UnetrUpBlock);

/// 1x1 convolution with bias: `conv.conv.{weight,bias}`.
class UnetOutBlockImpl : public torch::nn::Module {
 public:
  UnetOutBlockImpl(int spatial_dims, int64_t in_channels, int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvLayer conv_{nullptr};
};
TORCH_MODULE(UnetOutBlock);

}  // namespace medssl::models
