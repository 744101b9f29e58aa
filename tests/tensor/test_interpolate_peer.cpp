// Cross-check of resize_to / resize_label / resample_to_spacing against PyTorch's own interpolate in Python
// (mode="trilinear" and "nearest-exact", align_corners=False), the reference the rules in interpolate.h name.
#include <gtest/gtest.h>

#include <sstream>

#include "medssl/data/transforms/resample.h"
#include "medssl/data/transforms/resize.h"
#include "tensor_expect.h"
#include "testkit/testkit.h"

namespace medssl {
namespace {

// The same deterministic, non-linear test volume in C++ and in Python.
torch::Tensor wave() { return torch::sin(torch::arange(5 * 6 * 8, torch::kFloat32) * 0.37f).reshape({1, 5, 6, 8}); }
const char* kPythonWave = "x = torch.sin(torch.arange(5*6*8, dtype=torch.float32) * 0.37).reshape(1, 1, 5, 6, 8)\n";

std::vector<torch::Tensor> python_results(const std::string& body) {
  const auto r = testkit::run_python(std::string("import torch, torch.nn.functional as F\n") + kPythonWave + body);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<torch::Tensor> out;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream values(line);
    std::vector<double> v;
    double x;
    while (values >> x) v.push_back(x);
    out.push_back(torch::tensor(v, torch::kFloat64));
  }
  return out;
}

TEST(InterpolatePeer, ResizeMatchesPyTorchTrilinearAndNearestExact) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3-torch not available";
  const auto peer = python_results(
      "for mode in ('trilinear', 'nearest-exact'):\n"
      "  kw = {'align_corners': False} if mode == 'trilinear' else {}\n"
      "  y = F.interpolate(x, size=(8, 4, 9), mode=mode, **kw)\n"
      "  print(' '.join(repr(v) for v in y.flatten().tolist()))\n");
  ASSERT_EQ(peer.size(), 2u);
  const torch::Tensor linear = resize_to(wave(), {8, 4, 9});
  const torch::Tensor nearest = resize_label(wave(), {8, 4, 9});
  EXPECT_TRUE(test::tensors_close(linear.flatten(), peer[0], 1e-5, 1e-6));
  EXPECT_TRUE(test::tensors_close(nearest.flatten(), peer[1], 0, 0));
}

TEST(InterpolatePeer, ResampleMatchesPyTorchScaleFactorMode) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3-torch not available";
  // Spacing (1.6, 1.0, 0.75) -> (1, 2, 1) is scale factor (1.6, 0.5, 0.75): sizes 8, 3, 6 under both size rules.
  const auto peer = python_results(
      "y = F.interpolate(x, scale_factor=(1.6, 0.5, 0.75), mode='trilinear', align_corners=False,\n"
      "                  recompute_scale_factor=False)\n"
      "print(' '.join(repr(v) for v in y.flatten().tolist()))\n");
  ASSERT_EQ(peer.size(), 1u);
  Volume v;
  v.data = wave();
  v.spacing = {1.6, 1.0, 0.75};
  const Volume out = resample_to_spacing(v, {1.0, 2.0, 1.0});
  ASSERT_EQ(out.data.sizes(), torch::IntArrayRef({1, 8, 3, 6}));
  EXPECT_TRUE(test::tensors_close(out.data.flatten(), peer[0], 1e-5, 1e-6));
}

}  // namespace
}  // namespace medssl
