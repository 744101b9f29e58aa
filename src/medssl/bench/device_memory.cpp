#include "medssl/bench/device_memory.h"

#include <optional>

#include "medssl/core/error.h"

#if MEDSSL_HAVE_C10_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace medssl::bench {

torch::Device bench_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    fail("bench: --device '{}' is not valid (use cpu, cuda or cuda:N)", name);
  }
  check(!device->is_cuda() || torch::cuda::is_available(), "bench: --device {} requested but CUDA is not available", name);
  return *device;
}

void reset_device_peak(const torch::Device& device) {
#if MEDSSL_HAVE_C10_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#else
  (void)device;
#endif
}

double device_peak_mb(const torch::Device& device) {
#if MEDSSL_HAVE_C10_CUDA
  if (!device.is_cuda()) return 0.0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
  // StatType::AGGREGATE is index 0 in every LibTorch version that has these statistics.
  return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
#else
  (void)device;
  return 0.0;
#endif
}

}  // namespace medssl::bench
