#include "medssl/finetune/finetune_model.h"

#include "medssl/core/error.h"
#include "medssl/models/densenet.h"
#include "medssl/models/registry.h"
#include "medssl/models/unet.h"
#include "medssl/models/unet_encoder.h"
#include "medssl/weights/init_weights.h"

namespace medssl::finetune {

using json = nlohmann::json;

json FinetuneModelSpec::to_json() const {
  return {{"task", task},
          {"architecture", architecture},
          {"spatial_dims", spatial_dims},
          {"in_channels", in_channels},
          {"num_outputs", num_outputs},
          {"multilabel", multilabel},
          {"encoder_options", encoder_options}};
}

FinetuneModelSpec FinetuneModelSpec::from_json(const json& j, const std::string& source) {
  FinetuneModelSpec s;
  try {
    s.task = j.at("task").get<std::string>();
    s.architecture = j.at("architecture").get<std::string>();
    s.spatial_dims = j.at("spatial_dims").get<int>();
    s.in_channels = j.at("in_channels").get<int64_t>();
    s.num_outputs = j.at("num_outputs").get<int64_t>();
    s.multilabel = j.value("multilabel", false);
    s.encoder_options = j.value("encoder_options", json::object());
  } catch (const json::exception& e) {
    fail("{}: not a finetuned model description ({})", source, e.what());
  }
  return s;
}

EncoderClassifierImpl::EncoderClassifierImpl(std::shared_ptr<torch::nn::Module> encoder, int64_t features,
                                             int64_t num_outputs)
    : encoder_(register_module("encoder", std::move(encoder))),
      classifier_(register_module("classifier", torch::nn::Linear(features, num_outputs))) {}

torch::Tensor EncoderClassifierImpl::forward(const torch::Tensor& x) {
  torch::Tensor features;
  if (auto* unet = dynamic_cast<models::UNetEncoderImpl*>(encoder_.get())) {
    // Global average pool of the encoder output (after its final pooling, as the pretext heads see it).
    features = unet->forward(x).output.flatten(2).mean(2);
  } else if (auto* densenet = dynamic_cast<models::DenseNetImpl*>(encoder_.get())) {
    features = densenet->forward_features(x);
  } else {
    fail("classifier encoder of type {} is not supported", encoder_->name());
  }
  return classifier_->forward(features);
}

FinetuneModel build_finetune_model(const FinetuneModelSpec& spec) {
  FinetuneModel m;
  m.spec = spec;
  json options = spec.encoder_options.is_object() ? spec.encoder_options : json::object();
  options["in_channels"] = spec.in_channels;
  if (spec.architecture == "unet_3d_upconv" || spec.architecture == "unet_2d_upconv") {
    check(spec.task == "segmentation", "architecture {} is a segmentation network", spec.architecture);
    check(spec.spatial_dims == (spec.architecture == "unet_3d_upconv" ? 3 : 2),
          "prediction_architecture {} does not fit {}D images", spec.architecture, spec.spatial_dims);
    options["num_classes"] = spec.num_outputs;
    m.module = models::build_model(spec.architecture, options).module;
  } else if (spec.architecture == "unet_encoder_classifier") {
    options["spatial_dims"] = spec.spatial_dims;
    auto encoder = models::build_model("unet_encoder", options);
    m.module = EncoderClassifier(encoder.module, encoder.out_features, spec.num_outputs).ptr();
  } else if (spec.architecture == "densenet121_classifier") {
    options["spatial_dims"] = spec.spatial_dims;
    options["num_classes"] = 0;
    auto encoder = models::build_model("densenet121", options);
    m.module = EncoderClassifier(encoder.module, encoder.out_features, spec.num_outputs).ptr();
  } else {
    fail("unknown finetuning architecture \"{}\" (unet_3d_upconv, unet_2d_upconv, densenet121_classifier, "
         "unet_encoder_classifier)", spec.architecture);
  }
  return m;
}

torch::Tensor FinetuneModel::forward(const torch::Tensor& x) const {
  if (auto* unet = dynamic_cast<models::UNetImpl*>(module.get())) return unet->forward(x);
  if (auto* classifier = dynamic_cast<EncoderClassifierImpl*>(module.get())) return classifier->forward(x);
  fail("finetuned model of type {} has no forward", module->name());
}

torch::nn::Module& FinetuneModel::encoder() const {
  for (const auto& child : module->named_children())
    if (child.key() == "encoder") return *child.value();
  fail("finetuned model {} has no encoder submodule", spec.architecture);
}

void load_pretrained_encoder(const FinetuneModel& model, const std::string& encoder_file) {
  try {
    weights::init_weights(model.encoder(), encoder_file, weights::InitWeightsOptions().source_prefix("encoder."));
  } catch (const Error& e) {
    fail("the pretrained encoder {} does not fit the finetuning model ({} with encoder options {}): {}", encoder_file,
         model.spec.architecture, model.spec.encoder_options.dump(), e.what());
  }
}

}  // namespace medssl::finetune
