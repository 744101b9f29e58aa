#pragma once
// Linear layers and batched matrix products through oneDNN's sgemm when use_onednn_gemm() says so (cpu_fast_paths.h),
// with their own autograd backward (two more sgemm calls); LibTorch's torch::linear / torch::matmul otherwise.
// Same results as LibTorch's to float rounding (tests/tensor/test_fast_paths.cpp compares values and gradients).
// Not twice differentiable on the fast path.
#include "medssl/core/torch_pch.h"

namespace medssl {

/// torch::linear: x (..., in) -> (..., out) with weight (out, in) and an optional bias (out).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

/// op(a) x op(b) over matching leading (batch) dimensions: a (..., n, k) or, transposed, (..., k, n); b (..., k, m)
/// or, transposed, (..., m, k). Result (..., n, m), contiguous. E.g. attention scores q k^T = matmul(q, k, false, true).
torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b, bool transpose_a = false,
                     bool transpose_b = false);

}  // namespace medssl
