#pragma once
// Running a finetuned segmentation model on one whole image: directly when the image fits the training patch, else by
// sliding-window inference (train/sliding_window.h) with windows of the patch size. One function for validation,
// `evaluate` and `predict`, so all three see the same outputs.
#include "medssl/core/torch_pch.h"
#include "medssl/finetune/finetune_model.h"

namespace medssl::finetune {

struct InferenceOptions {
  int64_t patch_size = 0;  ///< sliding-window roi side; 0 or >= the image side = whole-image inference
  double overlap = 0.25;
  int64_t batch_size = 4;  ///< windows (or slices) per forward pass
  std::string blend = "constant";  ///< sliding-window blending: constant | gaussian
};

/// The device the model's parameters live on (CPU for a model without parameters).
torch::Device model_device(const torch::nn::Module& module);

/// Logits (K, spatial...) float32 on the CPU for one image (C, spatial...) of the model's dimensionality.
/// The caller sets eval mode and no-grad.
torch::Tensor segmentation_logits(const FinetuneModel& model, const torch::Tensor& image, const InferenceOptions& o);

/// Class probabilities (K, D, H, W) float32 on the CPU for a volume (C, D, H, W): a 3D model on the whole volume, or
/// a 2D model (model.spec.spatial_dims == 2) on each slice along `slice_axis` (1, 2 or 3 of (C, D, H, W)), stacked.
torch::Tensor volume_probabilities(const FinetuneModel& model, const torch::Tensor& volume, int slice_axis,
                                   const InferenceOptions& o);

}  // namespace medssl::finetune
