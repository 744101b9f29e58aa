#include "medssl/finetune/finetune_batches.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"

namespace medssl::finetune {

namespace {

// A voxel (spatial indices) of a foreground class drawn uniformly among the classes > 0 that `label` (1, spatial...)
// holds; empty when the case has no foreground (an empty label map: the crop stays random).
std::vector<int64_t> foreground_voxel(const torch::Tensor& label, Rng& rng) {
  const torch::Tensor classes = std::get<0>(torch::_unique(label.flatten(), /*sorted=*/true));
  std::vector<int64_t> present;
  const torch::Tensor as_long = classes.to(torch::kInt64);
  for (int64_t i = 0; i < as_long.numel(); ++i)
    if (as_long[i].item<int64_t>() > 0) present.push_back(as_long[i].item<int64_t>());
  if (present.empty()) return {};
  const int64_t cls = present[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(present.size()) - 1))];
  const torch::Tensor where = torch::nonzero(label[0] == cls);  // (N, spatial dims)
  const int64_t pick = rng.uniform_int(0, where.size(0) - 1);
  const torch::Tensor voxel = where[pick].contiguous();
  return std::vector<int64_t>(voxel.data_ptr<int64_t>(), voxel.data_ptr<int64_t>() + voxel.numel());
}

}  // namespace

int64_t FinetuneBatches::batches() const {
  if (steps_per_epoch > 0) return steps_per_epoch;
  const int64_t n = static_cast<int64_t>(items.size());
  // A trailing batch of ONE sample is dropped: BatchNorm cannot train on it (one value per channel at the pooled
  // end of DenseNet / the UNet bottleneck). The order is reshuffled every epoch, so another item sits out each time.
  if (n > 1 && batch_size > 1 && n % batch_size == 1) return n / batch_size;
  return (n + batch_size - 1) / batch_size;
}

train::Batch FinetuneBatches::make(int64_t epoch, int64_t index, uint64_t epoch_seed) const {
  std::vector<int64_t> order = items;
  Rng order_rng = Rng::derive(epoch_seed, "finetune-order", static_cast<uint64_t>(epoch));
  order_rng.shuffle(order);
  const int64_t begin = index * batch_size;
  // Fixed-length epochs: further passes, each shuffled on its own stream, until this batch is covered; batches never
  // straddle short, so every step sees batch_size samples.
  for (uint64_t pass = 1; steps_per_epoch > 0 && static_cast<int64_t>(order.size()) < begin + batch_size; ++pass) {
    std::vector<int64_t> more = items;
    Rng pass_rng = Rng::derive(epoch_seed, "finetune-order-pass-" + std::to_string(pass), static_cast<uint64_t>(epoch));
    pass_rng.shuffle(more);
    order.insert(order.end(), more.begin(), more.end());
  }
  Rng rng = Rng::derive(epoch_seed, "finetune-batch", static_cast<uint64_t>(index));
  const int64_t end = std::min<int64_t>(begin + batch_size, static_cast<int64_t>(order.size()));
  // nnU-Net's rule: of a batch of B, the samples from round(B * (1 - p)) on are forced to hold foreground.
  const int64_t forced_from = static_cast<int64_t>(std::lround(static_cast<double>(batch_size) * (1.0 - foreground_oversample)));
  std::vector<torch::Tensor> images, labels;
  for (int64_t k = begin; k < end; ++k) {
    const int64_t item = order[static_cast<size_t>(k)];
    torch::Tensor image = set->image(item);
    torch::Tensor label;
    if (segmentation) {
      label = set->label(item);
      check(label.defined(), "finetune: training case {} has no label map", set->id(item));
      // Random crop, the same window for image and label; the batch's last samples centred on foreground.
      const bool oversample = foreground_oversample > 0 && k - begin >= forced_from;
      const std::vector<int64_t> centre = oversample ? foreground_voxel(label, rng) : std::vector<int64_t>{};
      for (int64_t axis = 1; axis < image.dim(); ++axis) {
        const int64_t side = image.size(axis);
        if (patch_size <= 0 || side <= patch_size) continue;
        const int64_t start =
            centre.empty() ? rng.uniform_int(0, side - patch_size)
                           : std::clamp<int64_t>(centre[static_cast<size_t>(axis - 1)] - patch_size / 2, 0, side - patch_size);
        image = image.narrow(axis, start, patch_size);
        label = label.narrow(axis, start, patch_size);
      }
    }
    if (augment) {
      for (int64_t axis = 1; axis < image.dim(); ++axis) {
        if (!rng.bernoulli(0.5)) continue;
        image = image.flip({axis});
        if (segmentation) label = label.flip({axis});
      }
    }
    images.push_back(image.contiguous());
    if (segmentation) {
      labels.push_back(label.squeeze(0).to(torch::kInt64).contiguous());
    } else {
      const int grade = set->grade(item);
      check(grade >= 0, "finetune: training image {} has no grade", set->id(item));
      labels.push_back(torch::tensor(static_cast<int64_t>(grade), torch::kInt64));
    }
  }
  train::Batch batch;
  batch.tensors["image"] = torch::stack(images);
  batch.tensors["label"] = torch::stack(labels);
  batch.size = static_cast<int64_t>(images.size());
  return batch;
}

}  // namespace medssl::finetune
