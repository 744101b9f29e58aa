#include "medssl/data/cache/tensor_file.h"

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"

namespace medssl::cache {
namespace {

constexpr char kMagic[8] = {'M', 'S', 'S', 'L', 'T', 'N', 'S', 'R'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 64;
constexpr int kMaxDims = 5;

uint32_t dtype_code(torch::ScalarType t) {
  switch (t) {
    case torch::kUInt8: return 0;
    case torch::kInt16: return 1;
    case torch::kFloat16: return 2;
    case torch::kFloat32: return 3;
    default: fail("cache tensors must be uint8, int16, float16 or float32, got {}", c10::toString(t));
  }
}

torch::ScalarType dtype_from_code(uint32_t code, const std::string& path) {
  switch (code) {
    case 0: return torch::kUInt8;
    case 1: return torch::kInt16;
    case 2: return torch::kFloat16;
    case 3: return torch::kFloat32;
    default: fail("{}: corrupt cache tensor (unknown dtype code {})", path, code);
  }
}

uint32_t crc_of(const void* data, size_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {  // zlib's length argument is 32-bit
    uInt chunk = static_cast<uInt>(std::min<size_t>(bytes, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

void write_tensor_file(const std::string& path, const torch::Tensor& tensor_in) {
  check(tensor_in.dim() >= 1 && tensor_in.dim() <= kMaxDims, "{}: cache tensors have 1..{} dims, got {}", path, kMaxDims,
        tensor_in.dim());
  torch::Tensor t = tensor_in.to(torch::kCPU).contiguous();
  const size_t payload = static_cast<size_t>(t.numel()) * t.element_size();
  std::string bytes(kHeaderBytes + payload, '\0');
  char* h = bytes.data();
  std::memcpy(h, kMagic, 8);
  uint32_t fields[4] = {kVersion, dtype_code(t.scalar_type()), static_cast<uint32_t>(t.dim()), crc_of(t.data_ptr(), payload)};
  std::memcpy(h + 8, fields, sizeof(fields));
  int64_t dims[kMaxDims] = {0, 0, 0, 0, 0};
  for (int64_t i = 0; i < t.dim(); ++i) dims[i] = t.size(i);
  std::memcpy(h + 24, dims, sizeof(dims));
  std::memcpy(h + kHeaderBytes, t.data_ptr(), payload);
  write_file_atomic(path, bytes);
}

torch::Tensor read_tensor_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail("cannot open cache tensor '{}': {}", path, std::strerror(errno));
  char h[kHeaderBytes];
  if (std::fread(h, 1, kHeaderBytes, f.get()) != kHeaderBytes) fail("{}: truncated cache tensor (header)", path);
  if (std::memcmp(h, kMagic, 8) != 0) fail("{}: not a medssl cache tensor (bad magic)", path);
  uint32_t fields[4];
  std::memcpy(fields, h + 8, sizeof(fields));
  if (fields[0] != kVersion) fail("{}: cache tensor format version {} (this medssl reads {}); rerun medssl prepare", path, fields[0], kVersion);
  auto dtype = dtype_from_code(fields[1], path);
  uint32_t ndim = fields[2];
  if (ndim < 1 || ndim > kMaxDims) fail("{}: corrupt cache tensor (ndim {})", path, ndim);
  int64_t dims[kMaxDims];
  std::memcpy(dims, h + 24, sizeof(dims));
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (uint32_t i = 0; i < ndim; ++i) {
    if (dims[i] <= 0 || dims[i] > (int64_t{1} << 31) || numel > (int64_t{1} << 40) / dims[i])
      fail("{}: corrupt cache tensor (dimension {} = {})", path, i, dims[i]);
    numel *= dims[i];
    shape.push_back(dims[i]);
  }
  // A damaged header must not make us allocate what the file cannot hold: compare with the file's size first.
  const size_t payload = static_cast<size_t>(numel) * c10::elementSize(dtype);
  std::error_code ec;
  const uintmax_t file_bytes = std::filesystem::file_size(path, ec);
  if (ec || file_bytes != kHeaderBytes + payload)
    fail("{}: {} cache tensor (header declares {} payload bytes, the file holds {}); rerun medssl prepare", path,
         !ec && file_bytes < kHeaderBytes + payload ? "truncated" : "corrupt", payload,
         ec ? 0 : file_bytes - std::min<uintmax_t>(file_bytes, kHeaderBytes));
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  if (std::fread(t.data_ptr(), 1, payload, f.get()) != payload) fail("{}: truncated cache tensor (payload)", path);
  if (std::fgetc(f.get()) != EOF) fail("{}: corrupt cache tensor (trailing bytes)", path);
  if (crc_of(t.data_ptr(), payload) != fields[3]) fail("{}: cache tensor checksum mismatch (file damaged); rerun medssl prepare", path);
  return t;
}

}  // namespace medssl::cache
