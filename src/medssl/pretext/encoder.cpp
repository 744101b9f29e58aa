// The shared encoder of every pretext task, built through the model registry so that configs name it by string.
#include "medssl/core/error.h"
#include "medssl/models/densenet.h"
#include "medssl/models/registry.h"
#include "medssl/models/swin_transformer.h"
#include "medssl/models/unet_encoder.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

std::shared_ptr<torch::nn::Module> build_encoder(const TaskSpec& spec) {
  const std::string name = spec.encoder.empty() ? "unet_encoder" : spec.encoder;
  nlohmann::json options = spec.encoder_options.is_object() ? spec.encoder_options : nlohmann::json::object();
  options["spatial_dims"] = spec.spatial_dims;
  options["in_channels"] = spec.in_channels;
  if (name == "densenet121") {
    // The reference pretrains DenseNet-121 with global MAX pooling (Keras `pooling` unset in pretext configs).
    if (!options.contains("pooling")) options["pooling"] = "max";
    options["num_classes"] = 0;
  } else {
    check(name == "unet_encoder" || name == "swin_encoder",
          "encoder \"{}\" cannot be used by a pretext task (use unet_encoder, densenet121 or swin_encoder)", name);
  }
  return models::build_model(name, options).module;
}

torch::Tensor encode_flat(torch::nn::Module& encoder, const torch::Tensor& images) {
  if (auto* unet = dynamic_cast<models::UNetEncoderImpl*>(&encoder)) {
    return unet->forward(images).output.flatten(1);
  }
  if (auto* densenet = dynamic_cast<models::DenseNetImpl*>(&encoder)) {
    return densenet->forward_features(images);
  }
  if (auto* swin = dynamic_cast<models::SwinTransformerImpl*>(&encoder)) {
    return swin->pooled_features(images);  // global average of the normalised deepest map: 16 * feature_size
  }
  fail("pretext encoder of type {} is not supported (expected UNetEncoder, DenseNet or SwinTransformer)",
       encoder.name());
}

int64_t encoded_width(torch::nn::Module& encoder, const TaskSpec& spec, int64_t side) {
  std::vector<int64_t> shape = {1, spec.in_channels};
  for (int d = 0; d < spec.spatial_dims; ++d) shape.push_back(side);
  const bool was_training = encoder.is_training();
  encoder.eval();
  torch::NoGradGuard no_grad;
  auto parameters = encoder.parameters();
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  if (!parameters.empty()) options = options.device(parameters.front().device());
  const int64_t width = encode_flat(encoder, torch::zeros(shape, options)).size(1);
  encoder.train(was_training);
  return width;
}

}  // namespace medssl::pretext
