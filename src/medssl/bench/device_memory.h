#pragma once
// Peak memory of the CUDA caching allocator, where this LibTorch has CUDA (MEDSSL_HAVE_C10_CUDA, set by CMake when
// LibTorch ships c10_cuda); elsewhere both functions do nothing and report 0.
#include "medssl/core/torch_pch.h"

namespace medssl::bench {

/// Resets the peak statistics of `device` (no-op on CPU devices or CPU-only builds).
void reset_device_peak(const torch::Device& device);
/// Peak bytes allocated on `device` since the last reset, in MiB; 0 on CPU devices or CPU-only builds.
double device_peak_mb(const torch::Device& device);

}  // namespace medssl::bench

namespace medssl::bench {

/// The device named by `name` ("cpu", "cuda", "cuda:N"); medssl::Error for a malformed name or a CUDA device on a
/// machine without CUDA.
torch::Device bench_device(const std::string& name);

}  // namespace medssl::bench
