#include "medssl/tensor/fused_dropout.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>

#include "medssl/core/error.h"
#include "medssl/tensor/cpu_fast_paths.h"

namespace medssl {

namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

uint64_t mix(uint64_t x) {  // splitmix64's finaliser: a good 64-bit hash of a counter
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

// Elements [begin, end) of y = x * mask * scale, mask[i] = (32-bit draw i >= threshold). Two draws per hash.
void dropout_range(const float* x, float* y, uint8_t* mask, int64_t begin, int64_t end, uint64_t seed,
                   uint64_t threshold, float scale) {
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t h = mix(seed ^ (static_cast<uint64_t>(i >> 1) * 0xd6e8feb86659fd93ULL));
    const uint64_t draw = (i & 1) ? (h >> 32) : (h & 0xffffffffULL);
    const uint8_t keep = draw >= threshold ? 1 : 0;
    mask[i] = keep;
    y[i] = keep ? x[i] * scale : 0.0f;
  }
}

struct DropoutFunction : public torch::autograd::Function<DropoutFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& input, double p) {
    const Tensor x = input.contiguous();
    Tensor y = torch::empty_like(x, at::MemoryFormat::Contiguous);
    Tensor mask = torch::empty(x.sizes(), x.options().dtype(torch::kUInt8));
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    const auto threshold = static_cast<uint64_t>(std::llround(p * 4294967296.0));
    const uint64_t seed = draw_seed();
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    uint8_t* pm = mask.data_ptr<uint8_t>();
    // Each element's draw depends on its index only: the mask is the same however the range is split.
    at::parallel_for(0, x.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
      dropout_range(px, py, pm, begin, end, seed, threshold, scale);
    });
    ctx->save_for_backward({mask});
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return y.view(input.sizes());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const Tensor mask = ctx->get_saved_variables()[0];
    const float scale = static_cast<float>(ctx->saved_data["scale"].toDouble());
    const Tensor g = grads[0].contiguous();
    Tensor gx = torch::empty_like(g, at::MemoryFormat::Contiguous);
    const float* pg = g.data_ptr<float>();
    const uint8_t* pm = mask.data_ptr<uint8_t>();
    float* pgx = gx.data_ptr<float>();
    at::parallel_for(0, g.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) pgx[i] = pm[i] ? pg[i] * scale : 0.0f;
    });
    return {gx.view(mask.sizes()), Tensor()};
  }
};

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
  check(p >= 0.0 && p <= 1.0, "dropout probability must be in [0, 1], got {}", p);
  if (!training || p == 0.0 || x.numel() == 0) return x;
  if (p == 1.0 || !fast_cpu_tensor(x)) return torch::dropout(x, p, training);
  return DropoutFunction::apply(x, p);
}

}  // namespace medssl
