#pragma once
// The network a finetuning run trains, described by a FinetuneModelSpec (stored as RUN/model.json next to the
// weights RUN/model.pt, so `medssl evaluate` can rebuild it):
//
//   segmentation    "unet_3d_upconv" / "unet_2d_upconv": the reference's UNet; its encoder options come from the
//                   pretrain run's manifest so the pretrained encoder fits parameter for parameter.
//   classification  "densenet121_classifier": DenseNet-121 features (pooled) -> Linear (the reference's
//                   simple_multiclass head on its kaggle encoder); "unet_encoder_classifier": UNet encoder ->
//                   global average pool -> Linear.
//   transformers    "swinunetr": MONAI's SwinUNETR (models/swin_unetr.h), encoder_options = the Swin options
//                   (feature_size, depths, num_heads, window_size, merge_order, drop_path_rate, img_size);
//                   "unetr": MONAI's UNETR (models/unetr.h), encoder_options = img_size, feature_size, hidden_size,
//                   mlp_dim, num_heads, qkv_bias. Both 2D or 3D.
// The UNet/classifier encoders' parameters are named "encoder.*", exactly as the pretext tasks save them, so
// load_pretrained_encoder fills that part from RUN_DIR/encoder*.pt (decoder / classifier stay random).
// The transformers keep MONAI's names: the pretrained part is "swinViT" (from the file's "encoder.*" Swin keys, or
// MONAI's own names) or "vit" (the MONAI tutorial's transfer: ViTAutoEnc's patch_embedding/blocks/norm fill UNETR's
// ViT; its conv3d_transpose decoder is listed as skipped).
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/core/torch_pch.h"
#include "medssl/weights/transfer.h"

namespace medssl::finetune {

struct FinetuneModelSpec {
  std::string task;          ///< segmentation | classification
  std::string architecture;  ///< unet_3d_upconv | unet_2d_upconv | densenet121_classifier | unet_encoder_classifier
                             ///< | swinunetr | unetr
  int spatial_dims = 3;
  int64_t in_channels = 1;
  int64_t num_outputs = 3;   ///< segmentation classes incl. background, or classifier outputs
  bool multilabel = false;   ///< classification: sigmoid outputs with the ordinal (reference) encoding
  nlohmann::json encoder_options = nlohmann::json::object();  ///< UNet: enc_filters, num_layers, variant, dropout, pooling

  nlohmann::json to_json() const;
  static FinetuneModelSpec from_json(const nlohmann::json& j, const std::string& source);
};

/// An encoder -> global average pool -> Linear classifier (parameters "encoder.*", "classifier.*").
class EncoderClassifierImpl : public torch::nn::Module {
 public:
  EncoderClassifierImpl(std::shared_ptr<torch::nn::Module> encoder, int64_t features, int64_t num_outputs);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Module& encoder() { return *encoder_; }

 private:
  std::shared_ptr<torch::nn::Module> encoder_;
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(EncoderClassifier);

/// A built network: the module (to train / save) plus a uniform forward.
struct FinetuneModel {
  FinetuneModelSpec spec;
  std::shared_ptr<torch::nn::Module> module;
  /// Logits: (N, classes, spatial...) for segmentation, (N, outputs) for classification.
  torch::Tensor forward(const torch::Tensor& x) const;
  /// The pretrained part: the "encoder" submodule, or SwinUNETR's "swinViT" / UNETR's "vit".
  torch::nn::Module& encoder() const;
  /// Name of that submodule (the prefix of its parameter names; what the frozen warm-up freezes).
  std::string encoder_prefix() const;
};

FinetuneModel build_finetune_model(const FinetuneModelSpec& spec);

/// Transfers a weights file (a pretrain run's encoder file, or any --init-weights file) into `model` through the
/// weights transfer (weights/transfer.h): the encoder part (encoder_prefix()) must be filled completely, or to
/// options.min_match; the decoder / classifier are loaded where they fit and keep their initialisation otherwise.
/// Errors name the file, the tensors and shapes, and the finetuning model's architecture and encoder options.
/// options.pretrained_prefix and in_channels are set here from the model.
weights::TransferReport load_pretrained_encoder(const FinetuneModel& model, const std::string& weights_file,
                                                weights::TransferOptions options = {});

}  // namespace medssl::finetune
