// set_torch_threads / torch_threads.
#include <gtest/gtest.h>

#include <thread>

#include "medssl/core/error.h"
#include "medssl/tensor/threads.h"

namespace medssl {
namespace {

TEST(TorchThreads, SetGetAndAllCores) {
  const int original = torch_threads();
  set_torch_threads(1);
  EXPECT_EQ(torch_threads(), 1);
  set_torch_threads(0);
  EXPECT_EQ(torch_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_THROW(set_torch_threads(-2), Error);
  set_torch_threads(original);
  EXPECT_EQ(torch_threads(), original);
}

}  // namespace
}  // namespace medssl
