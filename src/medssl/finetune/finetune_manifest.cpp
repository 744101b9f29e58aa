#include "medssl/finetune/finetune_manifest.h"

#include "medssl/weights/manifest.h"
#include "medssl/weights/training_data.h"

namespace medssl::finetune {

using json = nlohmann::json;

std::string encoder_architecture(const FinetuneModelSpec& spec) {
  if (spec.architecture == "densenet121_classifier") return "densenet121";
  if (spec.architecture == "swinunetr") return "swin_encoder";
  if (spec.architecture == "unetr") return "vit";
  return "unet_encoder";
}

json finetune_manifest(const FinetuneManifestInputs& in) {
  const FinetuneModelSpec& spec = *in.spec;
  json m = weights::base_manifest("finetune");
  m.update(weights::input_contract(spec.spatial_dims, spec.in_channels, in.patch_side, in.preprocessing));
  m["architecture"] = spec.architecture;
  m["architecture_options"] = spec.to_json();
  m["model"] = spec.to_json();
  m["encoder"] = encoder_architecture(spec);
  m["encoder_options"] = spec.encoder_options;
  m["tensor_prefix"] = in.encoder_prefix + ".";
  m["task"] = spec.task;
  m["mode"] = in.mode;
  const WeightsSource& source = *in.source;
  json initial = {{"source", source.kind}, {"file", source.file}};
  if (source.manifest.is_object()) {
    initial["manifest_kind"] = source.manifest.value("kind", json());
    initial["architecture"] = source.manifest.value("architecture", source.manifest.value("encoder", json()));
  }
  m["initial_weights"] = initial;
  m["pretext"] = source.manifest.is_object() ? source.manifest.value("pretext", json()) : json();
  m["finetune_config"] = in.config;
  m["training_data"] = weights::training_data_provenance(*in.cache, in.cases_used);
  m["seed"] = in.seed;
  m["final_metrics"] = nullptr;
  return m;
}

}  // namespace medssl::finetune
