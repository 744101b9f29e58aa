#pragma once
// Dimension-generic building blocks for medssl's networks. LibTorch's Conv2d and Conv3d (BatchNorm2d/3d, pools, ...)
// are distinct types, so every network that exists in 2D and 3D builds its layers through these factories, which
// pick the right type from `spatial_dims` (2 or 3) and return it type-erased as a torch::nn::AnyModule.
//
// Register the result with `register_module(name, any.ptr())`: the LibTorch module itself is registered (no wrapper
// level), so parameter names stay e.g. "conv0.weight" exactly as in PyTorch. Keep the AnyModule to call forward.
//
// Also here: the Keras initialisers the reference (Taleb et al., Keras/TF2) uses, a pad/crop helper for UNet skips
// and parameter counting.
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

/// "[2, 1, 32, 32]": a tensor's shape for error messages.
std::string shape_string(const torch::Tensor& x);

/// Throws medssl::Error unless dims is 2 or 3; `who` names the network/option in the message.
void check_spatial_dims(int dims, const std::string& who);

/// Conv{2,3}d with cubic kernel, stride and zero padding.
torch::nn::AnyModule make_conv(int dims, int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
                               int64_t padding = 0, bool bias = true);
/// ConvTranspose{2,3}d with cubic kernel and stride (no padding).
torch::nn::AnyModule make_conv_transpose(int dims, int64_t in_channels, int64_t out_channels, int64_t kernel,
                                         int64_t stride, bool bias = true);
/// BatchNorm{2,3}d (as SyncBatchNorm{2,3}d, which is exactly a BatchNorm unless a data-parallel run synchronises
/// batch statistics: sync_batch_norm.h). `momentum` is PyTorch's (= 1 - Keras momentum).
torch::nn::AnyModule make_batch_norm(int dims, int64_t features, double eps = 1e-5, double momentum = 0.1,
                                     bool affine = true);
/// InstanceNorm{2,3}d (no running statistics).
torch::nn::AnyModule make_instance_norm(int dims, int64_t features, bool affine = true, double eps = 1e-5);
/// GroupNorm over `groups` groups of channels (the same for 2D and 3D; no running statistics).
torch::nn::AnyModule make_group_norm(int64_t groups, int64_t features, bool affine = true, double eps = 1e-5);
/// MaxPool{2,3}d; floor mode like Keras "valid" pooling.
torch::nn::AnyModule make_max_pool(int dims, int64_t kernel, int64_t stride, int64_t padding = 0);
/// AvgPool{2,3}d; floor mode, padding not counted.
torch::nn::AnyModule make_avg_pool(int dims, int64_t kernel, int64_t stride, int64_t padding = 0);

/// Global pooling over all spatial axes to (N, C): mode "avg" or "max".
torch::Tensor global_pool(const torch::Tensor& x, const std::string& mode);

/// Nearest-neighbour upsampling by an integer factor on every spatial axis of an N,C,spatial tensor.
torch::Tensor upsample_nearest(const torch::Tensor& x, int64_t factor);

/// Zero-pads (at the high end) or crops (keeping the low end) every spatial axis of `x` to `spatial_sizes`.
/// Used where Keras floor pooling makes a skip connection one voxel larger than twice the deeper level.
torch::Tensor fit_spatial(const torch::Tensor& x, const std::vector<int64_t>& spatial_sizes);

// ------------------------------------------------------------------------------------------------ initialisers
// All act in place, without autograd, on a weight of shape (out, in, k...) (conv), (in, out, k...) (transposed conv)
// or (out, in) (linear). fan_in/fan_out follow PyTorch's convention.

/// TF2 `he_normal`: truncated normal (cut at 2 std) with std = sqrt(2 / fan_in) / 0.87962566103423978.
void he_normal_truncated_(torch::Tensor weight);
/// Keras `glorot_uniform` (= torch xavier_uniform_ with gain 1).
void glorot_uniform_(torch::Tensor weight);
/// Truncated normal N(0, std) cut at +-2 std (inverse-CDF sampling, like torch.nn.init.trunc_normal_).
void truncated_normal_(torch::Tensor tensor, double std);

/// Applies `init` to the "weight" of a module built by the factories above and zeros its "bias" (if any).
void init_weight_zero_bias(torch::nn::Module& module, void (*init)(torch::Tensor));
void init_weight_zero_bias(const torch::nn::AnyModule& module, void (*init)(torch::Tensor));

/// Number of scalar parameters (trainable only: requires_grad). Buffers (BN running stats) are never counted.
int64_t count_parameters(const torch::nn::Module& module, bool trainable_only = true);

}  // namespace medssl::models
