#pragma once
// The cache's on-disk tensor format: a 64-byte little-endian header followed by the raw C-contiguous payload.
// Chosen over torch::save because it reads with one fread (no unpickling), is trivially documented
// (docs/cache-format.md), and carries a CRC-32 of the payload so a damaged or half-copied cache is detected.
//
//   offset  size  field
//   0       8     magic "MSSLTNSR"
//   8       4     format version (1)
//   12      4     dtype code (0 uint8, 1 int16, 2 float16, 3 float32)
//   16      4     ndim (1..6)
//   20      4     CRC-32 (zlib) of the payload
//   24      40    dims, int64 x 5 (unused = 0; ndim 6 is not supported -> ndim <= 5)
//   64      ...   payload (product(dims) * sizeof(dtype) bytes)
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::cache {

/// Writes a CPU tensor (uint8, int16, float16 or float32) atomically. Throws medssl::Error naming the path.
void write_tensor_file(const std::string& path, const torch::Tensor& tensor);

/// Reads a tensor written by write_tensor_file, verifying magic, version, sizes and CRC; errors name the path.
torch::Tensor read_tensor_file(const std::string& path);

}  // namespace medssl::cache
