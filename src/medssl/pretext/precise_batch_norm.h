#pragma once
// "Precise BatchNorm" (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", section 3): before a model is evaluated,
// every BatchNorm's running mean and variance are recomputed as the plain average of the batch statistics over a few
// training batches, with the current weights and with dropout off (as in eval mode).
//
// Why pretraining needs it: the reference's BatchNorm layers use Keras momentum 0.99 (torch 0.01), so the moving
// averages that eval mode normalises with still carry 0.99^n of their initial values (mean 0, variance 1) after n
// steps: 79 % after 23 steps (one epoch of 180 volumes in batches of 8), 16 % after 184. Stacked over a dozen layers,
// the eval-mode network of a short run is a different function from the one being trained: its validation accuracy
// sits at one class's frequency and the validation losses of exemplar / cpc at their chance values, whatever the
// weights have learned. The encoder saved from the run carries the recalibrated statistics too, so a frozen-encoder
// probe or an eval-mode use downstream sees the statistics of the weights it gets.
#include <cstdint>
#include <functional>

#include "medssl/core/torch_pch.h"

namespace medssl::pretext {

/// Recomputes the running statistics of every BatchNorm1d/2d/3d in `model` (subclasses included) from `batches` calls
/// of `forward_batch(i)`, i = 0 .. batches-1, each of which must run one forward pass of `model` on training data.
/// During the passes the model is in eval mode except for its BatchNorm layers (so dropout is off) and gradients are
/// off. Afterwards every module's train/eval flag and every BatchNorm's momentum and num_batches_tracked are restored.
/// Returns the number of BatchNorm layers recalibrated; with none, or batches <= 0, `forward_batch` is never called
/// and nothing changes.
int64_t recalibrate_batch_norm(torch::nn::Module& model, int64_t batches,
                               const std::function<void(int64_t)>& forward_batch);

/// Number of BatchNorm1d/2d/3d layers (subclasses included) in `model`.
int64_t count_batch_norm_layers(torch::nn::Module& model);

}  // namespace medssl::pretext
