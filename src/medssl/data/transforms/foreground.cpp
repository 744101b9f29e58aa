#include "medssl/data/transforms/foreground.h"

#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace medssl {

std::optional<SpatialBox> foreground_bbox(const torch::Tensor& data, double threshold, int64_t margin) {
  const std::vector<int64_t> shape = spatial_shape(data, "foreground_bbox");
  check(margin >= 0, "foreground_bbox: margin {} must not be negative", margin);
  const torch::Tensor mask = (data > threshold).any(0);  // (*spatial): foreground in any channel
  SpatialBox box;
  const int64_t dims = static_cast<int64_t>(shape.size());
  for (int64_t a = 0; a < dims; ++a) {
    // Collapse every other axis: which planes along axis a contain foreground.
    torch::Tensor planes = mask;
    for (int64_t other = dims - 1; other >= 0; --other)
      if (other != a) planes = planes.any(other);
    const torch::Tensor hits = planes.nonzero();
    if (hits.numel() == 0) return std::nullopt;
    const int64_t first = hits.min().item<int64_t>();
    const int64_t last = hits.max().item<int64_t>();
    const int64_t start = std::max<int64_t>(0, first - margin);
    const int64_t stop = std::min<int64_t>(shape[static_cast<size_t>(a)], last + 1 + margin);
    box.start.push_back(start);
    box.size.push_back(stop - start);
  }
  return box;
}

namespace {

SpatialBox whole(const std::vector<int64_t>& shape) { return SpatialBox{std::vector<int64_t>(shape.size(), 0), shape}; }

}  // namespace

ForegroundCrop crop_to_foreground(const Volume& volume, double threshold, int64_t margin) {
  check(volume.data.defined() && volume.data.dim() == 4, "crop_to_foreground '{}': volume data must be (C, D, H, W)",
        volume.path);
  std::optional<SpatialBox> box = foreground_bbox(volume.data, threshold, margin);
  if (!box) {
    log::warn("crop_to_foreground: '{}' has no voxel above {}; keeping the whole volume", volume.path, threshold);
    return ForegroundCrop{volume, whole(spatial_shape(volume.data, "crop_to_foreground")), false};
  }
  return ForegroundCrop{crop_with_box(volume, *box), *box, true};
}

ForegroundCrop2D crop_to_foreground(const Image2D& image, double threshold, int64_t margin) {
  check(image.data.defined() && image.data.dim() == 3, "crop_to_foreground '{}': image data must be (C, H, W)",
        image.path);
  std::optional<SpatialBox> box = foreground_bbox(image.data, threshold, margin);
  if (!box) {
    log::warn("crop_to_foreground: '{}' has no pixel above {}; keeping the whole image", image.path, threshold);
    return ForegroundCrop2D{image, whole(spatial_shape(image.data, "crop_to_foreground")), false};
  }
  return ForegroundCrop2D{crop_with_box(image, *box), *box, true};
}

}  // namespace medssl
