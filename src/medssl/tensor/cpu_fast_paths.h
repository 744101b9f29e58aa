#pragma once
// When medssl's own CPU implementations replace LibTorch's for an operation (the "fast paths").
//
// Why they exist: Debian's LibTorch 1.13 runs float32 GEMMs (Linear layers, matmul, transposed convolutions via
// vol2col) on the reference netlib BLAS at ~2 GFLOP/s, while the oneDNN library it ships computes the same products at
// 20-80 GFLOP/s on the same cores (measured, bench/RESULTS.md); dropout draws its mask with a serial generator and keeps
// it as float32. The fast paths are: linear / batched matmul through oneDNN's sgemm (onednn_gemm.h), transposed
// convolutions with kernel == stride as a 1x1 oneDNN convolution plus a voxel shuffle (patch_conv_transpose.h), and a
// fused dropout with a one-byte mask (fused_dropout.h). Each computes the same function as the LibTorch operation
// (to float rounding) with its own autograd backward.
//
// They apply to float32 CPU tensors only, and only where they help: the GEMM and convolution paths when this LibTorch
// has oneDNN but no MKL (with MKL, LibTorch's own kernels are already fast). MEDSSL_FAST_CPU_KERNELS=0 in the
// environment, or set_fast_cpu_paths(false), turns all of them off (e.g. to measure what they bring).
#include "medssl/core/torch_pch.h"

namespace medssl {

void set_fast_cpu_paths(bool enabled);
bool fast_cpu_paths_enabled();

/// A float32 CPU tensor and the fast paths are on.
bool fast_cpu_tensor(const torch::Tensor& t);
/// fast_cpu_tensor(t), and this build has oneDNN's GEMM (libdnnl) while LibTorch's BLAS is not MKL.
bool use_onednn_gemm(const torch::Tensor& t);
/// fast_cpu_tensor(t), and LibTorch has oneDNN convolutions but no MKL.
bool use_onednn_convolution(const torch::Tensor& t);

}  // namespace medssl
