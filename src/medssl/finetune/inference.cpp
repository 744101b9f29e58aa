#include "medssl/finetune/inference.h"

#include "medssl/core/error.h"
#include "medssl/train/sliding_window.h"

namespace medssl::finetune {

torch::Device model_device(const torch::nn::Module& module) {
  auto params = module.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

torch::Tensor segmentation_logits(const FinetuneModel& model, const torch::Tensor& image, const InferenceOptions& o) {
  torch::Tensor x = image.unsqueeze(0).to(model_device(*model.module));
  bool larger = false;
  for (int64_t axis = 2; axis < x.dim(); ++axis) larger = larger || (o.patch_size > 0 && x.size(axis) > o.patch_size);
  torch::Tensor logits;
  if (larger) {
    train::SlidingWindowOptions sw({o.patch_size});
    sw.overlap({o.overlap}).sw_batch_size(std::max<int64_t>(1, o.batch_size)).mode(train::parse_blend_mode(o.blend));
    // The stitched output stays on the CPU: a whole volume's logits need not fit next to the model on a GPU.
    sw.device(torch::Device(torch::kCPU));
    logits = train::sliding_window_inference(x, [&](const torch::Tensor& w) { return model.forward(w); }, sw);
  } else {
    logits = model.forward(x);
  }
  return logits.squeeze(0).to(torch::kCPU, torch::kFloat32);
}

torch::Tensor volume_probabilities(const FinetuneModel& model, const torch::Tensor& volume, int slice_axis,
                                   const InferenceOptions& o) {
  check(volume.dim() == 4, "predict: expected a (C, D, H, W) volume, got {} dims", volume.dim());
  if (model.spec.spatial_dims == 3) return torch::softmax(segmentation_logits(model, volume, o), 0);
  check(slice_axis >= 1 && slice_axis <= 3, "predict: a 2D model applied to volumes needs a slice axis of 1..3, got {}",
        slice_axis);
  std::vector<torch::Tensor> slices;
  for (int64_t s = 0; s < volume.size(slice_axis); ++s)
    slices.push_back(torch::softmax(segmentation_logits(model, volume.select(slice_axis, s), o), 0));
  // Each slice is (K, a, b); stacking on slice_axis puts the slice index back where it was in (K, D, H, W).
  return torch::stack(slices, slice_axis);
}

}  // namespace medssl::finetune
