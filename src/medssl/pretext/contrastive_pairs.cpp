#include "medssl/pretext/contrastive_pairs.h"

#include "medssl/core/error.h"
#include "medssl/pretext/classification_head.h"

namespace medssl::pretext {

double number_param(const TaskSpec& spec, const std::string& key, double fallback, const std::string& task) {
  if (!spec.params.contains(key) || spec.params.at(key).is_null()) return fallback;
  check(spec.params.at(key).is_number(), "{}: '{}' must be a number, got {}", task, key, spec.params.at(key).dump());
  return spec.params.at(key).get<double>();
}

ContrastivePairOptions contrastive_pair_options(const TaskSpec& spec, const std::string& task) {
  ContrastivePairOptions o;
  o.crop_size = integer_param(spec, "crop_size", std::max<int64_t>(1, spec.data_dim / 2), task);
  check(o.crop_size >= 1 && o.crop_size <= spec.data_dim, "{}: crop_size {} must be in 1..data_dim ({})", task,
        o.crop_size, spec.data_dim);
  o.interval.min_iou = number_param(spec, "min_iou", 0.0, task);
  o.interval.max_iou = number_param(spec, "max_iou", 1.0, task);
  check(o.interval.min_iou >= 0 && o.interval.max_iou <= 1 && o.interval.min_iou <= o.interval.max_iou,
        "{}: need 0 <= min_iou <= max_iou <= 1, got min_iou {} max_iou {}", task, o.interval.min_iou, o.interval.max_iou);
  const std::string sampler = spec.params.value("iou_sampler", std::string("direct"));
  check(sampler == "direct" || sampler == "reference", "{}: iou_sampler must be direct or reference, got \"{}\"", task,
        sampler);
  o.reference_sampler = sampler == "reference";
  o.augment = spec.params.value("view_augment", true);
  check_encoder_fits(spec, o.crop_size, task, "crops");
  // Fail at start-up, not in a loader thread, when the interval cannot be met on these images.
  Rng probe = Rng::derive(0, "contrastive-interval-check");
  std::vector<int64_t> image(static_cast<size_t>(spec.spatial_dims), spec.data_dim);
  std::vector<int64_t> crop(static_cast<size_t>(spec.spatial_dims), o.crop_size);
  sample_iou_pair(image, crop, crop, o.interval, probe);
  return o;
}

train::Batch contrastive_pair_batch(const std::vector<Sample>& samples, const ContrastivePairOptions& o,
                                    const TaskSpec& spec, Rng& rng, const std::string& task) {
  std::vector<torch::Tensor> first, second;
  std::vector<float> fell_back;
  for (const auto& s : samples) {
    const torch::Tensor& image = checked_image(s, spec, task);
    std::vector<int64_t> shape(image.sizes().begin() + 1, image.sizes().end());
    std::vector<int64_t> crop(shape.size(), o.crop_size);
    const CropPair pair = o.reference_sampler ? sample_iou_pair_rejection(shape, crop, o.interval, rng)
                                              : sample_iou_pair(shape, crop, crop, o.interval, rng);
    auto cut = [&](const CropBox& box) {
      torch::Tensor view = image;
      for (size_t d = 0; d < box.start.size(); ++d) view = view.narrow(static_cast<int64_t>(d) + 1, box.start[d], box.size[d]);
      return o.augment ? augment_view(view, o.view, rng) : view.contiguous();
    };
    first.push_back(cut(pair.first));
    second.push_back(cut(pair.second));
    fell_back.push_back(pair.fell_back ? 1.0f : 0.0f);
  }
  train::Batch batch;
  batch.tensors["view1"] = torch::stack(first);
  batch.tensors["view2"] = torch::stack(second);
  if (o.reference_sampler) batch.tensors["fell_back"] = torch::tensor(fell_back);
  batch.size = static_cast<int64_t>(samples.size());
  return batch;
}

ContrastiveModelImpl::ContrastiveModelImpl(const TaskSpec& spec, int64_t crop_side) {
  encoder = register_module("encoder", build_encoder(spec));
  embedding_width_ = encoded_width(*encoder, spec, crop_side);
}

}  // namespace medssl::pretext
