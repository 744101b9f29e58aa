#pragma once
// A transposed convolution whose kernel equals its stride (no padding, one group): the UNet and UNETR upsampling
// layers. Then the output blocks do not overlap, and
//   y[n, o, k*d + a, k*h + b, k*w + c] = bias[o] + sum_i x[n, i, d, h, w] * W[i, o, a, b, c]
// is a 1x1 convolution to out * k^dims channels followed by a voxel shuffle. With use_onednn_convolution()
// (cpu_fast_paths.h) the 1x1 convolution runs on oneDNN; LibTorch 1.13 would run the transposed convolution through
// vol2col and its BLAS instead (measured ~4x slower forward + backward). Autograd flows through both parts.
// Otherwise (or for another kernel/stride) LibTorch's conv_transpose2d/3d runs.
#include <cstdint>

#include "medssl/core/torch_pch.h"

namespace medssl {

/// x (N, in, spatial...) 2D or 3D, weight (in, out, k, k[, k]), optional bias (out): conv_transpose with
/// stride == kernel size k on every axis.
torch::Tensor conv_transpose_patch(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

}  // namespace medssl
