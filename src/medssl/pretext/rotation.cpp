#include "medssl/pretext/rotation.h"

#include <algorithm>

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/models/layers.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

int64_t rotation_classes(int spatial_dims) {
  check(spatial_dims == 2 || spatial_dims == 3, "rotation: images must be 2D or 3D, got {}D", spatial_dims);
  return spatial_dims == 2 ? 4 : 10;
}

torch::Tensor rotate_image(const torch::Tensor& image, int64_t rotation, int spatial_dims) {
  const int64_t classes = rotation_classes(spatial_dims);
  check(rotation >= 0 && rotation < classes, "rotation: class {} is outside 0..{}", rotation, classes - 1);
  check(image.dim() == spatial_dims + 1, "rotation: expected a (C, *spatial) image with {} spatial axes, got {}",
        spatial_dims, models::shape_string(image));
  if (rotation == 0) return image.contiguous();
  // torch::rot90(x, k, {a, b}) = np.rot90(x, k, axes=(a, b)); +1 skips the channel axis.
  if (spatial_dims == 2) return torch::rot90(image, rotation, {1, 2}).contiguous();
  // Each 3D plane is written as the axis pair whose first power (k = 1) is the reference's "90 degree" class:
  // rot90 with axes (a, b) flips axis b and then swaps a and b.
  static const int64_t planes[3][2] = {{1, 2}, {3, 2}, {3, 1}};  // spatial (0,1), (2,1), (2,0)
  const auto* plane = planes[(rotation - 1) / 3];
  return torch::rot90(image, (rotation - 1) % 3 + 1, {plane[0], plane[1]}).contiguous();
}

namespace {

const char* const kTask = "rotation";

class RotationTask : public PatchClassificationTask {
 public:
  explicit RotationTask(const TaskSpec& spec)
      : PatchClassificationTask(spec, PatchClassifierOptions(1, spec.data_dim, rotation_classes(spec.spatial_dims)),
                                kTask),
        classes_(rotation_classes(spec.spatial_dims)) {
    check_encoder_fits(spec_, spec_.data_dim, kTask, "images");
  }

  std::string name() const override { return kTask; }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const override {
    check(!samples.empty(), "rotation: make_batch needs at least one sample");
    std::vector<torch::Tensor> images;
    std::vector<int64_t> labels;
    images.reserve(samples.size());
    labels.reserve(samples.size());
    for (const auto& sample : samples) {
      const Sample square{square_image(sample.image), sample.negative, sample.index};
      const torch::Tensor& image = checked_image(square, spec_, kTask);
      const int64_t rotation = rng.uniform_int(0, classes_ - 1);
      images.push_back(rotate_image(image, rotation, spec_.spatial_dims));
      labels.push_back(rotation);
    }
    return labelled_batch(images, labels);
  }

 private:
  /// The reference centre-crops non-square images to a square before rotating (a rotation must keep the shape).
  torch::Tensor square_image(const torch::Tensor& image) const {
    if (!image.defined() || image.dim() != spec_.spatial_dims + 1) return image;  // checked_image reports it
    const auto sizes = image.sizes().slice(1);
    const int64_t side = *std::min_element(sizes.begin(), sizes.end());
    if (std::all_of(sizes.begin(), sizes.end(), [&](int64_t s) { return s == side; })) return image;
    return center_crop(image, std::vector<int64_t>(static_cast<size_t>(spec_.spatial_dims), side));
  }

  int64_t classes_;
};

}  // namespace

std::unique_ptr<PretextTask> make_rotation_task(const TaskSpec& spec) { return std::make_unique<RotationTask>(spec); }

}  // namespace medssl::pretext
