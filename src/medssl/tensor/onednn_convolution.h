#pragma once
// A convolution (2D or 3D, one group, no dilation) of a batch of one on oneDNN when use_onednn_convolution() holds
// (cpu_fast_paths.h). LibTorch 1.13 picks oneDNN only for some shapes: a batch of one 3x3(x3) kernel whose
// N * C * D * H is at most 20480 (e.g. (1, 8, 32, 32, 32): every case of a validation, a test or a sliding window
// with one window per forward) goes to slow_conv3d, im2col plus the reference netlib BLAS, about 10x slower than
// oneDNN on the same cores (measured on 32^3 phantoms: a test case's forward 0.25 s -> under 0.03 s, docs/study.md).
// Training batches of two or more already took oneDNN, so training and inference now run the same kernel.
// Otherwise LibTorch's conv2d / conv3d runs. Autograd flows through both.
#include <cstdint>

#include "medssl/core/torch_pch.h"

namespace medssl {

/// conv{2,3}d(x, weight, bias, stride, padding) with the same stride and zero padding on every spatial axis.
torch::Tensor convolution(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                          int64_t stride, int64_t padding);

}  // namespace medssl
