#include "medssl/models/unet_decoder.h"

#include "medssl/core/error.h"
#include "medssl/models/fast_layers.h"
#include "medssl/models/layers.h"

namespace medssl::models {

UNetDecoderOptions UNetDecoderOptions::matching(const UNetEncoderOptions& encoder, int64_t num_classes) {
  return UNetDecoderOptions()
      .spatial_dims(encoder.spatial_dims())
      .num_classes(num_classes)
      .enc_filters(encoder.enc_filters())
      .num_layers(encoder.num_layers())
      .encoder_pooled(encoder.pooling() == "max" || encoder.pooling() == "avg")
      .variant(encoder.variant())
      .dropout(encoder.dropout());
}

UNetDecoderImpl::UNetDecoderImpl(UNetDecoderOptions options) : options_(std::move(options)) {
  const int dims = options_.spatial_dims();
  check_spatial_dims(dims, "unet decoder");
  check_unet_variant(options_.variant());
  check(options_.num_classes() >= 1, "unet decoder: num_classes must be >= 1, got {}", options_.num_classes());
  check(options_.enc_filters() >= 1, "unet decoder: enc_filters must be >= 1, got {}", options_.enc_filters());
  check(options_.num_layers() >= 1 && options_.num_layers() <= 8, "unet decoder: num_layers must be in 1..8, got {}",
        options_.num_layers());

  int64_t in = options_.enc_filters() << options_.num_layers();
  for (int64_t level = 0; level < options_.num_layers(); ++level) {
    const int64_t filters = in / 2;
    auto upconv = make_conv_transpose(dims, in, filters, 2, 2);
    init_weight_zero_bias(upconv, glorot_uniform_);
    register_module("upconv" + std::to_string(level), upconv.ptr());
    upconvs_.push_back(upconv);
    blocks_.push_back(register_module("block" + std::to_string(level),
                                      UNetBlock(UNetBlockOptions(2 * filters, filters)
                                                    .spatial_dims(dims)
                                                    .variant(options_.variant())
                                                    .dropout(options_.dropout()))));
    in = filters;
  }
  head_ = make_conv(dims, in, options_.num_classes(), 1);
  init_weight_zero_bias(head_, glorot_uniform_);
  register_module("head", head_.ptr());
}

torch::Tensor UNetDecoderImpl::forward(const UNetFeatures& features) {
  const auto levels = static_cast<size_t>(options_.num_layers());
  check(features.skips.size() == levels, "unet decoder: expected {} skip tensors, got {}", levels,
        features.skips.size());
  const bool modern = is_modern_unet_variant(options_.variant());
  torch::Tensor x;
  if (modern) {
    check(features.bottleneck.defined(), "unet decoder (modern): the encoder features carry no bottleneck tensor");
    x = features.bottleneck;
  } else if (!options_.encoder_pooled() && features.bottleneck.defined()) {
    x = features.bottleneck;  // "none" (the output is the bottleneck) or a global pooling, which keeps no layout
  } else {
    check(features.output.defined(), "unet decoder: the encoder features carry no output tensor");
    x = features.output;
    if (options_.encoder_pooled()) {
      x = upsample_nearest(x, 2);
      // The pooled output floors odd bottleneck sizes; restore the bottleneck's size when it is known.
      if (features.bottleneck.defined()) x = fit_spatial(x, features.bottleneck.sizes().slice(2).vec());
    }
  }
  const int64_t expected_channels = options_.enc_filters() << options_.num_layers();
  check(x.dim() == options_.spatial_dims() + 2 && x.size(1) == expected_channels,
        "unet decoder: expected encoder features with {} channels and {} spatial dims, got {}", expected_channels,
        options_.spatial_dims(), shape_string(x));
  for (size_t level = 0; level < levels; ++level) {
    const auto& skip = features.skips[level];
    auto up = fit_spatial(conv_transpose_forward(upconvs_[level], x), skip.sizes().slice(2).vec());
    x = blocks_[level]->forward(torch::cat({up, skip}, 1));
  }
  return conv_forward(head_, x, /*padding=*/0);
}

}  // namespace medssl::models
