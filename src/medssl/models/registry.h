#pragma once
// Build networks by the string names used in configs, from a JSON object of options.
//
//   auto h = medssl::models::build_model("unet_3d_upconv", {{"num_classes", 3}});
//   auto unet = h.as<UNetImpl>();             // typed access (throws medssl::Error on the wrong type)
//   torch::Tensor logits = unet->forward(x);
//
// Names and their options (JSON key: default). Unknown names and unknown/mistyped keys throw medssl::Error listing the
// valid ones. "pooling" also accepts JSON null (= "none", as in the reference configs).
//   unet_3d_upconv, unet_2d_upconv   full segmentation UNet (unet.h), spatial_dims fixed by the name:
//                                    in_channels 1, num_classes 3, enc_filters 16, num_layers 4, pooling "max",
//                                    variant "taleb", dropout 0.5
//   unet                             same, with spatial_dims 3
//   unet_encoder                     UNetEncoder (unet_encoder.h): spatial_dims 3, in_channels 1, enc_filters 16,
//                                    num_layers 4, pooling "max", variant "taleb", dropout 0.5
//   unet_decoder                     UNetDecoder (unet_decoder.h): spatial_dims 3, num_classes 3, enc_filters 16,
//                                    num_layers 4, encoder_pooled true, variant "taleb", dropout 0.5
//   densenet121                      DenseNet (densenet.h): spatial_dims 2, in_channels 3, num_classes 0,
//                                    pooling "avg", drop_rate 0, growth_rate 32, block_config [6,12,24,16],
//                                    num_init_features 64, bn_size 4
//   big_fully                        BigFully (heads.h): in_features (required), hidden1 2048, hidden2 1024, dropout 0.5
//   linear_classifier                LinearClassifier: in_features, num_classes (both required)
//   projection_mlp                   ProjectionMLP: in_features (required), hidden_features 2048, out_features 2048,
//                                    num_layers 3, batch_norm true, last_bn true, last_bn_affine false
//   prediction_mlp                   PredictionMLP: in_features 2048, hidden_features 512, out_features 2048
//   swin_encoder                     SwinTransformer (swin_transformer.h), MONAI names: spatial_dims 3, in_channels 1,
//                                    feature_size 48, depths [2,2,2,2], num_heads [3,6,12,24], window_size 7,
//                                    drop_rate 0, attn_drop_rate 0, drop_path_rate 0, merge_order "monai_1.2";
//                                    out_features 16 * feature_size (global average of the deepest map)
//   swinunetr                        SwinUNETR (swin_unetr.h): the swin_encoder options + out_channels 14,
//                                    img_size [96] (validated: multiples of 32), normalize true, norm_name "instance"
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medssl/core/error.h"
#include "medssl/core/torch_pch.h"

namespace medssl::models {

/// A built network plus what callers need to wire it up.
struct ModelHandle {
  std::string name;                           ///< the registry name it was built from
  std::string kind;                           ///< "model" (image -> output), "encoder", "decoder" or "head"
  std::shared_ptr<torch::nn::Module> module;  ///< the network (register it in a parent, save it, move it)
  int spatial_dims = 0;                       ///< 2 or 3 for image networks, 0 for heads
  /// Width of the output: classes (model/decoder/classifier), channels of the encoder output, or feature width.
  int64_t out_features = 0;
  nlohmann::json options;  ///< all options with defaults filled in

  /// The module as its concrete Impl type; throws medssl::Error naming the model if it is another type.
  template <typename Impl>
  std::shared_ptr<Impl> as() const {
    auto typed = std::dynamic_pointer_cast<Impl>(module);
    check(typed != nullptr, "model \"{}\" is not of the requested module type", name);
    return typed;
  }
};

/// Builds the network `name` from `options` (a JSON object; null = all defaults).
ModelHandle build_model(const std::string& name, const nlohmann::json& options = nlohmann::json::object());

/// All names build_model accepts, sorted.
std::vector<std::string> model_names();

}  // namespace medssl::models
