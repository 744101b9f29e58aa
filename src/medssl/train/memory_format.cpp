#include "medssl/train/memory_format.h"

#include "medssl/core/error.h"
#include "medssl/models/densenet.h"

namespace medssl::train {

namespace {

bool has_2d_densenet(torch::nn::Module& model) {
  for (const auto& module : model.modules(/*include_self=*/true)) {
    const auto* densenet = module->as<models::DenseNet>();
    if (densenet != nullptr && densenet->options().spatial_dims() == 2) return true;
  }
  return false;
}

// `t` in channels-last memory format if it is a 4-D / 5-D floating tensor, else `t` itself.
torch::Tensor to_channels_last(const torch::Tensor& t) {
  if (!t.defined() || !t.is_floating_point()) return t;
  if (t.dim() == 5) return t.contiguous(at::MemoryFormat::ChannelsLast3d);
  if (t.dim() == 4) return t.contiguous(at::MemoryFormat::ChannelsLast);
  return t;
}

bool has_convolution(torch::nn::Module& model) {
  for (const auto& module : model.modules(/*include_self=*/true))
    if (module->as<torch::nn::Conv2d>() || module->as<torch::nn::Conv3d>()) return true;
  return false;
}

}  // namespace

bool use_channels_last(const std::string& setting, torch::nn::Module& model, const torch::Device& device) {
  if (setting == "contiguous") return false;
  if (setting == "channels_last") return true;
  check(setting == "auto", "memory_format must be auto, contiguous or channels_last, got \"{}\"", setting);
  return device.is_cuda() ? has_convolution(model) : has_2d_densenet(model);
}

void convert_to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters(/*recurse=*/true)) p.set_data(to_channels_last(p));
  for (auto& b : model.buffers(/*recurse=*/true)) b.set_data(to_channels_last(b));
}

}  // namespace medssl::train
