#include "medssl/tensor/cpu_fast_paths.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "medssl/tensor/dnnl_config.h"

namespace medssl {

namespace {
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> enabled{[] {
    const char* v = std::getenv("MEDSSL_FAST_CPU_KERNELS");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }()};
  return enabled;
}

// ATen's BLAS: with MKL its own GEMMs and convolutions are fast, and the fast paths stay out of the way.
bool aten_lacks_mkl() {
  static const bool lacks = !at::hasMKL();
  return lacks;
}
}  // namespace

void set_fast_cpu_paths(bool enabled) { enabled_flag() = enabled; }
bool fast_cpu_paths_enabled() { return enabled_flag().load(); }

bool fast_cpu_tensor(const torch::Tensor& t) {
  return enabled_flag().load() && t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 &&
         !t.is_mkldnn() && !t.is_sparse();
}

bool use_onednn_gemm(const torch::Tensor& t) { return MEDSSL_HAVE_DNNL && aten_lacks_mkl() && fast_cpu_tensor(t); }

bool use_onednn_convolution(const torch::Tensor& t) {
  static const bool mkldnn = at::hasMKLDNN();
  return mkldnn && aten_lacks_mkl() && fast_cpu_tensor(t);
}

}  // namespace medssl
