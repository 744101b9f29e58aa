#pragma once
// BatchNorm whose training-mode statistics cover the global batch of a data-parallel run (PyTorch's SyncBatchNorm).
//
// make_batch_norm (layers.h) builds SyncBatchNorm2d/3d: subclasses of LibTorch's BatchNorm2d/3d with the same
// parameters, buffers and names, so weights, checkpoints, freezing and `as<BatchNorm3d>()` see a plain BatchNorm.
// They behave exactly like it unless a cross-process sum is installed (BatchNormSyncScope: the trainer installs one
// around the forward and backward pass of each training step when `sync_bn` is on in a multi-process run) AND the
// layer is in training mode. Then the per-channel mean and variance
// are those of all ranks' samples together (one all-reduce of [sum, sum of squares, count] per layer and forward,
// accumulated in double around the running mean as a shift), the running statistics are updated from them (so they
// stay equal on every rank), and the backward pass all-reduces the two per-channel gradient sums, so the gradients
// equal a single process's with the combined batch. Evaluation mode never communicates.
//
// Not covered: BatchNorm1d layers of the projection/classification heads (heads.cpp) stay per-rank.
#include <functional>

#include "medssl/core/torch_pch.h"

// LibTorch does not export BatchNormImplBase<D>::pretty_print (its explicit instantiations are hidden), yet the
// vtables of any subclass refer to it; sync_batch_norm.cpp defines these two specialisations (LibTorch's text).
namespace torch::nn {
template <>
void BatchNormImplBase<2, BatchNorm2dImpl>::pretty_print(std::ostream& stream) const;
template <>
void BatchNormImplBase<3, BatchNorm3dImpl>::pretty_print(std::ostream& stream) const;
}  // namespace torch::nn

namespace medssl::models {

/// Sums a tensor in place over every process of the run (all processes call it in the same order).
using CrossProcessSum = std::function<void(torch::Tensor&)>;

/// Installs `sum` for the BatchNorm layers of this process for the scope's lifetime (one training step).
/// Install and remove it on the training thread, outside forward/backward.
class BatchNormSyncScope {
 public:
  explicit BatchNormSyncScope(CrossProcessSum sum);
  ~BatchNormSyncScope();
  BatchNormSyncScope(const BatchNormSyncScope&) = delete;
  BatchNormSyncScope& operator=(const BatchNormSyncScope&) = delete;
};

/// True while a BatchNormSyncScope is alive.
bool batch_norm_sync_active();

/// Training-mode batch norm over the global batch (x is N, C, spatial...). `running_mean` / `running_var` may be
/// undefined (no running statistics); `weight` / `bias` undefined for affine=false. Needs an active scope.
torch::Tensor sync_batch_norm_train(const torch::Tensor& x, torch::Tensor running_mean, torch::Tensor running_var,
                                    const torch::Tensor& weight, const torch::Tensor& bias, double momentum, double eps);

class SyncBatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(SyncBatchNorm2d);

class SyncBatchNorm3dImpl : public torch::nn::BatchNorm3dImpl {
 public:
  using torch::nn::BatchNorm3dImpl::BatchNorm3dImpl;
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(SyncBatchNorm3d);

}  // namespace medssl::models
