#pragma once
// What the two-view contrastive methods (simsiam, simclr) share: each image gives two crops whose IoU lies in
// [min_iou, max_iou] (iou_crop_pairs.h), each augmented on its own (contrastive_views.h), handed to the step as
// batch tensors "view1" and "view2" (B, C, crop...). Keys (TaskSpec::params, reference names where it has them):
//   crop_size   side of both crops (reference 96; default: data_dim / 2)
//   min_iou, max_iou   the interval (defaults 0, 1 = plain random crops)
//   iou_sampler "direct" (default: exact sampling from the admissible positions) | "reference" (the reference's
//               rejection sampler with its fallback; the batch then carries "fell_back" per pair, logged as the
//               metric pair_fallback)
//   view_augment  true (default) | false: the per-view augmentations
#include <string>

#include "medssl/pretext/contrastive_views.h"
#include "medssl/pretext/iou_crop_pairs.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

struct ContrastivePairOptions {
  int64_t crop_size = 0;
  IouInterval interval;
  bool reference_sampler = false;
  bool augment = true;
  ViewAugmentOptions view;
};

/// Reads the keys above from `spec.params` (errors name the task and key).
ContrastivePairOptions contrastive_pair_options(const TaskSpec& spec, const std::string& task);

/// "view1", "view2" (B, C, crop...) and, for the reference sampler, "fell_back" (B) float.
train::Batch contrastive_pair_batch(const std::vector<Sample>& samples, const ContrastivePairOptions& options,
                                    const TaskSpec& spec, Rng& rng, const std::string& task);

/// A contrastive network: the encoder plus named heads; embed() = the encoder's pooled/flattened features.
class ContrastiveModelImpl : public PretextModelImpl {
 public:
  explicit ContrastiveModelImpl(const TaskSpec& spec, int64_t crop_side);
  torch::Tensor embed(const torch::Tensor& views) { return encode_flat(*encoder, views); }
  int64_t embedding_width() const { return embedding_width_; }

 private:
  int64_t embedding_width_ = 0;
};

/// params[key] as a number, `fallback` when absent; errors name the task and key.
double number_param(const TaskSpec& spec, const std::string& key, double fallback, const std::string& task);

}  // namespace medssl::pretext
