// The CUDA generator states in checkpoints: stored only where CUDA is available, so CPU checkpoints keep the format
// older medssl versions wrote and read; where CUDA exists, a restored state replays the same GPU random numbers.
#include <gtest/gtest.h>

#include "medssl/train/checkpoint.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

TEST(CheckpointCudaRng, CheckpointStoresOneStatePerCudaDeviceAndNoneWithoutCuda) {
  testkit::TempDir dir;
  testing::TinyNet net;
  save_checkpoint(dir.file("ck.pt"), *net, nullptr, TrainingState{});
  Checkpoint ck = read_checkpoint_state(dir.file("ck.pt"));
  const size_t devices = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
  EXPECT_EQ(ck.torch_cuda_rng_states.size(), devices);
  EXPECT_EQ(capture_torch_cuda_rng().size(), devices);
  testing::TinyNet other;
  EXPECT_NO_THROW(load_checkpoint(dir.file("ck.pt"), *other, nullptr));  // with or without the CUDA entries
}

TEST(CheckpointCudaRng, RestoredStateReplaysCudaRandomNumbers) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  testkit::TempDir dir;
  testing::TinyNet net;
  torch::rand({4}, torch::Device(torch::kCUDA));
  save_checkpoint(dir.file("ck.pt"), *net, nullptr, TrainingState{});
  auto expected = torch::rand({8}, torch::Device(torch::kCUDA)).cpu();
  torch::rand({100}, torch::Device(torch::kCUDA));  // move the generator on
  restore_torch_cuda_rng(read_checkpoint_state(dir.file("ck.pt")).torch_cuda_rng_states);
  EXPECT_TRUE(torch::equal(torch::rand({8}, torch::Device(torch::kCUDA)).cpu(), expected));
}

TEST(CheckpointCudaRng, RestoringCudaStatesWithoutCudaOnlyWarns) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "needs a machine without CUDA";
  EXPECT_NO_THROW(restore_torch_cuda_rng({torch::zeros({16}, torch::kUInt8)}));
  EXPECT_NO_THROW(restore_torch_cuda_rng({}));
  EXPECT_TRUE(capture_torch_cuda_rng().empty());
}

}  // namespace
}  // namespace medssl::train
