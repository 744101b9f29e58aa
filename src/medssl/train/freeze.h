#pragma once
// Freezing part of a model the way TF2's `layer.trainable = False` does (the reference's frozen-encoder warm-up):
// frozen parameters get requires_grad false and are left out of the optimiser, frozen BatchNorm layers normalise
// with their running statistics (and stop updating them), and Dropout inside the frozen part stays active.
//
// A BatchNorm layer counts as frozen when it has affine parameters and none of them requires grad; so the freeze
// state lives in the parameters themselves and survives model.train() calls, checkpoints and optimiser rebuilds.
// (A BatchNorm without affine parameters cannot be recognised as frozen and keeps training-mode statistics.)
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

/// Sets requires_grad = false on every parameter whose qualified name starts with `prefix` (e.g. "encoder" or
/// "encoder.down2"). An empty prefix freezes the whole model. Returns the number of tensors frozen; throws
/// medssl::Error if the prefix matches no parameter.
size_t freeze(torch::nn::Module& model, const std::string& prefix);

/// The inverse of freeze (requires_grad = true). Rebuild the optimiser afterwards so the unfrozen parameters are
/// optimised (the trainer does so at TrainerOptions::unfreeze_at_epoch).
size_t unfreeze(torch::nn::Module& model, const std::string& prefix);

/// Puts every frozen BatchNorm layer into eval mode. Call after each model.train() (the trainer does so at every
/// epoch start and after validation). Returns the number of BatchNorm layers switched to eval.
size_t apply_freeze_mode(torch::nn::Module& model);

/// True if `module` is a BatchNorm1d/2d/3d layer.
bool is_batch_norm(const torch::nn::Module& module);

}  // namespace medssl::train
