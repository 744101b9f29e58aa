// Every LibTorch test starts from a seed derived from its own name, so a test gives the same numbers whether it runs
// alone (as CTest runs it) or in a whole executable, and a failure seen in CI reproduces locally. Tests that want
// randomness across runs seed it themselves.
#include <torch/torch.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

class SeedEachTest : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& info) override {
    const std::string name = std::string(info.test_suite_name()) + "." + info.name();
    // FNV-1a: stable across compilers and runs, unlike std::hash.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    torch::manual_seed(h & 0x7fffffffffffull);
  }
};

const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new SeedEachTest);
  return true;
}();

}  // namespace
