#include "medssl/pretext/pretrain_manifest.h"

#include "medssl/weights/manifest.h"
#include "medssl/weights/training_data.h"

namespace medssl::pretext {

using json = nlohmann::json;

json pretrain_manifest(const config::Config& c, const TaskSpec& spec, const cache::Cache& cache,
                       int64_t training_images) {
  const std::string encoder = spec.encoder.empty() ? "unet_encoder" : spec.encoder;
  const json preprocessing = cache.index.contains("preprocessing") ? cache.index.at("preprocessing") : json();
  // The side of what the encoder sees: its own img_size (transformers), the crops of the task, or the whole image.
  int64_t patch_side = spec.data_dim;
  if (c.has("crop_size")) patch_side = c.get<int64_t>("crop_size");
  if (spec.encoder_options.is_object() && spec.encoder_options.contains("img_size")) {
    const json& img = spec.encoder_options.at("img_size");
    if (img.is_number_integer()) patch_side = img.get<int64_t>();
    else if (img.is_array() && !img.empty() && img.front().is_number_integer()) patch_side = img.front().get<int64_t>();
  }
  json m = weights::base_manifest("pretrain");
  m.update(weights::input_contract(spec.spatial_dims, spec.in_channels, patch_side, preprocessing));
  m["algorithm"] = c.get<std::string>("algorithm");
  m["data_dim"] = spec.data_dim;
  m["architecture"] = encoder;
  m["architecture_options"] = spec.encoder_options;
  m["encoder"] = encoder;
  m["encoder_options"] = spec.encoder_options;
  m["tensor_prefix"] = "encoder.";
  m["pretext"] = {{"method", c.get<std::string>("algorithm")}, {"params", spec.params}, {"config", c.raw()}};
  m["training_data"] = weights::training_data_provenance(cache, static_cast<int64_t>(cache.cases.size()));
  m["training_data"]["images"] = training_images;
  m["seed"] = c.get<uint64_t>("seed");
  m["final_metrics"] = nullptr;
  return m;
}

}  // namespace medssl::pretext
