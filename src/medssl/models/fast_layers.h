#pragma once
// Forward calls of LibTorch layer modules through medssl's fast CPU paths (tensor/cpu_fast_paths.h), for the networks'
// forward functions: the module (its parameters, their names, initialisation, state dicts) stays LibTorch's own;
// only the computation of its output changes. Each falls back to the module's own forward when no fast path applies.
#include "medssl/core/torch_pch.h"

namespace medssl::models {

/// fc->forward(x) (y = x W^T + b) through medssl::linear.
torch::Tensor linear_forward(const torch::nn::Linear& fc, const torch::Tensor& x);

/// The forward of a ConvTranspose{2,3}d built by make_conv_transpose (never padded) held in `conv`: through
/// medssl::conv_transpose_patch when its stride equals its kernel and it has no output padding, dilation or groups;
/// conv.forward(x) otherwise.
torch::Tensor conv_transpose_forward(torch::nn::AnyModule& conv, const torch::Tensor& x);

/// The forward of a Conv{2,3}d built by make_conv(dims, in, out, kernel, stride, `padding`) held in `conv`, through
/// medssl::convolution (oneDNN also for the batches of one LibTorch would run on its reference BLAS). `padding` is the
/// one the module was built with: its option is a variant whose type differs between LibTorch versions, so it is not
/// read back. Dilated or grouped convolutions run conv.forward(x).
torch::Tensor conv_forward(torch::nn::AnyModule& conv, const torch::Tensor& x, int64_t padding);

/// A Sequential's forward with its Linear layers through linear_forward (the other layers run as they are).
torch::Tensor sequential_forward(torch::nn::Sequential layers, torch::Tensor x);

}  // namespace medssl::models
