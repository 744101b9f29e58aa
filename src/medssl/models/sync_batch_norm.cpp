#include "medssl/models/sync_batch_norm.h"

#include <utility>
#include <vector>

#include "medssl/core/error.h"
#include "medssl/models/layers.h"

namespace torch::nn {

namespace {
template <typename Options>
void print_batch_norm(std::ostream& stream, int dims, const Options& o) {
  stream << std::boolalpha << "torch::nn::BatchNorm" << dims << "d(" << o.num_features() << ", eps=" << o.eps()
         << ", momentum=";
  if (o.momentum().has_value()) {
    stream << o.momentum().value();
  } else {
    stream << "None";
  }
  stream << ", affine=" << o.affine() << ", track_running_stats=" << o.track_running_stats() << ")";
}
}  // namespace

template <>
void BatchNormImplBase<2, BatchNorm2dImpl>::pretty_print(std::ostream& stream) const {
  print_batch_norm(stream, 2, this->options);
}
template <>
void BatchNormImplBase<3, BatchNorm3dImpl>::pretty_print(std::ostream& stream) const {
  print_batch_norm(stream, 3, this->options);
}

}  // namespace torch::nn

namespace medssl::models {

namespace {

// Set and cleared by BatchNormSyncScope on the training thread, read by forward/backward on that same thread.
CrossProcessSum& installed_sum() {
  static CrossProcessSum sum;
  return sum;
}

std::vector<int64_t> reduce_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

std::vector<int64_t> channel_shape(const torch::Tensor& x) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

// Statistics and the normalisation in float32 (float64 for double inputs): like LibTorch's batch_norm under autocast.
torch::ScalarType compute_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

void cross_process_sum(torch::Tensor& t) {
  const auto& sum = installed_sum();
  check(static_cast<bool>(sum), "sync batch norm: no cross-process sum is installed (BatchNormSyncScope)");
  sum(t);
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The running statistics travel by pointer: autograd's apply() records metadata of every tensor argument and cannot
// take undefined ones (no running statistics), and these are updated in place, never differentiated.
struct RunningStats {
  torch::Tensor mean, var;
};

// apply() takes defined tensors only, so affine=false passes weight 1 / bias 0 that do not require grad.
struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, RunningStats* stats, double momentum, double eps) {
    torch::Tensor running_mean = stats != nullptr ? stats->mean : torch::Tensor();
    torch::Tensor running_var = stats != nullptr ? stats->var : torch::Tensor();
    const int64_t channels = x.size(1);
    const auto dims = reduce_dims(x);
    const auto shape = channel_shape(x);
    const torch::Tensor xc = x.to(compute_dtype(x));
    // Shifting by the running mean (equal on every rank) keeps sum-of-squares cancellation small; the sums are
    // accumulated in double.
    const torch::Tensor shift = running_mean.defined() ? running_mean.detach().to(xc.scalar_type())
                                                       : torch::zeros({channels}, xc.options());
    const torch::Tensor centred = xc - shift.view(shape);
    torch::Tensor packed = torch::cat({centred.sum(dims, false, torch::kDouble),
                                       centred.square().sum(dims, false, torch::kDouble),
                                       torch::full({1}, static_cast<double>(x.numel() / channels),
                                                   xc.options().dtype(torch::kDouble))});
    cross_process_sum(packed);
    const double count = packed[2 * channels].item<double>();
    check(count > 1, "sync batch norm: expected more than 1 value per channel when training, got {} over all ranks "
          "(input {})", count, shape_string(x));
    const torch::Tensor mean_shifted = packed.narrow(0, 0, channels) / count;
    const torch::Tensor var = (packed.narrow(0, channels, channels) / count - mean_shifted.square()).clamp_min(0.0);
    const torch::Tensor mean = mean_shifted + shift.to(torch::kDouble);
    const torch::Tensor invstd = (var + eps).rsqrt();

    const torch::Tensor xhat = (xc - mean.to(xc.scalar_type()).view(shape)) * invstd.to(xc.scalar_type()).view(shape);
    const torch::Tensor y = xhat * weight.to(xc.scalar_type()).view(shape) + bias.to(xc.scalar_type()).view(shape);

    if (running_mean.defined() && running_var.defined()) {
      torch::NoGradGuard no_grad;
      const torch::Tensor unbiased = var * (count / (count - 1.0));
      running_mean.mul_(1.0 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
      running_var.mul_(1.0 - momentum).add_(unbiased.to(running_var.scalar_type()), momentum);
    }
    ctx->save_for_backward({xhat, invstd.to(xc.scalar_type()), weight});
    ctx->saved_data["count"] = count;
    ctx->saved_data["input_dtype"] = static_cast<int64_t>(x.scalar_type());
    return y.to(x.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& xhat = saved[0];
    const torch::Tensor& invstd = saved[1];
    const torch::Tensor& weight = saved[2];
    const double count = ctx->saved_data["count"].toDouble();
    const auto input_dtype = static_cast<torch::ScalarType>(ctx->saved_data["input_dtype"].toInt());
    const int64_t channels = xhat.size(1);
    const auto dims = reduce_dims(xhat);
    const auto shape = channel_shape(xhat);

    const torch::Tensor g = grad_outputs[0].to(xhat.scalar_type());
    const torch::Tensor sum_dy = g.sum(dims, false, torch::kDouble);
    const torch::Tensor sum_dy_xhat = (g * xhat).sum(dims, false, torch::kDouble);
    // The parameter gradients stay local: the trainer averages them over ranks like every other gradient.
    const torch::Tensor grad_weight = sum_dy_xhat.to(weight.scalar_type());
    const torch::Tensor grad_bias = sum_dy.to(weight.scalar_type());
    torch::Tensor grad_input;
    if (ctx->needs_input_grad(0)) {
      // dL/dx through the global mean and variance needs the sums over every rank's samples.
      torch::Tensor packed = torch::cat({sum_dy, sum_dy_xhat});
      cross_process_sum(packed);
      const torch::Tensor mean_dy = (packed.narrow(0, 0, channels) / count).to(xhat.scalar_type()).view(shape);
      const torch::Tensor mean_dy_xhat =
          (packed.narrow(0, channels, channels) / count).to(xhat.scalar_type()).view(shape);
      const torch::Tensor scale = invstd * weight.to(xhat.scalar_type());
      grad_input = ((g - mean_dy - xhat * mean_dy_xhat) * scale.view(shape)).to(input_dtype);
    }
    return {grad_input, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// The BatchNorm module's own bookkeeping (num_batches_tracked, cumulative average without momentum), then the sync.
template <typename Impl>
torch::Tensor forward_synced(Impl& bn, const torch::Tensor& x) {
  double factor = bn.options.momentum().value_or(0.0);
  const bool track = bn.options.track_running_stats();
  if (track && bn.num_batches_tracked.defined()) {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked += 1;
    if (!bn.options.momentum()) factor = 1.0 / bn.num_batches_tracked.template item<double>();
  }
  return sync_batch_norm_train(x, track ? bn.running_mean : torch::Tensor(), track ? bn.running_var : torch::Tensor(),
                               bn.weight, bn.bias, factor, bn.options.eps());
}

}  // namespace

BatchNormSyncScope::BatchNormSyncScope(CrossProcessSum sum) { installed_sum() = std::move(sum); }
BatchNormSyncScope::~BatchNormSyncScope() { installed_sum() = nullptr; }

bool batch_norm_sync_active() { return static_cast<bool>(installed_sum()); }

torch::Tensor sync_batch_norm_train(const torch::Tensor& x, torch::Tensor running_mean, torch::Tensor running_var,
                                    const torch::Tensor& weight, const torch::Tensor& bias, double momentum,
                                    double eps) {
  check(x.dim() >= 2, "sync batch norm: expected an (N, C, ...) input, got {} dims", x.dim());
  const auto options = x.options().dtype(x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat);
  const torch::Tensor w = weight.defined() ? weight : torch::ones({x.size(1)}, options);
  const torch::Tensor b = bias.defined() ? bias : torch::zeros({x.size(1)}, options);
  RunningStats stats{std::move(running_mean), std::move(running_var)};
  const bool track = stats.mean.defined() && stats.var.defined();
  return SyncBatchNormFunction::apply(x, w, b, track ? &stats : nullptr, momentum, eps);
}

torch::Tensor SyncBatchNorm2dImpl::forward(const torch::Tensor& x) {
  if (!is_training() || !batch_norm_sync_active()) return torch::nn::BatchNorm2dImpl::forward(x);
  _check_input_dim(x);
  return forward_synced(*this, x);
}

torch::Tensor SyncBatchNorm3dImpl::forward(const torch::Tensor& x) {
  if (!is_training() || !batch_norm_sync_active()) return torch::nn::BatchNorm3dImpl::forward(x);
  _check_input_dim(x);
  return forward_synced(*this, x);
}

}  // namespace medssl::models
