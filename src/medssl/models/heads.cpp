#include "medssl/models/heads.h"

#include "medssl/core/error.h"
#include "medssl/models/fast_layers.h"
#include "medssl/models/layers.h"
#include "medssl/tensor/fused_dropout.h"

namespace medssl::models {
namespace nn = torch::nn;

namespace {
void check_input(const torch::Tensor& x, int64_t in_features, const char* who) {
  check(x.dim() == 2 && x.size(1) == in_features, "{}: expected input (N, {}), got {}", who, in_features, shape_string(x));
}

nn::Linear glorot_linear(int64_t in, int64_t out) {
  nn::Linear fc(in, out);
  init_weight_zero_bias(*fc, glorot_uniform_);
  return fc;
}
}  // namespace

BigFullyImpl::BigFullyImpl(BigFullyOptions options) : options_(options) {
  check(options_.in_features() >= 1 && options_.hidden1() >= 1 && options_.hidden2() >= 1,
        "big_fully: in_features, hidden1 and hidden2 must be >= 1");
  check(options_.dropout() >= 0.0 && options_.dropout() < 1.0, "big_fully: dropout must be in [0, 1), got {}",
        options_.dropout());
  auto bn = [&](int64_t n) {
    return nn::BatchNorm1d(nn::BatchNorm1dOptions(n).eps(options_.bn_eps()).momentum(options_.bn_momentum()));
  };
  fc1_ = register_module("fc1", glorot_linear(options_.in_features(), options_.hidden1()));
  bn1_ = register_module("bn1", bn(options_.hidden1()));
  fc2_ = register_module("fc2", glorot_linear(options_.hidden1(), options_.hidden2()));
  bn2_ = register_module("bn2", bn(options_.hidden2()));
}

torch::Tensor BigFullyImpl::forward(const torch::Tensor& x) {
  check_input(x, options_.in_features(), "big_fully");
  auto h = medssl::dropout(bn1_->forward(torch::relu(linear_forward(fc1_, x))), options_.dropout(), is_training());
  return medssl::dropout(bn2_->forward(torch::relu(linear_forward(fc2_, h))), options_.dropout(), is_training());
}

LinearClassifierImpl::LinearClassifierImpl(LinearClassifierOptions options) : options_(options) {
  check(options_.in_features() >= 1 && options_.num_classes() >= 1,
        "linear_classifier: in_features and num_classes must be >= 1 (got {}, {})", options_.in_features(),
        options_.num_classes());
  fc_ = register_module("fc", glorot_linear(options_.in_features(), options_.num_classes()));
}

torch::Tensor LinearClassifierImpl::forward(const torch::Tensor& x) {
  check_input(x, options_.in_features(), "linear_classifier");
  return linear_forward(fc_, x);
}

ProjectionMLPImpl::ProjectionMLPImpl(ProjectionMLPOptions options) : options_(options) {
  check(options_.num_layers() >= 1, "projection_mlp: num_layers must be >= 1, got {}", options_.num_layers());
  check(options_.in_features() >= 1 && options_.hidden_features() >= 1 && options_.out_features() >= 1,
        "projection_mlp: in_features, hidden_features and out_features must be >= 1");
  layers_ = nn::Sequential();
  int64_t in = options_.in_features();
  for (int64_t i = 0; i < options_.num_layers(); ++i) {
    const bool last = i + 1 == options_.num_layers();
    const int64_t out = last ? options_.out_features() : options_.hidden_features();
    const bool bn = last ? options_.last_bn() : options_.batch_norm();
    // A bias right before BN is cancelled by its mean subtraction (SimSiam freezes that bias for the same reason).
    layers_->push_back(nn::Linear(nn::LinearOptions(in, out).bias(!bn)));
    if (bn) layers_->push_back(nn::BatchNorm1d(nn::BatchNorm1dOptions(out).affine(!last || options_.last_bn_affine())));
    if (!last) layers_->push_back(nn::ReLU());
    in = out;
  }
  register_module("layers", layers_);
}

torch::Tensor ProjectionMLPImpl::forward(const torch::Tensor& x) {
  check_input(x, options_.in_features(), "projection_mlp");
  return sequential_forward(layers_, x);
}

PredictionMLPImpl::PredictionMLPImpl(PredictionMLPOptions options) : options_(options) {
  check(options_.in_features() >= 1 && options_.hidden_features() >= 1 && options_.out_features() >= 1,
        "prediction_mlp: in_features, hidden_features and out_features must be >= 1");
  layers_ = nn::Sequential(nn::Linear(nn::LinearOptions(options_.in_features(), options_.hidden_features()).bias(false)),
                           nn::BatchNorm1d(options_.hidden_features()), nn::ReLU(),
                           nn::Linear(options_.hidden_features(), options_.out_features()));
  register_module("layers", layers_);
}

torch::Tensor PredictionMLPImpl::forward(const torch::Tensor& x) {
  check_input(x, options_.in_features(), "prediction_mlp");
  return sequential_forward(layers_, x);
}

}  // namespace medssl::models
