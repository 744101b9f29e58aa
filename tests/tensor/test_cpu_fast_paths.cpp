// medssl's fast CPU paths (tensor/cpu_fast_paths.h) compute the same functions as the LibTorch operations they
// replace: values and gradients against LibTorch's own, for every layout the networks use; and the caching allocator
// serves freed blocks again, including through the raw interface oneDNN uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include <c10/core/CPUAllocator.h>

#include "medssl/tensor/caching_cpu_allocator.h"
#include "medssl/tensor/cpu_fast_paths.h"
#include "medssl/tensor/fused_dropout.h"
#include "medssl/tensor/onednn_convolution.h"
#include "medssl/tensor/onednn_gemm.h"
#include "medssl/tensor/patch_conv_transpose.h"
#include "medssl/tensor/threads.h"

using namespace medssl;
using torch::Tensor;

namespace {

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double scale = std::max(1.0, want.abs().max().item<double>());
  EXPECT_LE((got - want).abs().max().item<double>(), tol * scale) << what;
}

// Runs f on fresh leaf copies of `inputs` with the fast paths on and off; compares outputs and input gradients.
template <typename F>
void expect_same_as_libtorch(F f, const std::vector<Tensor>& inputs, double tol, const std::string& what) {
  std::vector<Tensor> outs, grads[2];
  for (int fast = 1; fast >= 0; --fast) {
    set_fast_cpu_paths(fast == 1);
    std::vector<Tensor> leaves;
    for (const auto& t : inputs) leaves.push_back(t.defined() ? t.detach().clone().requires_grad_(true) : t);
    Tensor out = f(leaves);
    // A fixed random projection of the output as the loss, so every output element gets its own gradient.
    torch::manual_seed(7);
    (out * torch::randn_like(out)).sum().backward();
    outs.push_back(out.detach());
    for (const auto& l : leaves) grads[fast].push_back(l.defined() ? l.grad() : Tensor());
  }
  set_fast_cpu_paths(true);
  expect_close(outs[0], outs[1], tol, what + " output");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) expect_close(grads[1][i], grads[0][i], tol, what + " gradient of input " + std::to_string(i));
}

}  // namespace

TEST(CpuFastPaths, LinearMatchesTorchLinearWithAndWithoutBias) {
  const Tensor x = torch::randn({3, 5, 37}), w = torch::randn({19, 37}), b = torch::randn({19});
  if (!use_onednn_gemm(x)) GTEST_SKIP() << "no oneDNN GEMM path in this build (MKL LibTorch or no libdnnl)";
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return medssl::linear(t[0], t[1], t[2]); }, {x, w, b},
                          1e-4, "linear");
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return medssl::linear(t[0], t[1]); }, {x, w}, 1e-4,
                          "linear without bias");
  // An input that needs no gradient (a network's first layer) skips that product; the result is unchanged.
  set_fast_cpu_paths(true);
  const Tensor wl = w.clone().requires_grad_(true);
  medssl::linear(x, wl, b).sum().backward();
  set_fast_cpu_paths(false);
  const Tensor wr = w.clone().requires_grad_(true);
  torch::linear(x, wr, b).sum().backward();
  set_fast_cpu_paths(true);
  expect_close(wl.grad(), wr.grad(), 1e-4, "weight gradient");
}

TEST(CpuFastPaths, BatchedMatmulMatchesTorchMatmulForEveryTransposeAndStridedViews) {
  if (!use_onednn_gemm(torch::ones({1}))) GTEST_SKIP() << "no oneDNN GEMM path in this build";
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Tensor a = ta ? torch::randn({2, 3, 11, 7}) : torch::randn({2, 3, 7, 11});
      const Tensor b = tb ? torch::randn({2, 3, 13, 11}) : torch::randn({2, 3, 11, 13});
      expect_same_as_libtorch([ta, tb](const std::vector<Tensor>& t) { return medssl::matmul(t[0], t[1], ta, tb); },
                              {a, b}, 1e-4, "matmul ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
    }
  }
  // Attention's operands: heads of a permuted (B, N, 3, heads, d) tensor, read in place.
  expect_same_as_libtorch(
      [](const std::vector<Tensor>& t) {
        auto qkv = t[0].view({2, 9, 3, 4, 5}).permute({2, 0, 3, 1, 4});
        return medssl::matmul(medssl::matmul(qkv[0], qkv[1], false, true).softmax(-1), qkv[2]);
      },
      {torch::randn({2, 9, 60})}, 1e-4, "attention");
  EXPECT_THROW(medssl::matmul(torch::randn({2, 3}), torch::randn({4, 5})), std::exception);
}

TEST(CpuFastPaths, PatchTransposedConvolutionMatchesConvTranspose) {
  if (!use_onednn_convolution(torch::ones({1}))) GTEST_SKIP() << "no oneDNN convolution path in this build";
  const Tensor x3 = torch::randn({2, 6, 3, 4, 5}), w3 = torch::randn({6, 4, 2, 2, 2}), b3 = torch::randn({4});
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return conv_transpose_patch(t[0], t[1], t[2]); },
                          {x3, w3, b3}, 1e-4, "3D, kernel 2");
  const Tensor x2 = torch::randn({1, 3, 5, 4}), w2 = torch::randn({3, 2, 3, 3});
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return conv_transpose_patch(t[0], t[1], Tensor()); },
                          {x2, w2}, 1e-4, "2D, kernel 3, no bias");
  // The LibTorch reference itself: stride == kernel.
  set_fast_cpu_paths(true);
  expect_close(conv_transpose_patch(x3, w3, b3), torch::conv_transpose3d(x3, w3, b3, {2, 2, 2}), 1e-4, "reference");
}

TEST(CpuFastPaths, ConvolutionMatchesLibTorchAlsoForTheBatchesOfOneItRunsOnItsBlas) {
  if (!use_onednn_convolution(torch::ones({1}))) GTEST_SKIP() << "no oneDNN convolution path in this build";
  // (1, 8, 12^3): N * C * D * H = 1152, the shape class LibTorch 1.13 sends to slow_conv3d.
  const Tensor x3 = torch::randn({1, 8, 12, 12, 12}), w3 = torch::randn({6, 8, 3, 3, 3}), b3 = torch::randn({6});
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return medssl::convolution(t[0], t[1], t[2], 1, 1); },
                          {x3, w3, b3}, 1e-4, "3D, batch 1, 3x3x3, padding 1");
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return medssl::convolution(t[0], t[1], Tensor(), 2, 0); },
                          {torch::randn({2, 3, 9, 8, 7}), torch::randn({4, 3, 3, 3, 3})}, 1e-4, "3D, stride 2, no bias");
  expect_same_as_libtorch([](const std::vector<Tensor>& t) { return medssl::convolution(t[0], t[1], t[2], 1, 0); },
                          {torch::randn({1, 5, 7, 9}), torch::randn({3, 5, 1, 1}), torch::randn({3})}, 1e-4,
                          "2D, 1x1 head");
  set_fast_cpu_paths(true);
  expect_close(medssl::convolution(x3, w3, b3, 1, 1), torch::conv3d(x3, w3, b3, 1, 1), 1e-4, "reference");
  // A channels-last input gives the same values.
  const Tensor x2 = torch::randn({1, 4, 10, 11}), w2 = torch::randn({5, 4, 3, 3});
  expect_close(medssl::convolution(x2.contiguous(torch::MemoryFormat::ChannelsLast), w2, Tensor(), 1, 1),
               torch::conv2d(x2, w2, Tensor(), 1, 1), 1e-4, "channels-last input");
}

TEST(CpuFastPaths, FusedDropoutIsDropoutWithAByteMask) {
  const Tensor x = torch::rand({64, 1000}) + 1.0;  // no zeros, so a dropped element is recognisable
  torch::manual_seed(3);
  const Tensor a = x.clone().requires_grad_(true);
  const Tensor y = medssl::dropout(a, 0.3, true);
  const Tensor kept = y != 0;
  EXPECT_NEAR(kept.to(torch::kFloat64).mean().item<double>(), 0.7, 0.01);
  expect_close(y.masked_select(kept), (x / 0.7).masked_select(kept), 1e-6, "kept values scaled by 1 / (1 - p)");
  y.sum().backward();
  expect_close(a.grad(), kept.to(torch::kFloat32) / 0.7, 1e-6, "gradient = mask / (1 - p)");
  // Seeded like torch: the same seed gives the same mask, whatever the thread count.
  const int threads = torch_threads();
  set_torch_threads(1);
  torch::manual_seed(3);
  const Tensor one_thread = medssl::dropout(x, 0.3, true);
  set_torch_threads(threads);
  EXPECT_TRUE(torch::equal(one_thread, y.detach()));
  EXPECT_TRUE(torch::equal(medssl::dropout(x, 0.3, false), x));  // eval: identity
  EXPECT_TRUE(torch::equal(medssl::dropout(x, 0.0, true), x));
  EXPECT_THROW(medssl::dropout(x, 1.5, true), std::exception);
}

TEST(CpuFastPaths, CachingAllocatorReusesLargeBlocksAndServesTheRawInterface) {
  ASSERT_TRUE(install_caching_cpu_allocator());
  ASSERT_TRUE(caching_cpu_allocator_installed());
  { Tensor warm = torch::ones({3 << 20}); }  // 12 MiB, freed into the cache
  const auto before = caching_cpu_allocator_stats();
  EXPECT_GE(before.cached_bytes, int64_t{12} << 20);
  Tensor again = torch::zeros({3 << 20});
  EXPECT_EQ(caching_cpu_allocator_stats().hits, before.hits + 1);
  EXPECT_EQ(again.sum().item<double>(), 0.0);  // a reused block is still initialised by the operation
  // oneDNN allocates through raw_allocate / raw_deallocate, which pass only the data pointer.
  c10::Allocator* allocator = c10::GetCPUAllocator();
  ASSERT_NE(allocator->raw_deleter(), nullptr);
  for (size_t bytes : {size_t{100}, size_t{5} << 20}) {
    void* p = allocator->raw_allocate(bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    std::memset(p, 1, bytes);
    allocator->raw_deallocate(p);
  }
  // A whole training-sized workload: a convolution forward and backward on the caching allocator.
  const Tensor w = torch::randn({4, 2, 3, 3, 3}, torch::requires_grad());
  torch::conv3d(torch::randn({2, 2, 40, 40, 40}), w, {}, 1, 1).sum().backward();
  EXPECT_TRUE(w.grad().isfinite().all().item<bool>());
  release_cached_cpu_memory();
  EXPECT_EQ(caching_cpu_allocator_stats().cached_bytes, 0);
}

TEST(CpuFastPaths, CachingAllocatorTrimsCachedBlocksThatWouldRaiseTheFootprintAboveItsHighWaterMark) {
  const char* trim = std::getenv("MEDSSL_CPU_CACHE_TRIM");
  if (trim != nullptr && std::string(trim) == "0") GTEST_SKIP() << "MEDSSL_CPU_CACHE_TRIM=0 turns the trim off";
  ASSERT_TRUE(install_caching_cpu_allocator());
  release_cached_cpu_memory();
  const int64_t peak = caching_cpu_allocator_stats().peak_in_use_bytes;
  ASSERT_LT(peak, int64_t{256} << 20) << "this test sizes its blocks relative to the process's high-water mark";
  // A small block is cached; then a request more than twice its size and twice the high-water mark misses. Keeping the
  // small block would put in-use + cached above the mark (plus its 1/16 slack), so the miss releases it first.
  const int64_t small_floats = 2 << 20;  // 8 MiB
  const int64_t large_floats = std::max<int64_t>(8 << 20, peak / 2 + (1 << 20));  // >= 2 x peak bytes, >= 32 MiB
  { Tensor small = torch::ones({small_floats}); }
  const auto cached = caching_cpu_allocator_stats();
  ASSERT_GE(cached.cached_bytes, small_floats * 4);
  {
    Tensor large = torch::ones({large_floats});
    const auto after_miss = caching_cpu_allocator_stats();
    EXPECT_EQ(after_miss.misses, cached.misses + 1);
    EXPECT_GT(after_miss.trimmed, cached.trimmed);
    EXPECT_EQ(after_miss.cached_bytes, 0);
    EXPECT_GE(after_miss.peak_in_use_bytes, large_floats * 4);
  }
  // The steady state of a training loop: the same size again is a hit and trims nothing.
  const auto cached_large = caching_cpu_allocator_stats();
  EXPECT_GE(cached_large.cached_bytes, large_floats * 4);
  {
    Tensor again = torch::zeros({large_floats});
    const auto after_hit = caching_cpu_allocator_stats();
    EXPECT_EQ(after_hit.hits, cached_large.hits + 1);
    EXPECT_EQ(after_hit.trimmed, cached_large.trimmed);
  }
  release_cached_cpu_memory();
}
