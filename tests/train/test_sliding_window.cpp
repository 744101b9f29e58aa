// Sliding-window inference: MONAI's window grid, exact reconstruction with an identity predictor, known averages of
// per-window constants, padding of images smaller than the roi, and a cross-check against MONAI's
// sliding_window_inference algorithm re-implemented in Python (MONAI itself is not installed).
#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/train/sliding_window.h"
#include "python_peer.h"
#include "testkit/testkit.h"

namespace medssl::train {
namespace {

using test::py_print;
using test::py_tensor;

using Starts = std::vector<int64_t>;

TEST(SlidingWindow, WindowGridMatchesMonai) {
  // The example of the design notes: size 200, roi 96, overlap .25 -> interval 72, starts 0, 72, 104.
  EXPECT_EQ(scan_intervals({200}, {96}, {0.25}), Starts{72});
  EXPECT_EQ(window_starts_per_axis({200}, {96}, {72})[0], (Starts{0, 72, 104}));
  EXPECT_EQ(scan_intervals({96, 50}, {96, 16}, {0.25, 0.25}), (Starts{96, 12}));  // roi == size: one step
  EXPECT_EQ(window_starts_per_axis({10}, {4}, scan_intervals({10}, {4}, {0.5}))[0], (Starts{0, 2, 4, 6}));
  EXPECT_EQ(window_starts_per_axis({10}, {4}, scan_intervals({10}, {4}, {0.0}))[0], (Starts{0, 4, 6}));
  EXPECT_EQ(scan_intervals({10}, {1}, {0.5}), Starts{1});  // int(0.5) = 0 -> 1
  EXPECT_EQ(window_starts_per_axis({7}, {7}, {7})[0], Starts{0});
  // Combinations with the first axis slowest.
  const auto all = window_starts({10, 5}, {4, 5}, {4, 5});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], (Starts{0, 0}));
  EXPECT_EQ(all[1], (Starts{4, 0}));
  EXPECT_EQ(all[2], (Starts{6, 0}));
  const auto all2 = window_starts({6, 6}, {4, 4}, {2, 2});
  ASSERT_EQ(all2.size(), 4u);
  EXPECT_EQ(all2[1], (Starts{0, 2}));
}

TEST(SlidingWindow, ImportanceMaps) {
  EXPECT_TRUE(torch::equal(importance_map({3, 4}, BlendMode::constant, {0.125}), torch::ones({3, 4})));
  const auto g = importance_map({9, 6}, BlendMode::gaussian, {0.125});
  ASSERT_EQ(g.sizes(), torch::IntArrayRef({9, 6}));
  // Separable: value = exp(-x^2 / (2 sigma_0^2)) * exp(-y^2 / (2 sigma_1^2)), x from the centre (4, 2.5).
  const double s0 = 9 * 0.125, s1 = 6 * 0.125;
  const double expected = std::exp(-4.0 / (2 * s0 * s0)) * std::exp(-0.25 / (2 * s1 * s1));  // at (2, 2)
  EXPECT_NEAR(g[2][2].item<double>(), expected, 1e-6);
  EXPECT_NEAR(g[4][2].item<double>(), std::exp(-0.25 / (2 * s1 * s1)), 1e-6);
  EXPECT_GE(g.min().item<double>(), 1e-3 * (1 - 1e-6));  // the corners are clamped at 1e-3
  EXPECT_TRUE(torch::equal(g, g.flip({0})));
  EXPECT_EQ(importance_map({4}, BlendMode::gaussian, {0.125}, torch::kFloat64).scalar_type(), torch::kFloat64);
}

TEST(SlidingWindow, IdentityPredictorReproducesTheInput) {
  const auto identity = [](const torch::Tensor& x) { return x; };
  const auto image2d = torch::randn({2, 3, 37, 29});
  const auto image3d = torch::randn({1, 2, 19, 23, 17});
  for (auto mode : {BlendMode::constant, BlendMode::gaussian}) {
    for (double overlap : {0.0, 0.25, 0.6}) {
      const auto out2d = sliding_window_inference(
          image2d, identity, SlidingWindowOptions({16, 12}).sw_batch_size(3).overlap({overlap}).mode(mode));
      EXPECT_TRUE(torch::allclose(out2d, image2d, 1e-5, 1e-6)) << "2D overlap " << overlap;
      const auto out3d = sliding_window_inference(
          image3d, identity, SlidingWindowOptions({8, 10, 6}).sw_batch_size(4).overlap({overlap}).mode(mode));
      EXPECT_TRUE(torch::allclose(out3d, image3d, 1e-5, 1e-6)) << "3D overlap " << overlap;
    }
  }
  // Without overlap and with constant weights every voxel is written once: exact.
  const auto tiles = sliding_window_inference(image2d, identity, SlidingWindowOptions({37, 29}));
  EXPECT_TRUE(torch::equal(tiles, image2d));
}

TEST(SlidingWindow, ConstantPerWindowIsAveragedOverCoveringWindows) {
  // One row of 10 pixels, windows of 4 at overlap .5: starts 0, 2, 4, 6. Window k predicts the constant k.
  int64_t calls = 0;
  const auto numbered = [&](const torch::Tensor& x) { return torch::full_like(x, static_cast<double>(calls++)); };
  const auto out =
      sliding_window_inference(torch::zeros({1, 1, 1, 10}), numbered, SlidingWindowOptions({1, 4}).overlap({0.5}));
  EXPECT_EQ(calls, 4);
  const auto expected = torch::tensor({0.0, 0.0, 0.5, 0.5, 1.5, 1.5, 2.5, 2.5, 3.0, 3.0}, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(out.flatten(), expected)) << out;
  // The gaussian blend of a predictor that returns the same constant everywhere is that constant.
  const auto seven = [](const torch::Tensor& x) { return torch::full_like(x, 7.0); };
  const auto blended = sliding_window_inference(torch::zeros({2, 1, 13, 11, 9}), seven,
                                                SlidingWindowOptions({5, 4, 6}).mode(BlendMode::gaussian));
  EXPECT_TRUE(torch::allclose(blended, torch::full_like(blended, 7.0)));
}

TEST(SlidingWindow, ImageSmallerThanTheRoiIsPaddedAndCropped) {
  const auto image = torch::randn({1, 2, 5, 7});
  std::vector<std::vector<int64_t>> seen;
  const auto identity = [&](const torch::Tensor& x) {
    seen.push_back(x.sizes().vec());
    return x;
  };
  const auto out = sliding_window_inference(image, identity, SlidingWindowOptions({8, 8}));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<int64_t>{1, 2, 8, 8}));
  EXPECT_TRUE(torch::equal(out, image));
  // Padding is symmetric (diff // 2 before): the predictor sees the image at offset (1, 0) in zeros.
  const auto check_padding = [&](const torch::Tensor& x) {
    EXPECT_TRUE(torch::equal(x.narrow(2, 1, 5).narrow(3, 0, 7), image));
    EXPECT_NEAR(x.abs().sum().item<double>(), image.abs().sum().item<double>(), 1e-4);
    return x * 2;
  };
  EXPECT_TRUE(torch::allclose(sliding_window_inference(image, check_padding, SlidingWindowOptions({8, 8})), image * 2));
  // One axis smaller, one larger than the roi, gaussian blending, odd sizes, 3D.
  const auto volume = torch::randn({2, 1, 3, 21, 9});
  const auto out3d = sliding_window_inference(
      volume, [](const torch::Tensor& x) { return x; }, SlidingWindowOptions({6, 8, 9}).mode(BlendMode::gaussian));
  EXPECT_TRUE(torch::allclose(out3d, volume, 1e-5, 1e-6));
  // Replicate padding feeds edge values instead of zeros.
  const auto edge_check = [&](const torch::Tensor& x) {
    EXPECT_TRUE(torch::equal(x.select(2, 0), x.select(2, 1)));
    return x;
  };
  sliding_window_inference(image, edge_check, SlidingWindowOptions({8, 8}).padding_mode(WindowPadding::replicate));
}

// MONAI's sliding_window_inference (monai/inferers/utils.py, non-buffered), _get_scan_interval,
// dense_patch_slices and compute_importance_map (monai/data/utils.py), transcribed.
const char* kPythonMonai = R"PY(
import torch
import math, itertools
import torch.nn.functional as F
def scan_interval(img, roi, ov):
    return [roi[i] if roi[i] == img[i] else max(int(roi[i] * (1 - ov)), 1) for i in range(len(img))]
def dense_starts(img, roi, si):
    starts = []
    for i in range(len(img)):
        num = int(math.ceil(float(img[i]) / si[i]))
        d = next((d for d in range(num) if d * si[i] + roi[i] >= img[i]), None)
        n = d + 1 if d is not None else 1
        starts.append([j * si[i] - max(j * si[i] + roi[i] - img[i], 0) for j in range(n)])
    return [tuple(x) for x in itertools.product(*starts)]
def importance(roi, mode, sig):
    if mode == 'constant':
        m = torch.ones(roi, dtype=torch.float)
    else:
        for i in range(len(roi)):
            x = torch.arange(start=-(roi[i] - 1) / 2.0, end=(roi[i] - 1) / 2.0 + 1, dtype=torch.float)
            x = torch.exp(x ** 2 / (-2 * (roi[i] * sig) ** 2))
            m = m.unsqueeze(-1) * x[(None,) * i] if i > 0 else x
    mn = max(torch.min(m).item(), 1e-3)
    return torch.clamp_(m.to(torch.float), min=mn)
def swi(inputs, roi, swb, predictor, overlap=0.25, mode='constant', sig=0.125):
    nsd = inputs.dim() - 2
    B = inputs.shape[0]
    img_ = list(inputs.shape[2:])
    roi = [img_[i] if roi[i] <= 0 else roi[i] for i in range(nsd)]
    img = [max(img_[i], roi[i]) for i in range(nsd)]
    pad = []
    for k in range(inputs.dim() - 1, 1, -1):
        diff = max(roi[k - 2] - inputs.shape[k], 0)
        pad += [diff // 2, diff - diff // 2]
    if any(pad):
        inputs = F.pad(inputs, pad, value=0.0)
    starts = dense_starts(img, roi, scan_interval(img, roi, overlap))
    nw = len(starts)
    w0 = importance(roi, mode, sig).to(inputs.dtype)[None, None]
    out = cnt = None
    for g in range(0, nw * B, swb):
        idx = list(range(g, min(g + swb, nw * B)))
        sl = [(i // nw, starts[i % nw]) for i in idx]
        win = torch.cat([inputs[(slice(b, b + 1), slice(None)) + tuple(slice(s, s + r) for s, r in zip(st, roi))]
                         for b, st in sl])
        p = predictor(win)
        seg = list(p.shape[2:])
        w = w0
        z = None
        if seg != roi:
            z = [o / float(i) for o, i in zip(seg, roi)]
            w = F.interpolate(w, seg, mode='nearest-exact')
        def place(st):
            if z is None:
                return tuple(slice(s, s + r) for s, r in zip(st, roi))
            return tuple(slice(int(s * zz), int((s + r) * zz)) for s, r, zz in zip(st, roi, z))
        if out is None:
            shape = [B, p.shape[1]] + ([int(i * zz) for i, zz in zip(img, z)] if z else list(img))
            out = torch.zeros(shape, dtype=inputs.dtype)
            cnt = torch.zeros([1, 1] + shape[2:], dtype=inputs.dtype)
            for st in starts:
                cnt[(slice(None), slice(None)) + place(st)] += w
        p = p * w
        for (b, st), q in zip(sl, p):
            out[(slice(b, b + 1), slice(None)) + place(st)] += q
    out /= cnt
    if any(pad):
        zs = [o / r for o, r in zip(out.shape[2:], roi)]
        fin = []
        for sp in range(nsd):
            si = nsd - sp - 1
            fin.insert(0, slice(int(round(pad[sp * 2] * zs[si])), int(round((pad[sp * 2] + img_[si]) * zs[si]))))
        out = out[(slice(None), slice(None)) + tuple(fin)]
    return out
def predictor(x):
    axes = list(range(1, x.dim()))
    return torch.cat([x * 2 + 1, torch.sin(3 * x) + x.mean(dim=axes, keepdim=True)], 1)
def half(x):
    return F.avg_pool2d(x, 2) * 3 - x.mean()
)PY";

torch::Tensor nonlinear(const torch::Tensor& x) {
  std::vector<int64_t> axes;
  for (int64_t d = 1; d < x.dim(); ++d) axes.push_back(d);
  return torch::cat({x * 2 + 1, torch::sin(3 * x) + x.mean(axes, /*keepdim=*/true)}, 1);
}

torch::Tensor half_resolution(const torch::Tensor& x) { return torch::avg_pool2d(x, 2) * 3 - x.mean(); }

TEST(SlidingWindow, MatchesMonaiAlgorithmInPython) {
  const auto a = torch::randn({2, 1, 23, 17}, torch::kFloat64);
  const auto b = torch::randn({1, 2, 9, 14, 11}, torch::kFloat64);
  const auto c = torch::randn({1, 1, 5, 30}, torch::kFloat64);
  const auto d = torch::randn({2, 1, 13, 10}, torch::kFloat64);
  std::string code = std::string(kPythonMonai) + "a = " + py_tensor(a) + "\nb = " + py_tensor(b) +
                     "\nc = " + py_tensor(c) + "\nd = " + py_tensor(d) + "\n";
  code += py_print("swi(a, [8, 6], 3, predictor)");
  code += py_print("swi(a, [8, 6], 2, predictor, overlap=0.5, mode='gaussian')");
  code += py_print("swi(b, [4, 6, 5], 4, predictor, overlap=0.3, mode='gaussian', sig=0.2)");
  code += py_print("swi(c, [8, 7], 1, predictor, mode='gaussian')");
  code += py_print("swi(d, [6, 4], 3, half, overlap=0.5)");
  code += py_print("swi(d, [6, -1], 2, predictor)");
  code += py_print("swi(c, [8, 6], 2, half)");  // padded and scaled: the crop rounds half to even
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 7u);
  using O = SlidingWindowOptions;
  const std::vector<torch::Tensor> ours = {
      sliding_window_inference(a, nonlinear, O({8, 6}).sw_batch_size(3)),
      sliding_window_inference(a, nonlinear, O({8, 6}).sw_batch_size(2).overlap({0.5}).mode(BlendMode::gaussian)),
      sliding_window_inference(
          b, nonlinear, O({4, 6, 5}).sw_batch_size(4).overlap({0.3}).mode(BlendMode::gaussian).sigma_scale({0.2})),
      sliding_window_inference(c, nonlinear, O({8, 7}).mode(BlendMode::gaussian)),
      sliding_window_inference(d, half_resolution, O({6, 4}).sw_batch_size(3).overlap({0.5})),
      sliding_window_inference(d, nonlinear, O({6, -1}).sw_batch_size(2)),
      sliding_window_inference(c, half_resolution, O({8, 6}).sw_batch_size(2)),
  };
  EXPECT_EQ(ours[0].sizes(), torch::IntArrayRef({2, 2, 23, 17}));
  EXPECT_EQ(ours[4].sizes(), torch::IntArrayRef({2, 1, 6, 5}));
  EXPECT_EQ(ours[6].sizes(), torch::IntArrayRef({1, 1, 3, 15}));
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ(ours[i].numel(), peer[i].numel()) << "case " << i;
    EXPECT_TRUE(torch::allclose(ours[i].flatten(), peer[i], 1e-12, 1e-12))
        << "case " << i << ": max difference " << (ours[i].flatten() - peer[i]).abs().max().item<double>();
  }
}

TEST(SlidingWindow, BatchingAndOutputDeviceDoNotChangeTheResult) {
  const auto image = torch::randn({2, 1, 20, 15});
  const auto one = sliding_window_inference(image, nonlinear, SlidingWindowOptions({7, 6}).mode(BlendMode::gaussian));
  const auto many = sliding_window_inference(
      image, nonlinear,
      SlidingWindowOptions({7, 6}).mode(BlendMode::gaussian).sw_batch_size(5).device(torch::Device(torch::kCPU)));
  EXPECT_TRUE(torch::equal(one, many));
  EXPECT_EQ(many.device(), torch::Device(torch::kCPU));
  EXPECT_EQ(many.sizes(), torch::IntArrayRef({2, 2, 20, 15}));
}

TEST(SlidingWindow, ChecksArguments) {
  const auto image = torch::randn({1, 1, 10, 10});
  const auto identity = [](const torch::Tensor& x) { return x; };
  EXPECT_NE(testkit::error_of([&] {
              sliding_window_inference(image, identity, SlidingWindowOptions({4, 4}).overlap({1.0}));
            }).find("overlap"),
            std::string::npos);
  EXPECT_THROW(sliding_window_inference(image, identity, SlidingWindowOptions({4, 4, 4})), Error);
  EXPECT_THROW(sliding_window_inference(image.to(torch::kLong), identity, SlidingWindowOptions({4, 4})), Error);
  EXPECT_NE(testkit::error_of([&] {
              sliding_window_inference(
                  image, [](const torch::Tensor& x) { return x.narrow(0, 0, 1); },
                  SlidingWindowOptions({4, 4}).sw_batch_size(2));
            }).find("predictor must return"),
            std::string::npos);
  EXPECT_THROW(parse_blend_mode("linear"), Error);
  EXPECT_EQ(parse_window_padding("reflect"), WindowPadding::reflect);
}

}  // namespace
}  // namespace medssl::train
