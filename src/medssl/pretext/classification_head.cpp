#include "medssl/pretext/classification_head.h"

#include "medssl/core/error.h"
#include "medssl/models/layers.h"

namespace medssl::pretext {

namespace {

std::string encoder_name(const TaskSpec& spec) { return spec.encoder.empty() ? "unet_encoder" : spec.encoder; }

/// An integer encoder option, or `fallback` when absent or not an integer (the model registry reports bad types).
int64_t encoder_option(const TaskSpec& spec, const std::string& key, int64_t fallback) {
  const auto& o = spec.encoder_options;
  if (!o.is_object() || !o.contains(key) || !o.at(key).is_number_integer()) return fallback;
  return o.at(key).get<int64_t>();
}

/// Whether the UNet encoder ends with a 2x pooling that halves the size once more (default "max"; JSON null, "none"
/// and the global poolings do not halve).
bool unet_final_pool(const TaskSpec& spec) {
  const auto& o = spec.encoder_options;
  if (!o.is_object() || !o.contains("pooling")) return true;
  const auto& p = o.at("pooling");
  if (p.is_null() || !p.is_string()) return false;
  const std::string name = p.get<std::string>();
  return name != "none" && name.rfind("global_", 0) != 0;
}

int64_t densenet_transitions(const TaskSpec& spec) {
  const auto& o = spec.encoder_options;
  if (o.is_object() && o.contains("block_config") && o.at("block_config").is_array() && !o.at("block_config").empty())
    return static_cast<int64_t>(o.at("block_config").size()) - 1;
  return 3;
}

torch::Tensor keras_categorical_crossentropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  constexpr double kEpsilon = 1e-7;  // Keras backend epsilon
  auto probabilities = torch::softmax(logits, 1).clamp(kEpsilon, 1.0 - kEpsilon);
  return torch::nll_loss(probabilities.log(), labels);
}

}  // namespace

PatchClassifierImpl::PatchClassifierImpl(const TaskSpec& spec, PatchClassifierOptions options)
    : spec_(spec), options_(options) {
  check(options_.patches() >= 1 && options_.side() >= 1 && options_.num_classes() >= 2,
        "patch classifier: patches ({}), side ({}) must be >= 1 and num_classes ({}) >= 2", options_.patches(),
        options_.side(), options_.num_classes());
  encoder = register_module("encoder", build_encoder(spec));
  embedding_width_ = encoded_width(*encoder, spec, options_.side());
  top_ = register_module("top", models::BigFully(models::BigFullyOptions(embedding_width_ * options_.patches())
                                                     .hidden1(options_.hidden1())
                                                     .hidden2(options_.hidden2())));
  classifier_ = register_module(
      "classifier", models::LinearClassifier(models::LinearClassifierOptions(top_->out_features(), options_.num_classes())));
}

torch::Tensor PatchClassifierImpl::forward(const torch::Tensor& input) {
  const int64_t dims = spec_.spatial_dims;
  const int64_t patches = options_.patches();
  const bool whole_images = input.dim() == dims + 2;
  check((whole_images && patches == 1) || (input.dim() == dims + 3 && input.size(1) == patches),
        "pretext model: expected input (B, {}, {}, {}){}, got {}", patches, spec_.in_channels,
        dims == 3 ? "D, H, W" : "H, W", patches == 1 ? " or (B, C, *spatial)" : "", models::shape_string(input));
  const int64_t batch = input.size(0);
  // TimeDistributed(encoder): fold the patch axis into the batch, run the shared encoder once, unfold.
  const torch::Tensor images = whole_images ? input : input.flatten(0, 1);
  const torch::Tensor embeddings = encode_flat(*encoder, images).reshape({batch, -1});
  return classifier_->forward(top_->forward(embeddings));
}

train::StepOutput classification_step(PretextModelImpl& model, const train::Batch& batch, bool faithful) {
  auto* classifier = dynamic_cast<PatchClassifierImpl*>(&model);
  check(classifier != nullptr, "classification step: the model is not a PatchClassifier");
  const torch::Tensor logits = classifier->forward(batch.at("input")).to(torch::kFloat32);
  const torch::Tensor& labels = batch.at("label");
  train::StepOutput out;
  out.loss = faithful ? keras_categorical_crossentropy(logits, labels) : torch::cross_entropy_loss(logits, labels);
  out.metrics["acc"] = logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
  return out;
}

int64_t integer_param(const TaskSpec& spec, const std::string& key, int64_t fallback, const std::string& task) {
  if (!spec.params.is_object() || !spec.params.contains(key) || spec.params.at(key).is_null()) return fallback;
  const auto& value = spec.params.at(key);
  check(value.is_number_integer(), "{}: parameter \"{}\" must be an integer, got {}", task, key, value.dump());
  return value.get<int64_t>();
}

void check_top_architecture(const TaskSpec& spec, const std::string& task) {
  if (!spec.params.is_object() || !spec.params.contains("top_architecture")) return;
  const auto& value = spec.params.at("top_architecture");
  check(value.is_null() || (value.is_string() && value.get<std::string>() == "big_fully"),
        "{}: top_architecture must be \"big_fully\" (the only head of the reference's classification tasks), got {}",
        task, value.dump());
}

PatchClassifierOptions with_top_units(PatchClassifierOptions options, const TaskSpec& spec, const std::string& task) {
  if (!spec.params.is_object() || !spec.params.contains("top_units") || spec.params.at("top_units").is_null())
    return options;
  const auto& units = spec.params.at("top_units");
  const bool ok = units.is_array() && units.size() == 2 && units[0].is_number_integer() &&
                  units[1].is_number_integer() && units[0].get<int64_t>() >= 1 && units[1].get<int64_t>() >= 1;
  check(ok, "{}: parameter \"top_units\" must be two positive integers [hidden1, hidden2] (big_fully widths, "
            "default [2048, 1024]), got {}", task, units.dump());
  return options.hidden1(units[0].get<int64_t>()).hidden2(units[1].get<int64_t>());
}

PatchGrid patch_grid_from_params(const TaskSpec& spec, const std::string& task) {
  PatchGrid grid;
  grid.patches_per_side = integer_param(spec, "patches_per_side", 3, task);
  grid.jitter = integer_param(spec, "patch_jitter", 0, task);
  check(grid.patches_per_side >= 2, "{}: patches_per_side must be >= 2, got {}", task, grid.patches_per_side);
  check(grid.patches_per_side <= spec.data_dim, "{}: patches_per_side {} is larger than data_dim {}", task,
        grid.patches_per_side, spec.data_dim);
  try {
    check_encoder_fits(spec, grid.patch(spec.data_dim), task, "patches");
  } catch (const Error& e) {
    fail("{} (data_dim {}, patches_per_side {}, patch_jitter {}: patch side = data_dim / patches_per_side - "
         "patch_jitter)", e.what(), spec.data_dim, grid.patches_per_side, grid.jitter);
  }
  return grid;
}

int64_t min_encoder_side(const TaskSpec& spec) {
  const std::string name = encoder_name(spec);
  if (name == "densenet121") {
    const int64_t transitions = densenet_transitions(spec);
    // conv0 and pool0 halve rounding up, each transition halves rounding down (models/densenet.cpp).
    for (int64_t side = 1;; ++side) {
      int64_t s = (((side + 1) / 2) + 1) / 2;
      for (int64_t t = 0; t < transitions; ++t) s /= 2;
      if (s >= 1) return side;
    }
  }
  // UNet encoder: every level and the final pooling halve, rounding down.
  const int64_t halvings = encoder_option(spec, "num_layers", 4) + (unet_final_pool(spec) ? 1 : 0);
  check(halvings >= 0 && halvings < 31, "encoder option num_layers {} is out of range",
        encoder_option(spec, "num_layers", 4));
  return int64_t{1} << halvings;
}

void check_encoder_fits(const TaskSpec& spec, int64_t side, const std::string& task, const std::string& what) {
  const int64_t minimum = min_encoder_side(spec);
  if (side >= minimum) return;
  const std::string name = encoder_name(spec);
  if (name == "densenet121")
    fail("{}: {} of {} pixels per side are too small for the densenet121 encoder, which needs at least {}", task, what,
         side, minimum);
  fail("{}: {} of {} voxels per side are too small for the unet_encoder: {} layers{} halve the size {} times, so it "
       "needs at least {} (or set fewer num_layers in the encoder options)",
       task, what, side, encoder_option(spec, "num_layers", 4), unet_final_pool(spec) ? " + the final pooling" : "",
       encoder_option(spec, "num_layers", 4) + (unet_final_pool(spec) ? 1 : 0), minimum);
}

const torch::Tensor& checked_image(const Sample& sample, const TaskSpec& spec, const std::string& task) {
  const torch::Tensor& image = sample.image;
  check(image.defined(), "{}: sample {} has no image", task, sample.index);
  bool ok = image.dim() == spec.spatial_dims + 1 && image.size(0) == spec.in_channels;
  for (int64_t d = 1; ok && d < image.dim(); ++d) ok = image.size(d) == spec.data_dim;
  check(ok, "{}: sample {} must be ({}, {}{}) (number_channels, data_dim{}), got {}", task, sample.index,
        spec.in_channels, spec.data_dim, spec.spatial_dims == 3 ? fmt::format(", {0}, {0}", spec.data_dim)
                                                                : fmt::format(", {}", spec.data_dim),
        spec.spatial_dims == 3 ? " x3" : " x2", models::shape_string(image));
  return image;
}

train::Batch labelled_batch(const std::vector<torch::Tensor>& inputs, const std::vector<int64_t>& labels) {
  train::Batch batch;
  batch.tensors["input"] = torch::stack(inputs);
  batch.tensors["label"] = torch::tensor(labels, torch::kInt64);
  batch.size = static_cast<int64_t>(inputs.size());
  return batch;
}

PatchClassificationTask::PatchClassificationTask(const TaskSpec& spec, PatchClassifierOptions model_options,
                                                 const std::string& task)
    : spec_(spec), model_options_(with_top_units(std::move(model_options), spec, task)) {
  check_top_architecture(spec_, task);
}

std::shared_ptr<PretextModelImpl> PatchClassificationTask::build_model() const {
  return std::make_shared<PatchClassifierImpl>(spec_, model_options_);
}

train::StepOutput PatchClassificationTask::step(PretextModelImpl& model, const train::Batch& batch) const {
  return classification_step(model, batch, spec_.faithful);
}

}  // namespace medssl::pretext
