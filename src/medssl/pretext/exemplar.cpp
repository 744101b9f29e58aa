#include "medssl/pretext/exemplar.h"

#include "medssl/core/error.h"
#include "medssl/losses/triplet.h"
#include "medssl/models/fast_layers.h"
#include "medssl/models/layers.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/exemplar_augment.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {

const nlohmann::json* find_param(const TaskSpec& spec, const char* key) {
  if (!spec.params.is_object()) return nullptr;
  auto it = spec.params.find(key);
  return it == spec.params.end() || it->is_null() ? nullptr : &*it;
}

template <typename T>
T param_or(const TaskSpec& spec, const char* key, T fallback) {
  const nlohmann::json* value = find_param(spec, key);
  if (value == nullptr) return fallback;
  try {
    return value->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("exemplar: parameter \"{}\" has the wrong type (got {})", key, value->dump());
  }
}

}  // namespace

ExemplarOptions ExemplarOptions::from_spec(const TaskSpec& spec) {
  ExemplarOptions o;
  o.faithful = spec.faithful;
  o.code_size = param_or<int64_t>(spec, "code_size", 1024);
  check(o.code_size >= 1, "exemplar: code_size must be >= 1, got {}", o.code_size);
  const auto source = param_or<std::string>(spec, "sample_neg_examples_from", "dataset");
  check(source == "dataset" || source == "batch",
        "exemplar: sample_neg_examples_from must be \"dataset\" or \"batch\", got \"{}\"", source);
  o.negatives_from_batch = source == "batch";
  const double default_margin = spec.faithful ? 1.0 : 0.5;
  check(!(find_param(spec, "margin") && find_param(spec, "alpha")),
        "exemplar: give the triplet margin as \"margin\" or as \"alpha\", not both");
  o.margin = param_or<double>(spec, "margin", param_or<double>(spec, "alpha", default_margin));
  check(o.margin >= 0, "exemplar: margin must be >= 0, got {}", o.margin);
  return o;
}

std::vector<int64_t> sattolo_derangement(int64_t n, Rng& rng) {
  check(n >= 2,
        "exemplar: negatives from the batch need at least 2 images per batch, got {} (use batch_size >= 2 or "
        "sample_neg_examples_from \"dataset\")",
        n);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
  // Sattolo: swapping i only with a strictly lower index yields a single cycle of length n (no fixed point).
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(rng.uniform_int(0, i - 1))]);
  return perm;
}

// ------------------------------------------------------------------------------------------------------ the model

ExemplarModelImpl::ExemplarModelImpl(const TaskSpec& spec, const ExemplarOptions& options)
    : separate_heads_(options.faithful) {
  encoder = register_module("encoder", build_encoder(spec));
  const int64_t width = encoded_width(*encoder, spec, spec.data_dim);
  auto make_head = [&](const std::string& name) {
    auto linear = register_module(name, torch::nn::Linear(width, options.code_size));
    models::init_weight_zero_bias(*linear, models::glorot_uniform_);  // Keras Dense defaults
    return linear;
  };
  if (separate_heads_) {
    heads_ = {make_head("anchor_head"), make_head("positive_head"), make_head("negative_head")};
  } else {
    heads_ = {make_head("projection")};
  }
}

torch::nn::Linear ExemplarModelImpl::head(int64_t slot) const {
  check(slot >= 0 && slot < 3, "exemplar: triplet slot {} out of range", slot);
  return separate_heads_ ? heads_[static_cast<size_t>(slot)] : heads_.front();
}

torch::Tensor ExemplarModelImpl::forward(const torch::Tensor& triplets) {
  check(triplets.dim() >= 4 && triplets.size(1) == 3, "exemplar: expected input (B, 3, C, *spatial), got {} dims",
        triplets.dim());
  const int64_t batch = triplets.size(0);
  // One encoder pass over all 3B images (the TimeDistributed fold of the reference's shared encoder).
  const torch::Tensor features = encode_flat(*encoder, triplets.flatten(0, 1)).view({batch, 3, -1});
  if (!separate_heads_)
    return torch::nn::functional::normalize(models::linear_forward(heads_.front(), features),
                                            torch::nn::functional::NormalizeFuncOptions().p(2).dim(-1));
  std::vector<torch::Tensor> codes;
  for (int64_t slot = 0; slot < 3; ++slot)
    codes.push_back(torch::sigmoid(head(slot)->forward(features.select(1, slot))));
  return torch::stack(codes, 1);
}

// ------------------------------------------------------------------------------------------------------- the task

ExemplarTask::ExemplarTask(TaskSpec spec, ExemplarOptions options) : spec_(std::move(spec)), options_(options) {
  check_encoder_fits(spec_, spec_.data_dim, "exemplar", "images");
}

std::shared_ptr<PretextModelImpl> ExemplarTask::build_model() const {
  return std::make_shared<ExemplarModelImpl>(spec_, options_);
}

train::Batch ExemplarTask::make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const {
  // The reference augments validation batches the same way (one function for both), so `training` changes nothing.
  check(!samples.empty(), "exemplar: empty batch");
  const auto count = static_cast<int64_t>(samples.size());
  std::vector<int64_t> negative_of;
  if (options_.negatives_from_batch) negative_of = sattolo_derangement(count, rng);
  std::vector<torch::Tensor> triplets;
  triplets.reserve(samples.size());
  for (int64_t i = 0; i < count; ++i) {
    const Sample& sample = samples[static_cast<size_t>(i)];
    const torch::Tensor positive = checked_image(sample, spec_, "exemplar").to(torch::kFloat32);
    torch::Tensor negative;
    if (options_.negatives_from_batch) {
      negative = samples[static_cast<size_t>(negative_of[static_cast<size_t>(i)])].image.to(torch::kFloat32);
    } else {
      check(sample.negative.defined(),
            "exemplar: sample {} (index {}) has no negative image (sample_neg_examples_from \"dataset\" needs the "
            "loader to supply Sample::negative)",
            i, sample.index);
      negative = sample.negative.to(torch::kFloat32);
    }
    check(negative.sizes() == positive.sizes(), "exemplar: sample {} (index {}): negative shape differs from the image",
          i, sample.index);
    triplets.push_back(torch::stack({augment_exemplar(positive, rng), positive, negative}));
  }
  train::Batch batch;
  batch.tensors["input"] = torch::stack(triplets);
  batch.size = count;
  return batch;
}

train::StepOutput ExemplarTask::step(PretextModelImpl& model, const train::Batch& batch) const {
  auto* exemplar = dynamic_cast<ExemplarModelImpl*>(&model);
  check(exemplar != nullptr, "exemplar: step() needs the model built by the exemplar task");
  const torch::Tensor codes = exemplar->forward(batch.at("input"));
  const auto distance =
      options_.faithful ? losses::TripletDistance::mean_squared : losses::TripletDistance::squared_euclidean;
  const auto result =
      losses::triplet_loss(codes.select(1, 0), codes.select(1, 1), codes.select(1, 2), options_.margin, distance);
  // The mean distances show a collapse (both near 0: every code the same, loss = margin) that the loss alone hides.
  return train::StepOutput{result.loss,
                           {{"triplet_acc", result.accuracy},
                            {"pos_dist", result.positive_distance.mean().item<double>()},
                            {"neg_dist", result.negative_distance.mean().item<double>()}}};
}

std::unique_ptr<PretextTask> make_exemplar_task(const TaskSpec& spec) {
  return std::make_unique<ExemplarTask>(spec, ExemplarOptions::from_spec(spec));
}

}  // namespace medssl::pretext
