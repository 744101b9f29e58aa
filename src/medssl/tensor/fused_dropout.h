#pragma once
// Dropout in one pass, with a one-byte mask kept for the backward pass (cpu_fast_paths.h): the same function as
// torch::dropout (each element zeroed with probability p, the others scaled by 1 / (1 - p)), 4x less memory held for
// backward than LibTorch's float32 mask, and the mask drawn in parallel.
//
// Randomness: one 64-bit seed per call from LibTorch's default CPU generator (so torch::manual_seed still makes runs
// repeatable), then a counter-based hash of (seed, element index): the mask does not depend on the thread count.
// Each element keeps with probability (1 - p) to 2^-32.
// Non-float32 or non-CPU tensors, or the fast paths off, use torch::dropout.
#include "medssl/core/torch_pch.h"

namespace medssl {

torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

}  // namespace medssl
