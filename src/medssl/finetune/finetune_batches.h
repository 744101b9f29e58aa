#pragma once
// Training batches of a finetuning run, built in loader threads (train::ThreadedBatchSource):
//   segmentation    "image" (B, C, patch...) float, "label" (B, patch...) int64: a random crop of patch_size per
//                   spatial axis when the image is larger (image and label cut together), optional random flips
//                   along every spatial axis (p 0.5 each, image and label together). With foreground_oversample p
//                   > 0 the last round(B * p) samples of every batch are crops centred on a foreground voxel
//                   (nnU-Net's oversample_foreground_percent: a class drawn uniformly among the foreground classes
//                   the case holds, then one of its voxels; the window is shifted to stay inside the image), so
//                   small structures such as the pancreas and its lesion are seen in most batches.
//   classification  "image" (B, C, spatial...) float (flipped like above when augmenting), "label" (B) int64 grades.
// Epoch length: one pass over the training items by default; with `steps_per_epoch` > 0 exactly that many batches,
// drawn from as many freshly shuffled passes as needed (nnU-Net's fixed iterations per epoch), so a 5 % subset gets
// as many optimiser steps as the full set instead of one or two per epoch.
// A trailing batch of a single sample is dropped (BatchNorm cannot train on one sample; another item sits out each
// epoch since the order is reshuffled). The item order is shuffled per epoch and every random choice comes from medssl::Rng streams derived from the
// epoch seed and the batch index, so batches do not depend on the number of loader threads.
#include <vector>

#include "medssl/data/loader/image_set.h"
#include "medssl/train/batch_source.h"

namespace medssl::finetune {

struct FinetuneBatches {
  const data::ImageSet* set = nullptr;
  std::vector<int64_t> items;  ///< training items of `set`
  bool segmentation = true;
  int64_t batch_size = 2;
  int64_t patch_size = 0;  ///< 0 = whole images
  bool augment = false;
  int64_t steps_per_epoch = 0;  ///< 0 = one pass over `items`
  double foreground_oversample = 0.0;  ///< share of each batch cropped around a foreground voxel (needs patch_size)

  int64_t batches() const;
  train::Batch make(int64_t epoch, int64_t index, uint64_t epoch_seed) const;
};

}  // namespace medssl::finetune
