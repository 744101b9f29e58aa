#include "medssl/models/fast_layers.h"

#include "medssl/tensor/onednn_convolution.h"
#include "medssl/tensor/onednn_gemm.h"
#include "medssl/tensor/patch_conv_transpose.h"

namespace medssl::models {

namespace {

// Whether a transposed convolution is the plain "kernel == stride" upsampling conv_transpose_patch computes. Padding is
// not read: its option is a variant whose type differs between LibTorch versions, and make_conv_transpose (the only
// builder of these modules) never pads.
template <size_t D, typename Impl>
bool is_patch_upsampling(const Impl& conv) {
  const auto& o = conv.options;
  for (size_t d = 0; d < D; ++d) {
    if ((*o.kernel_size())[d] != (*o.stride())[d] || (*o.kernel_size())[d] != (*o.kernel_size())[0]) return false;
    if ((*o.dilation())[d] != 1 || (*o.output_padding())[d] != 0) return false;
  }
  return o.groups() == 1;
}

}  // namespace

torch::Tensor linear_forward(const torch::nn::Linear& fc, const torch::Tensor& x) {
  return medssl::linear(x, fc->weight, fc->bias);
}

torch::Tensor conv_transpose_forward(torch::nn::AnyModule& conv, const torch::Tensor& x) {
  if (const auto* c3 = dynamic_cast<const torch::nn::ConvTranspose3dImpl*>(conv.ptr().get())) {
    if (is_patch_upsampling<3>(*c3)) return conv_transpose_patch(x, c3->weight, c3->bias);
  } else if (const auto* c2 = dynamic_cast<const torch::nn::ConvTranspose2dImpl*>(conv.ptr().get())) {
    if (is_patch_upsampling<2>(*c2)) return conv_transpose_patch(x, c2->weight, c2->bias);
  }
  return conv.forward(x);
}

namespace {

// An ordinary convolution medssl::convolution computes: cubic kernel, the same stride on every axis, no dilation,
// one group. The padding mode is not read (a version-dependent variant too): make_conv keeps the default, zeros.
template <size_t D, typename Impl>
bool is_plain_convolution(const Impl& conv) {
  const auto& o = conv.options;
  for (size_t d = 0; d < D; ++d) {
    if ((*o.kernel_size())[d] != (*o.kernel_size())[0] || (*o.stride())[d] != (*o.stride())[0]) return false;
    if ((*o.dilation())[d] != 1) return false;
  }
  return o.groups() == 1 && !o.transposed();
}

}  // namespace

torch::Tensor conv_forward(torch::nn::AnyModule& conv, const torch::Tensor& x, int64_t padding) {
  if (const auto* c3 = dynamic_cast<const torch::nn::Conv3dImpl*>(conv.ptr().get())) {
    if (is_plain_convolution<3>(*c3)) return medssl::convolution(x, c3->weight, c3->bias, (*c3->options.stride())[0], padding);
  } else if (const auto* c2 = dynamic_cast<const torch::nn::Conv2dImpl*>(conv.ptr().get())) {
    if (is_plain_convolution<2>(*c2)) return medssl::convolution(x, c2->weight, c2->bias, (*c2->options.stride())[0], padding);
  }
  return conv.forward(x);
}

torch::Tensor sequential_forward(torch::nn::Sequential layers, torch::Tensor x) {
  for (auto& layer : *layers) {
    if (const auto* fc = dynamic_cast<const torch::nn::LinearImpl*>(layer.ptr().get())) {
      x = medssl::linear(x, fc->weight, fc->bias);
    } else {
      x = layer.forward(x);
    }
  }
  return x;
}

}  // namespace medssl::models
