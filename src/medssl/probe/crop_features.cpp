#include "medssl/probe/crop_features.h"

#include <algorithm>
#include <map>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"
#include "medssl/pretext/task.h"

namespace medssl::probe {

namespace {

// Label map of item i as (spatial...) int64, with a clear error for unlabelled items.
torch::Tensor label_of(const data::ImageSet& set, int64_t i) {
  torch::Tensor label = set.label(i);
  check(label.defined(), "probe: {} has no label map (the probe needs a labelled data set)", set.id(i));
  return label.squeeze(0);
}

// Spatial index of the flat position `flat` in a tensor of shape `shape`.
std::vector<int64_t> unravel(int64_t flat, at::IntArrayRef shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

// A uniformly drawn voxel of `label` whose class is `cls` (which must occur).
std::vector<int64_t> draw_voxel(const torch::Tensor& label, int64_t cls, Rng& rng) {
  const torch::Tensor where = label.flatten().eq(cls).nonzero().flatten();
  check(where.numel() > 0, "probe: internal error, class {} absent where it was counted", cls);
  const int64_t pick = rng.uniform_int(0, where.numel() - 1);
  return unravel(where[pick].item<int64_t>(), label.sizes());
}

}  // namespace

std::vector<CropCentre> sample_crop_centres(const data::ImageSet& set, const std::vector<int64_t>& items,
                                            int64_t num_classes, const CropSamplingOptions& options) {
  check(!items.empty(), "probe: no labelled items to draw crops from");
  check(options.count > 0 && options.side > 0, "probe: --crops and the crop side must be positive");
  // Which items hold which class (one pass over the label maps).
  std::vector<std::vector<int64_t>> holders(static_cast<size_t>(num_classes));
  for (int64_t item : items) {
    const torch::Tensor counts = torch::bincount(label_of(set, item).flatten(), {}, num_classes);
    check(counts.numel() == num_classes, "probe: {} has labels >= {} (the data set declares {} classes)", set.id(item),
          num_classes, num_classes);
    for (int64_t k = 0; k < num_classes; ++k)
      if (counts[k].item<int64_t>() > 0) holders[static_cast<size_t>(k)].push_back(item);
  }
  std::vector<int64_t> present;
  for (int64_t k = 0; k < num_classes; ++k)
    if (!holders[static_cast<size_t>(k)].empty()) present.push_back(k);

  Rng rng = Rng::derive(options.seed, "probe-crops");
  std::vector<CropCentre> centres;
  centres.reserve(static_cast<size_t>(options.count));
  for (int64_t n = 0; n < options.count; ++n) {
    CropCentre c;
    if (options.balanced) {
      const int64_t cls = present[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(present.size()) - 1))];
      const auto& pool = holders[static_cast<size_t>(cls)];
      c.item = pool[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(pool.size()) - 1))];
      c.position = draw_voxel(label_of(set, c.item), cls, rng);
      c.label = cls;
    } else {
      c.item = items[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(items.size()) - 1))];
      const torch::Tensor label = label_of(set, c.item);
      c.position = unravel(rng.uniform_int(0, label.numel() - 1), label.sizes());
      std::vector<at::indexing::TensorIndex> index(c.position.begin(), c.position.end());
      c.label = label.index(index).item<int64_t>();
    }
    centres.push_back(std::move(c));
  }
  return centres;
}

torch::Tensor crop_around(const torch::Tensor& image, const std::vector<int64_t>& position, int64_t side,
                          double pad_value) {
  const int64_t dims = image.dim() - 1;
  check(static_cast<int64_t>(position.size()) == dims, "probe: crop centre has {} coordinates for a {}D image",
        position.size(), dims);
  // Pad by side/2 before and side - side/2 after each axis: the crop [p, p + side) of the padded image then holds
  // the original voxels [p - side/2, p - side/2 + side), centre at index side/2.
  std::vector<int64_t> pad;
  for (int64_t d = 0; d < dims; ++d) {
    pad.push_back(side / 2);
    pad.push_back(side - side / 2);
  }
  // constant_pad_nd lists pads from the LAST axis backwards; the pad is symmetric per axis, so the order is moot.
  torch::Tensor crop = torch::constant_pad_nd(image, pad, pad_value);
  for (int64_t d = 0; d < dims; ++d) {
    const int64_t p = position[static_cast<size_t>(d)];
    check(p >= 0 && p < image.size(d + 1), "probe: crop centre {} outside axis {} of size {}", p, d, image.size(d + 1));
    crop = crop.narrow(d + 1, p, side);
  }
  return crop.contiguous();
}

CropFeatures extract_crop_features(const data::ImageSet& set, const std::vector<CropCentre>& centres,
                                   torch::nn::Module& encoder, const CropSamplingOptions& options) {
  check(!centres.empty(), "probe: no crops to encode");
  const bool was_training = encoder.is_training();
  encoder.eval();  // frozen: dropout off, norms use their running statistics
  torch::NoGradGuard no_grad;
  auto parameters = encoder.parameters();
  const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();

  // Crops of one item are cut together, so each image is read and padded once (items are cached by ImageSet anyway).
  std::vector<size_t> order(centres.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return centres[a].item < centres[b].item; });

  std::vector<torch::Tensor> rows(centres.size());
  std::vector<torch::Tensor> batch;
  std::vector<size_t> batch_slots;
  auto flush = [&] {
    if (batch.empty()) return;
    const torch::Tensor features = pretext::encode_flat(encoder, torch::stack(batch).to(device)).to(torch::kCPU);
    for (size_t j = 0; j < batch_slots.size(); ++j) rows[batch_slots[j]] = features[static_cast<int64_t>(j)];
    batch.clear();
    batch_slots.clear();
  };
  int64_t loaded_item = -1;
  torch::Tensor image;
  double pad_value = 0.0;
  for (size_t slot : order) {
    const CropCentre& c = centres[slot];
    if (c.item != loaded_item) {
      image = set.image(c.item);
      pad_value = image.min().item<double>();
      loaded_item = c.item;
    }
    batch.push_back(crop_around(image, c.position, options.side, pad_value));
    batch_slots.push_back(slot);
    if (static_cast<int64_t>(batch.size()) >= std::max<int64_t>(1, options.batch_size)) flush();
  }
  flush();
  encoder.train(was_training);

  CropFeatures out;
  out.features = torch::stack(rows).to(torch::kFloat32);
  std::vector<int64_t> labels;
  for (const auto& c : centres) labels.push_back(c.label);
  out.labels = torch::tensor(labels, torch::kInt64);
  return out;
}

}  // namespace medssl::probe
