#pragma once
// The one limit on how much memory a single input file may make medssl allocate. A hostile or damaged header can
// claim any size (a NIfTI of 30000^3 voxels in 400 bytes, a 16384 x 16384 JPEG in 2 KB); readers check the decoded
// size against this limit before allocating anything, so such a file is an error naming it, never an out-of-memory
// kill. Default 16 GiB; the environment variable MEDSSL_MAX_ALLOC sets it ("512M", "8G", "1073741824").
#include <cstdint>
#include <string>

namespace medssl {

/// The default limit: 16 GiB, far above any CT or MR volume as float32 (a 1024^3 volume is 4 GiB).
constexpr uint64_t kDefaultMaxAllocBytes = uint64_t{16} << 30;

/// The current limit: MEDSSL_MAX_ALLOC if set, else kDefaultMaxAllocBytes. Throws medssl::Error if the variable is
/// set but not a size. Read on every call, so tests and embedding programs may change it.
uint64_t max_alloc_bytes();

/// Parses "123" (bytes) or a number with a K, M, G or T suffix (powers of 1024, optional trailing "B" or "iB").
/// Throws medssl::Error naming `what` for anything else, for 0 and for sizes that overflow 64 bits.
uint64_t parse_byte_size(const std::string& text, const std::string& what);

/// Throws medssl::Error naming `file` unless `bytes` <= `limit`; the message says what needed the memory and how to
/// raise the limit.
void check_alloc(uint64_t bytes, uint64_t limit, const std::string& file, const std::string& what);

}  // namespace medssl
