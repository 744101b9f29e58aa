#include "medssl/models/densenet.h"

#include "medssl/core/error.h"
#include "medssl/models/layers.h"

namespace medssl::models {
namespace nn = torch::nn;

DenseLayerImpl::DenseLayerImpl(int dims, int64_t in_features, int64_t growth_rate, int64_t bn_size, double drop_rate)
    : drop_rate_(drop_rate) {
  norm1_ = make_batch_norm(dims, in_features);
  conv1_ = make_conv(dims, in_features, bn_size * growth_rate, 1, 1, 0, /*bias=*/false);
  norm2_ = make_batch_norm(dims, bn_size * growth_rate);
  conv2_ = make_conv(dims, bn_size * growth_rate, growth_rate, 3, 1, 1, /*bias=*/false);
  // Registration order = torchvision's (norm1, relu1, conv1, norm2, relu2, conv2); ReLUs hold no state.
  register_module("norm1", norm1_.ptr());
  register_module("relu1", nn::ReLU());
  register_module("conv1", conv1_.ptr());
  register_module("norm2", norm2_.ptr());
  register_module("relu2", nn::ReLU());
  register_module("conv2", conv2_.ptr());
}

torch::Tensor DenseLayerImpl::forward(const torch::Tensor& x) {
  // ReLU in place on the fresh BatchNorm output, as torchvision's inplace ReLUs: BatchNorm's backward needs its
  // input and batch statistics, not its output, so this saves one allocation and pass per ReLU.
  auto bottleneck = conv1_.forward(norm1_.forward(x).relu_());
  auto out = conv2_.forward(norm2_.forward(bottleneck).relu_());
  if (drop_rate_ > 0.0) out = torch::dropout(out, drop_rate_, is_training());
  return out;
}

DenseBlockImpl::DenseBlockImpl(int dims, int64_t num_layers, int64_t in_features, int64_t growth_rate,
                               int64_t bn_size, double drop_rate) {
  for (int64_t i = 0; i < num_layers; ++i)
    layers_.push_back(register_module("denselayer" + std::to_string(i + 1),
                                      DenseLayer(dims, in_features + i * growth_rate, growth_rate, bn_size, drop_rate)));
}

torch::Tensor DenseBlockImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> features{x};
  features.reserve(layers_.size() + 1);
  for (auto& layer : layers_) features.push_back(layer->forward(torch::cat(features, 1)));
  return torch::cat(features, 1);
}

DenseTransitionImpl::DenseTransitionImpl(int dims, int64_t in_features, int64_t out_features) {
  norm_ = make_batch_norm(dims, in_features);
  conv_ = make_conv(dims, in_features, out_features, 1, 1, 0, /*bias=*/false);
  pool_ = make_avg_pool(dims, 2, 2);
  register_module("norm", norm_.ptr());
  register_module("relu", nn::ReLU());
  register_module("conv", conv_.ptr());
  register_module("pool", pool_.ptr());
}

torch::Tensor DenseTransitionImpl::forward(const torch::Tensor& x) {
  return pool_.forward(conv_.forward(norm_.forward(x).relu_()));
}

DenseNetImpl::DenseNetImpl(DenseNetOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "densenet");
  check(options_.in_channels() >= 1, "densenet: in_channels must be >= 1, got {}", options_.in_channels());
  check(options_.growth_rate() >= 1 && options_.num_init_features() >= 1 && options_.bn_size() >= 1,
        "densenet: growth_rate, num_init_features and bn_size must be >= 1");
  check(!options_.block_config().empty(), "densenet: block_config must not be empty");
  for (auto n : options_.block_config()) check(n >= 1, "densenet: every block_config entry must be >= 1, got {}", n);
  check(options_.drop_rate() >= 0.0 && options_.drop_rate() < 1.0, "densenet: drop_rate must be in [0, 1), got {}",
        options_.drop_rate());
  check(options_.num_classes() >= 0, "densenet: num_classes must be >= 0, got {}", options_.num_classes());
  check(options_.pooling() == "avg" || options_.pooling() == "max",
        "densenet: pooling must be \"avg\" or \"max\", got \"{}\"", options_.pooling());

  features_ = nn::Sequential();
  features_->push_back("conv0", make_conv(dims, options_.in_channels(), options_.num_init_features(), 7, 2, 3, false));
  features_->push_back("norm0", make_batch_norm(dims, options_.num_init_features()));
  features_->push_back("relu0", nn::ReLU(nn::ReLUOptions(/*inplace=*/true)));
  features_->push_back("pool0", make_max_pool(dims, 3, 2, 1));
  int64_t channels = options_.num_init_features();
  const auto& blocks = options_.block_config();
  for (size_t i = 0; i < blocks.size(); ++i) {
    features_->push_back("denseblock" + std::to_string(i + 1),
                         DenseBlock(dims, blocks[i], channels, options_.growth_rate(), options_.bn_size(),
                                    options_.drop_rate()));
    channels += blocks[i] * options_.growth_rate();
    if (i + 1 != blocks.size()) {
      features_->push_back("transition" + std::to_string(i + 1), DenseTransition(dims, channels, channels / 2));
      channels /= 2;
    }
  }
  features_->push_back("norm5", make_batch_norm(dims, channels));
  register_module("features", features_);
  out_features_ = channels;
  if (options_.num_classes() > 0)
    classifier_ = register_module("classifier", nn::Linear(channels, options_.num_classes()));

  // torchvision's initialisation.
  torch::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    const bool is_conv = module->as<nn::Conv2d>() || module->as<nn::Conv3d>();
    const bool is_bn = module->as<nn::BatchNorm2d>() || module->as<nn::BatchNorm3d>();
    for (auto& p : module->named_parameters(/*recurse=*/false)) {
      if (is_conv && p.key() == "weight") nn::init::kaiming_normal_(p.value());
      if (is_bn) p.value().fill_(p.key() == "weight" ? 1.0 : 0.0);
    }
  }
  if (!classifier_.is_empty()) classifier_->bias.zero_();
}

torch::Tensor DenseNetImpl::forward_features(const torch::Tensor& x) {
  const int64_t dims = options_.spatial_dims();
  check(x.dim() == dims + 2 && x.size(1) == options_.in_channels(), "densenet: expected input (N, {}, {}), got {}",
        options_.in_channels(), dims == 3 ? "D, H, W" : "H, W", shape_string(x));
  // conv0 and pool0 halve rounding up, each transition halves rounding down: the last block needs >= 1 voxel.
  const auto transitions = static_cast<int64_t>(options_.block_config().size()) - 1;
  for (int64_t axis = 2; axis < x.dim(); ++axis) {
    int64_t size = (((x.size(axis) + 1) / 2) + 1) / 2;
    for (int64_t t = 0; t < transitions; ++t) size /= 2;
    check(size >= 1, "densenet: spatial size {} on axis {} is too small for {} transitions", x.size(axis), axis - 2,
          transitions);
  }
  return global_pool(features_->forward(x).relu_(), options_.pooling());  // norm5 output: in place as above
}

torch::Tensor DenseNetImpl::forward(const torch::Tensor& x) {
  auto pooled = forward_features(x);
  return classifier_.is_empty() ? pooled : classifier_->forward(pooled);
}

}  // namespace medssl::models
