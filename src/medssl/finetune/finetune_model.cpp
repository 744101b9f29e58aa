#include "medssl/finetune/finetune_model.h"

#include <fmt/ranges.h>

#include <set>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/models/densenet.h"
#include "medssl/models/registry.h"
#include "medssl/models/swin_unetr.h"
#include "medssl/models/unet.h"
#include "medssl/models/unet_encoder.h"
#include "medssl/models/unetr.h"

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

namespace {

// UNETR from the spec's options (MONAI's defaults where absent; img_size is the training patch / image side).
std::shared_ptr<torch::nn::Module> build_unetr(const FinetuneModelSpec& spec) {
  const json& o = spec.encoder_options;
  static const std::set<std::string> known = {"img_size", "feature_size", "hidden_size", "mlp_dim", "num_heads",
                                              "qkv_bias", "norm_name", "dropout", "in_channels"};
  for (const auto& item : o.items())
    check(known.count(item.key()) > 0, "unetr: unknown encoder option \"{}\" (valid: img_size, feature_size, "
          "hidden_size, mlp_dim, num_heads, qkv_bias, norm_name, dropout)", item.key());
  check(o.contains("img_size"), "unetr: encoder option img_size is required");
  try {
    const json& img = o.at("img_size");
    const auto img_size =
        img.is_array() ? img.get<std::vector<int64_t>>() : std::vector<int64_t>{img.get<int64_t>()};
    models::UNETROptions u(spec.in_channels, spec.num_outputs, img_size);
    u.spatial_dims(spec.spatial_dims)
        .feature_size(o.value("feature_size", int64_t{16}))
        .hidden_size(o.value("hidden_size", int64_t{768}))
        .mlp_dim(o.value("mlp_dim", int64_t{3072}))
        .num_heads(o.value("num_heads", int64_t{12}))
        .qkv_bias(o.value("qkv_bias", false))
        .norm_name(o.value("norm_name", std::string("instance")))
        .dropout(o.value("dropout", 0.0));
    return models::UNETR(u).ptr();
  } catch (const json::exception& e) {
    fail("unetr: encoder options {} have a wrong type: {}", o.dump(), e.what());
  }
}

}  // namespace

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
  } else if (spec.architecture == "swinunetr") {
    check(spec.task == "segmentation", "architecture swinunetr is a segmentation network");
    options["spatial_dims"] = spec.spatial_dims;
    options["out_channels"] = spec.num_outputs;
    m.module = models::build_model("swinunetr", options).module;
  } else if (spec.architecture == "unetr") {
    check(spec.task == "segmentation", "architecture unetr is a segmentation network");
    m.module = build_unetr(spec);
  } else {
    fail("unknown finetuning architecture \"{}\" (unet_3d_upconv, unet_2d_upconv, densenet121_classifier, "
         "unet_encoder_classifier, swinunetr, unetr)", spec.architecture);
  }
  return m;
}

torch::Tensor FinetuneModel::forward(const torch::Tensor& x) const {
  if (auto* unet = dynamic_cast<models::UNetImpl*>(module.get())) return unet->forward(x);
  if (auto* classifier = dynamic_cast<EncoderClassifierImpl*>(module.get())) return classifier->forward(x);
  if (auto* swin = dynamic_cast<models::SwinUNETRImpl*>(module.get())) return swin->forward(x);
  if (auto* unetr = dynamic_cast<models::UNETRImpl*>(module.get())) return unetr->forward(x);
  fail("finetuned model of type {} has no forward", module->name());
}

std::string FinetuneModel::encoder_prefix() const {
  if (spec.architecture == "swinunetr") return "swinViT";
  if (spec.architecture == "unetr") return "vit";
  return "encoder";
}

torch::nn::Module& FinetuneModel::encoder() const {
  const std::string prefix = encoder_prefix();
  for (const auto& child : module->named_children())
    if (child.key() == prefix) return *child.value();
  fail("finetuned model {} has no {} submodule", spec.architecture, prefix);
}

weights::TransferReport load_pretrained_encoder(const FinetuneModel& model, const std::string& weights_file,
                                                weights::TransferOptions options) {
  options.pretrained_prefix = model.encoder_prefix() + ".";
  options.in_channels = model.spec.in_channels;
  try {
    weights::TransferReport report = weights::transfer_weights(*model.module, weights_file, options);
    if (model.spec.architecture == "unetr") {  // the MONAI tutorial's transfer, in its terms
      std::vector<std::string> skipped;
      for (const auto& k : report.skipped) skipped.push_back(k.source);
      log::info("UNETR from {}: copied {} ViT tensors ({} of the ViT's left as initialised); skipped {}: {}",
                weights_file, report.pretrained_loaded, report.pretrained_tensors - report.pretrained_loaded,
                skipped.size(), skipped.empty() ? "none" : fmt::format("{}", fmt::join(skipped, ", ")));
    }
    return report;
  } catch (const Error& e) {
    fail("the weights {} do not fit the finetuning model ({} with encoder options {}): {}", weights_file,
         model.spec.architecture, model.spec.encoder_options.dump(), e.what());
  }
}

}  // namespace medssl::finetune
