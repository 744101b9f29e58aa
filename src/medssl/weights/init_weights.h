#pragma once
// `--init-weights FILE [--allow-partial]` of the training verbs: start a model from the weights of a file.
//
//   // a UNet whose encoder comes from `medssl export --part encoder` (names without "encoder."):
//   init_weights(*unet, "encoder.pt", InitWeightsOptions().target_prefix("encoder.").allow_partial(true));
//   // a bare encoder from a whole pretext / segmentation checkpoint:
//   init_weights(*encoder, "run/checkpoints/best.pt", InitWeightsOptions().source_prefix("encoder."));
//
// FILE may be any weights file (weights_file.h): a medssl checkpoint (last.pt / best.pt), a file written by
// `medssl export`, or a Python torch.save(model.state_dict()). Name mapping: keep only the file's keys under
// source_prefix and strip it, then prepend target_prefix. MONAI >= 1.4's never-used ViT cross-attention keys
// (models/transformer_block.h) are dropped before matching.
//
// Strict (default): every model parameter and buffer must be in the file with the same shape, and the file must hold
// nothing else; otherwise medssl::Error names the file and lists the first 10 missing, unexpected and mis-shaped keys
// with their shapes, and the model is left untouched. allow_partial: the matching keys are loaded, the rest is
// returned in the LoadReport and logged (a warning); still an error if not a single key matches.
#include <string>

#include "medssl/core/torch_pch.h"
#include "medssl/weights/state_dict_io.h"

namespace medssl::weights {

struct InitWeightsOptions {
  TORCH_ARG(bool, allow_partial) = false;
  TORCH_ARG(std::string, source_prefix) = "";  ///< only the file's keys under this prefix, with it removed
  TORCH_ARG(std::string, target_prefix) = "";  ///< prepended to every key (after source_prefix is removed)
};

/// Loads `file` into `model` (its parameters and buffers, converting the dtype, keeping the model's device) and says
/// what was loaded and what was skipped.
LoadReport init_weights(torch::nn::Module& model, const std::string& file, const InitWeightsOptions& options = {});

}  // namespace medssl::weights
