#include "medssl/models/unet_encoder.h"

#include "medssl/core/error.h"
#include "medssl/models/layers.h"

namespace medssl::models {

UNetEncoderImpl::UNetEncoderImpl(UNetEncoderOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "unet encoder");
  check_unet_variant(options_.variant());
  check(options_.in_channels() >= 1, "unet encoder: in_channels must be >= 1, got {}", options_.in_channels());
  check(options_.enc_filters() >= 1, "unet encoder: enc_filters must be >= 1, got {}", options_.enc_filters());
  check(options_.num_layers() >= 1 && options_.num_layers() <= 8, "unet encoder: num_layers must be in 1..8, got {}",
        options_.num_layers());
  const auto& pooling = options_.pooling();
  check(pooling == "max" || pooling == "avg" || pooling == "none" || pooling == "global_max" || pooling == "global_avg",
        "unet encoder: pooling must be \"max\", \"avg\", \"global_max\", \"global_avg\" or \"none\", got \"{}\"",
        pooling);

  auto block = [&](int64_t in, int64_t out) {
    return UNetBlock(UNetBlockOptions(in, out)
                         .spatial_dims(dims)
                         .variant(options_.variant())
                         .dropout(options_.dropout()));
  };
  int64_t in = options_.in_channels();
  for (int64_t level = 0; level < options_.num_layers(); ++level) {
    const int64_t filters = options_.enc_filters() << level;
    down_.push_back(register_module("down" + std::to_string(level), block(in, filters)));
    in = filters;
  }
  bottleneck_ = register_module("bottleneck", block(in, options_.bottleneck_filters()));
  downsample_ = make_max_pool(dims, 2, 2);
  if (pooling == "max") final_pool_ = make_max_pool(dims, 2, 2);
  if (pooling == "avg") final_pool_ = make_avg_pool(dims, 2, 2);
}

UNetFeatures UNetEncoderImpl::forward(const torch::Tensor& x) {
  const int64_t dims = options_.spatial_dims();
  check(x.dim() == dims + 2 && x.size(1) == options_.in_channels(),
        "unet encoder: expected input (N, {}, {}), got {}", options_.in_channels(), dims == 3 ? "D, H, W" : "H, W",
        shape_string(x));
  // Each level halves (floor) the size; the bottleneck (and a final 2x pool) need at least 1 voxel per axis.
  const int64_t levels = options_.num_layers() + (final_pool_.is_empty() ? 0 : 1);
  const std::string& pooling = options_.pooling();
  for (int64_t axis = 2; axis < x.dim(); ++axis)
    check((x.size(axis) >> levels) >= 1, "unet encoder: spatial size {} on axis {} is too small for {} halvings",
          x.size(axis), axis - 2, levels);

  UNetFeatures features;
  auto h = x;
  for (auto& block : down_) {
    h = block->forward(h);
    features.skips.push_back(h);
    h = downsample_.forward(h);
  }
  std::reverse(features.skips.begin(), features.skips.end());
  features.bottleneck = bottleneck_->forward(h);
  if (pooling == "global_max" || pooling == "global_avg") {
    // Over the whole bottleneck map, as the contrastive methods' backbones (SimCLR's ResNet) end: the embedding
    // then does not depend on where in the crop a structure lies. The reference's 2x pool + flatten keeps the
    // layout, and with an odd map ("max" of 3^3 -> 1) sees only part of the crop.
    std::vector<int64_t> spatial;
    for (int64_t axis = 2; axis < x.dim(); ++axis) spatial.push_back(axis);
    features.output = pooling == "global_max" ? features.bottleneck.amax(spatial, /*keepdim=*/true)
                                              : features.bottleneck.mean(spatial, /*keepdim=*/true);
  } else {
    features.output = final_pool_.is_empty() ? features.bottleneck : final_pool_.forward(features.bottleneck);
  }
  return features;
}

}  // namespace medssl::models
