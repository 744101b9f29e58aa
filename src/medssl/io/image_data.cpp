#include "medssl/io/image_data.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "medssl/core/error.h"

namespace medssl::io {
namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  int bytes;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::uint8, "uint8", 1},   {DType::int8, "int8", 1},       {DType::int16, "int16", 2},
    {DType::uint16, "uint16", 2}, {DType::int32, "int32", 4},     {DType::uint32, "uint32", 4},
    {DType::int64, "int64", 8},   {DType::float32, "float32", 4}, {DType::float64, "float64", 8},
};

const DTypeInfo& info(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  fail("internal error: unknown DType {}", static_cast<int>(t));
}

}  // namespace

std::string dtype_name(DType t) { return info(t).name; }

int dtype_bytes(DType t) { return info(t).bytes; }

DType dtype_from_name(const std::string& name) {
  std::string valid;
  for (const auto& d : kDTypes) {
    if (name == d.name) return d.type;
    valid += valid.empty() ? "" : ", ";
    valid += d.name;
  }
  fail("unknown data type '{}' (valid: {})", name, valid);
}

ImageStats compute_stats(const ImageData& image) {
  ImageStats stats;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
  int64_t finite = 0;
  for (float v : image.data) {
    if (!std::isfinite(v)) {
      ++stats.non_finite;
      continue;
    }
    lo = std::min(lo, static_cast<double>(v));
    hi = std::max(hi, static_cast<double>(v));
    sum += v;
    ++finite;
  }
  if (finite > 0) {
    stats.min = lo;
    stats.max = hi;
    stats.mean = sum / static_cast<double>(finite);
  } else {
    // No finite value: report NaN rather than a made-up 0 so that callers cannot mistake it for real data.
    stats.min = stats.max = stats.mean = std::numeric_limits<double>::quiet_NaN();
  }
  return stats;
}

}  // namespace medssl::io
