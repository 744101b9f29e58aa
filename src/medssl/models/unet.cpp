#include "medssl/models/unet.h"

namespace medssl::models {

UNetEncoderOptions UNetOptions::encoder_options() const {
  return UNetEncoderOptions()
      .spatial_dims(spatial_dims_)
      .in_channels(in_channels_)
      .enc_filters(enc_filters_)
      .num_layers(num_layers_)
      .pooling(pooling_)
      .variant(variant_)
      .dropout(dropout_);
}

UNetDecoderOptions UNetOptions::decoder_options() const {
  return UNetDecoderOptions::matching(encoder_options(), num_classes_);
}

UNetImpl::UNetImpl(UNetOptions options) : options_(std::move(options)) {
  encoder_ = register_module("encoder", UNetEncoder(options_.encoder_options()));
  decoder_ = register_module("decoder", UNetDecoder(options_.decoder_options()));
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x) { return decoder_->forward(encoder_->forward(x)); }

}  // namespace medssl::models
