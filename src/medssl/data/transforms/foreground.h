#pragma once
// Foreground bounding box and cropping to it (drop the air around a body, the black border around a fundus photo).
//
// MONAI equivalent: CropForeground(select_fn=lambda x: x > threshold, margin, allow_smaller=True): a voxel is
// foreground if ANY channel is > threshold; the box is inclusive of the last foreground voxel (unlike the reference's
// exclusive slicing bug), grown by `margin` voxels on each side and clipped to the image. nnU-Net: crop_to_nonzero
// (threshold 0, no margin).
//
// All-background images: MONAI would return an empty crop. medssl returns the whole image unchanged with
// `found = false` and logs a warning naming the file, so one blank case never stops a preprocessing run.
#include <optional>
#include <vector>

#include "medssl/data/transforms/crop.h"
#include "medssl/data/volume/volume.h"

namespace medssl {

/// Box of the voxels > threshold (any channel) of a (C, *spatial) tensor, grown by `margin` voxels per side and
/// clipped to the image; std::nullopt if no voxel is above the threshold.
std::optional<SpatialBox> foreground_bbox(const torch::Tensor& data, double threshold = 0.0, int64_t margin = 0);

struct ForegroundCrop {
  Volume volume;   ///< the cropped volume (the input unchanged if nothing was found)
  SpatialBox box;  ///< the box applied (the whole image if nothing was found); apply it to the label with crop_with_box
  bool found = false;
};
ForegroundCrop crop_to_foreground(const Volume& volume, double threshold = 0.0, int64_t margin = 0);

struct ForegroundCrop2D {
  Image2D image;
  SpatialBox box;
  bool found = false;
};
ForegroundCrop2D crop_to_foreground(const Image2D& image, double threshold = 0.0, int64_t margin = 0);

}  // namespace medssl
