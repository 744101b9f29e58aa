#include "medssl/tensor/patch_conv_transpose.h"

#include "medssl/core/error.h"
#include "medssl/tensor/cpu_fast_paths.h"

namespace medssl {

torch::Tensor conv_transpose_patch(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  const int64_t dims = x.dim() - 2;
  check(dims == 2 || dims == 3, "conv_transpose_patch: expected (N, C, H, W) or (N, C, D, H, W), got {} dims", x.dim());
  check(weight.dim() == dims + 2 && weight.size(0) == x.size(1),
        "conv_transpose_patch: weight must be (in = {}, out, k...) with {} spatial axes", x.size(1), dims);
  const int64_t k = weight.size(2);
  for (int64_t d = 2; d < weight.dim(); ++d)
    check(weight.size(d) == k, "conv_transpose_patch: the kernel must be cubic / square");
  const std::vector<int64_t> stride(static_cast<size_t>(dims), k);
  if (!(use_onednn_convolution(x) && use_onednn_convolution(weight))) {
    return dims == 3 ? torch::conv_transpose3d(x, weight, bias, stride) : torch::conv_transpose2d(x, weight, bias, stride);
  }
  const int64_t n = x.size(0), in = x.size(1), out = weight.size(1);
  const int64_t taps = weight[0][0].numel();  // k^dims
  // (in, out, k...) -> (out, k..., in) -> (out * taps, in, 1...): output channel o * taps + tap of the 1x1 convolution.
  std::vector<int64_t> to_last{1};
  for (int64_t d = 2; d < weight.dim(); ++d) to_last.push_back(d);
  to_last.push_back(0);
  std::vector<int64_t> pointwise{out * taps, in};
  for (int64_t d = 0; d < dims; ++d) pointwise.push_back(1);
  const torch::Tensor w = weight.permute(to_last).reshape(pointwise);
  const std::vector<int64_t> zeros(static_cast<size_t>(dims), 0), ones(static_cast<size_t>(dims), 1);
  const torch::Tensor y = at::mkldnn_convolution(x.contiguous(), w, c10::nullopt, zeros, ones, ones, 1);
  // (N, out, k.., spatial..) -> interleave each spatial axis with its kernel axis -> (N, out, spatial * k ...)
  std::vector<int64_t> split{n, out};
  for (int64_t d = 0; d < dims; ++d) split.push_back(k);
  for (int64_t d = 0; d < dims; ++d) split.push_back(x.size(d + 2));
  std::vector<int64_t> order{0, 1};
  for (int64_t d = 0; d < dims; ++d) {
    order.push_back(2 + dims + d);  // spatial axis d
    order.push_back(2 + d);         // its kernel offset
  }
  std::vector<int64_t> merged{n, out};
  for (int64_t d = 0; d < dims; ++d) merged.push_back(x.size(d + 2) * k);
  torch::Tensor result = y.view(split).permute(order).reshape(merged);
  if (bias.defined()) {
    std::vector<int64_t> bias_shape{1, out};
    for (int64_t d = 0; d < dims; ++d) bias_shape.push_back(1);
    result.add_(bias.view(bias_shape));  // result is a fresh tensor (the shuffle copied): no extra pass or buffer
  }
  return result;
}

}  // namespace medssl
