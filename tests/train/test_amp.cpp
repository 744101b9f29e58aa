// The mixed-precision pieces that do not need a GPU: mode parsing, the autocast scope's enable/restore, and fp16
// dynamic loss scaling (unscale, skip on overflow, halve, grow), on CPU tensors.
#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "medssl/core/error.h"
#include "medssl/train/amp.h"

namespace medssl::train {
namespace {

bool cuda_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

TEST(Amp, ModesParseAndUnknownOnesAreErrors) {
  EXPECT_EQ(parse_amp_mode("none"), AmpMode::none);
  EXPECT_EQ(parse_amp_mode(""), AmpMode::none);
  EXPECT_EQ(parse_amp_mode("bf16"), AmpMode::bf16);
  EXPECT_EQ(parse_amp_mode("fp16"), AmpMode::fp16);
  EXPECT_EQ(to_string(AmpMode::bf16), "bf16");
  EXPECT_THROW(parse_amp_mode("fp8"), Error);
}

TEST(Amp, AutocastScopeEnablesCudaAutocastAndRestoresIt) {
  ASSERT_FALSE(cuda_autocast_enabled());
  {
    AutocastScope none(AmpMode::none);
    EXPECT_FALSE(cuda_autocast_enabled());
  }
  {
    AutocastScope bf16(AmpMode::bf16);
    EXPECT_TRUE(cuda_autocast_enabled());
    {
      AutocastScope nested(AmpMode::fp16);
      EXPECT_TRUE(cuda_autocast_enabled());
    }
    EXPECT_TRUE(cuda_autocast_enabled());  // the inner scope restores the outer one's state
  }
  EXPECT_FALSE(cuda_autocast_enabled());
}

TEST(Amp, LossScalerUnscalesSkipsOverflowsHalvesAndGrows) {
  EXPECT_THROW(LossScaler(0.0), Error);
  LossScaler scaler(1024.0, /*growth_interval=*/2);
  auto w = torch::zeros({3}, torch::requires_grad());
  auto unused = torch::zeros({2}, torch::requires_grad());  // no gradient: skipped
  (w * torch::tensor({1.0f, 2.0f, 3.0f})).sum().mul(scaler.scale()).backward();
  EXPECT_TRUE(scaler.unscale({w, unused}));
  EXPECT_TRUE(torch::allclose(w.grad(), torch::tensor({1.0f, 2.0f, 3.0f})));
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 1024.0);  // one good step of two
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 2048.0);  // two good steps in a row: doubled

  w.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  EXPECT_FALSE(scaler.unscale({w}));  // an overflow: the step must be skipped
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 1024.0);
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 1024.0);  // the good-step count restarted after the overflow
  w.mutable_grad() = torch::tensor({std::nanf(""), 0.0f, 0.0f});
  EXPECT_FALSE(scaler.unscale({w}));
  for (int i = 0; i < 20; ++i) scaler.update(true);
  EXPECT_EQ(scaler.scale(), 1.0);  // never below 1
}

}  // namespace
}  // namespace medssl::train
