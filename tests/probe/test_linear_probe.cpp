// The linear probe's logistic regression, metrics and crop cutting, on synthetic features and tensors.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/probe/crop_features.h"
#include "medssl/probe/linear_probe.h"

using namespace medssl;
using namespace medssl::probe;

namespace {

// Three Gaussian blobs in 20-D, far apart along different directions (linearly separable), plus an offset and scale
// that standardisation must absorb.
void blobs(int64_t per_class, torch::Tensor& x, torch::Tensor& y) {
  const int64_t classes = 3, width = 20;
  torch::Tensor centres = torch::zeros({classes, width});
  for (int64_t k = 0; k < classes; ++k) centres[k][k] = 6.0;
  x = torch::randn({classes * per_class, width}) + centres.repeat_interleave(per_class, 0);
  x = x * 50.0 + 1000.0;
  y = torch::arange(classes).repeat_interleave(per_class);
}

}  // namespace

TEST(LinearProbe, SeparatesLinearlySeparableFeatures) {
  torch::Tensor x, y, xt, yt;
  blobs(60, x, y);
  blobs(40, xt, yt);
  const LinearProbe probe = fit_logistic_regression(x, y, 3);
  const ProbeMetrics m = probe_metrics(probe.predict(xt), yt, 3, majority_class(y, 3));
  EXPECT_GE(m.accuracy, 0.99);
  EXPECT_GE(m.balanced_accuracy, 0.99);
  EXPECT_NEAR(m.majority_rate, 1.0 / 3.0, 1e-9);
  EXPECT_EQ(m.counts, (std::vector<int64_t>{40, 40, 40}));
}

TEST(LinearProbe, GetsChanceOnRandomLabels) {
  const torch::Tensor x = torch::randn({300, 10}), xt = torch::randn({600, 10});
  const torch::Tensor y = torch::randint(0, 3, {300}), yt = torch::randint(0, 3, {600});
  const LinearProbe probe = fit_logistic_regression(x, y, 3);
  const ProbeMetrics m = probe_metrics(probe.predict(xt), yt, 3, majority_class(y, 3));
  // Training accuracy can exceed chance (it memorises); test accuracy on unrelated labels cannot, beyond noise:
  // the binomial standard deviation at n = 600, p = 1/3 is ~0.019.
  EXPECT_NEAR(m.accuracy, 1.0 / 3.0, 0.08);
  EXPECT_NEAR(m.balanced_accuracy, 1.0 / 3.0, 0.08);
}

TEST(LinearProbe, IsDeterministicAndHandlesConstantFeatures) {
  torch::Tensor x, y;
  blobs(30, x, y);
  x = torch::cat({x, torch::full({x.size(0), 2}, 7.0)}, 1);  // constant columns must not produce NaN
  const LinearProbe a = fit_logistic_regression(x, y, 3, {1e-2, 50});
  const LinearProbe b = fit_logistic_regression(x, y, 3, {1e-2, 50});
  EXPECT_TRUE(torch::equal(a.weight, b.weight));
  EXPECT_TRUE(torch::equal(a.bias, b.bias));
  EXPECT_FALSE(a.weight.isnan().any().item<bool>());
  EXPECT_GT(probe_metrics(a.predict(x), y, 3, 0).accuracy, 0.95);
}

TEST(LinearProbe, MetricsOnAHandMadeExample) {
  const torch::Tensor truth = torch::tensor({0, 0, 0, 0, 1, 1, 2, 2}, torch::kInt64);
  const torch::Tensor pred = torch::tensor({0, 0, 0, 1, 1, 0, 2, 1}, torch::kInt64);
  const ProbeMetrics m = probe_metrics(pred, truth, 3, 0);
  EXPECT_DOUBLE_EQ(m.accuracy, 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(m.balanced_accuracy, (3.0 / 4.0 + 1.0 / 2.0 + 1.0 / 2.0) / 3.0);
  EXPECT_DOUBLE_EQ(m.majority_rate, 0.5);
  EXPECT_EQ(m.confusion[0], (std::vector<int64_t>{3, 1, 0}));
  EXPECT_EQ(majority_class(truth, 3), 0);
}

TEST(LinearProbe, RejectsBadInput) {
  EXPECT_THROW(fit_logistic_regression(torch::randn({4, 3}), torch::tensor({0, 1, 2}, torch::kInt64), 3), Error);
  EXPECT_THROW(fit_logistic_regression(torch::randn({3, 3}), torch::tensor({0, 1, 5}, torch::kInt64), 3), Error);
  EXPECT_THROW(fit_logistic_regression(torch::randn({3, 3}), torch::tensor({0, 0, 0}, torch::kInt64), 1), Error);
}

TEST(CropAround, CentresTheVoxelAndPadsAtTheBorder) {
  const torch::Tensor image = torch::arange(5 * 6 * 7, torch::kFloat32).reshape({1, 5, 6, 7});
  const torch::Tensor inside = crop_around(image, {2, 3, 3}, 4, -1.0);
  ASSERT_EQ(inside.sizes(), (std::vector<int64_t>{1, 4, 4, 4}));
  EXPECT_EQ(inside[0][2][2][2].item<float>(), image[0][2][3][3].item<float>());
  EXPECT_EQ(inside[0][0][0][0].item<float>(), image[0][0][1][1].item<float>());
  const torch::Tensor corner = crop_around(image, {0, 0, 0}, 4, -1.0);
  EXPECT_EQ(corner[0][2][2][2].item<float>(), image[0][0][0][0].item<float>());
  EXPECT_EQ(corner[0][0][0][0].item<float>(), -1.0f);  // padding
  const torch::Tensor slice = torch::arange(30, torch::kFloat32).reshape({1, 5, 6});
  EXPECT_EQ(crop_around(slice, {4, 5}, 3, 0.0)[0][1][1].item<float>(), 29.0f);
  EXPECT_THROW(crop_around(slice, {5, 0}, 3, 0.0), Error);
}
