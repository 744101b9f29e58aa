#include "medssl/pretext/cpc.h"

#include "medssl/core/error.h"
#include "medssl/data/transforms/crop.h"
#include "medssl/data/transforms/pad.h"
#include "medssl/data/transforms/random_flip.h"
#include "medssl/losses/cpc_binary.h"
#include "medssl/losses/info_nce.h"
#include "medssl/models/fast_layers.h"
#include "medssl/models/layers.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/task_factories.h"
#include "medssl/tensor/onednn_gemm.h"

namespace medssl::pretext {

namespace {

template <typename T>
T param_or(const TaskSpec& spec, const char* key, T fallback) {
  if (!spec.params.is_object()) return fallback;
  auto it = spec.params.find(key);
  if (it == spec.params.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("cpc: parameter \"{}\" has the wrong type (got {})", key, it->dump());
  }
}

// Per-patch crop fractions of the reference (2D 11/12, 3D 7/8) as integer ratios, so 42 -> 38 and 32 -> 28 exactly.
int64_t patch_crop_side(int spatial_dims, int64_t patch) { return spatial_dims == 2 ? patch * 11 / 12 : patch * 7 / 8; }

std::vector<int64_t> cube(int dims, int64_t side) { return std::vector<int64_t>(static_cast<size_t>(dims), side); }

}  // namespace

CpcOptions CpcOptions::from_spec(const TaskSpec& spec) {
  CpcOptions o;
  o.faithful = spec.faithful;
  // int(0.95 * data_dim) as the reference builder (128 -> 121); its 2D configs set crop_size = data_dim.
  o.crop_size = param_or<int64_t>(spec, "crop_size", static_cast<int64_t>(0.95 * static_cast<double>(spec.data_dim)));
  o.patches_per_side = param_or<int64_t>(spec, "patches_per_side", 7);
  o.code_size = param_or<int64_t>(spec, "code_size", 1024);
  check(o.crop_size >= 1 && o.crop_size <= spec.data_dim, "cpc: crop_size must be in [1, data_dim = {}], got {}",
        spec.data_dim, o.crop_size);
  check(o.patches_per_side >= 1, "cpc: patches_per_side must be >= 1, got {}", o.patches_per_side);
  check(o.code_size >= 1, "cpc: code_size must be >= 1, got {}", o.code_size);
  // The reference derives the jitter (no CPC config sets it): Python's int(-w / (p + 1)) truncates towards zero, as
  // C++ integer division of the positive quotient. An explicit patch_jitter (a medssl extension) overrides it.
  const int64_t derived_jitter = spec.spatial_dims == 2 ? -(spec.data_dim / (o.patches_per_side + 1)) : 0;
  o.patch_jitter = param_or<int64_t>(spec, "patch_jitter", derived_jitter);
  return o;
}

// ------------------------------------------------------------------------------------------------------ the model

CpcModelImpl::CpcModelImpl(const TaskSpec& spec, const CpcOptions& options, int64_t patch_side, int64_t num_targets) {
  encoder = register_module("encoder", build_encoder(spec));
  const int64_t width = encoded_width(*encoder, spec, patch_side);
  projection_ = register_module("projection", torch::nn::Linear(width, options.code_size));
  models::init_weight_zero_bias(*projection_, models::glorot_uniform_);
  gru_ = register_module(
      "gru", torch::nn::GRU(torch::nn::GRUOptions(options.code_size, options.context_units).batch_first(true)));
  {
    // Keras GRU initialisers: input kernel glorot_uniform, recurrent kernel orthogonal, biases zero.
    torch::NoGradGuard no_grad;
    for (auto& item : gru_->named_parameters()) {
      if (item.key().rfind("weight_ih", 0) == 0) models::glorot_uniform_(item.value());
      if (item.key().rfind("weight_hh", 0) == 0) torch::nn::init::orthogonal_(item.value());
      if (item.key().rfind("bias", 0) == 0) item.value().zero_();
    }
  }
  predictors_ = register_module("predictors", torch::nn::ModuleList());
  for (int64_t k = 0; k < num_targets; ++k) {
    torch::nn::Linear predictor(options.context_units, options.code_size);
    models::init_weight_zero_bias(*predictor, models::glorot_uniform_);
    predictors_->push_back(predictor);
  }
}

torch::Tensor CpcModelImpl::encode(const torch::Tensor& patches) {
  return models::linear_forward(projection_, encode_flat(*encoder, patches));
}

CpcModelImpl::Output CpcModelImpl::forward(const torch::Tensor& context, const torch::Tensor& target) {
  check(context.dim() >= 4 && target.dim() == context.dim() && target.size(0) == context.size(0),
        "cpc: expected context (S, T, C, *patch) and target (S, K, C, *patch) with the same S");
  check(target.size(1) == static_cast<int64_t>(predictors_->size()), "cpc: batch has {} targets, the model predicts {}",
        target.size(1), predictors_->size());
  const int64_t samples = context.size(0), terms = context.size(1), targets = target.size(1);
  // One encoder pass over every context and target patch (the shared g of both branches).
  const torch::Tensor codes = encode(torch::cat({context.flatten(0, 1), target.flatten(0, 1)}));
  const torch::Tensor context_codes = codes.narrow(0, 0, samples * terms).view({samples, terms, -1});
  Output out;
  out.target_codes = codes.narrow(0, samples * terms, samples * targets).view({samples, targets, -1});
  const torch::Tensor summary = std::get<1>(gru_->forward(context_codes)).select(0, -1);  // final hidden state (S, 256)
  std::vector<torch::Tensor> predictions;
  for (const auto& predictor : *predictors_)
    predictions.push_back(medssl::linear(summary, predictor->as<torch::nn::Linear>()->weight,
                                         predictor->as<torch::nn::Linear>()->bias));
  out.predictions = torch::stack(predictions, 1);
  return out;
}

// ------------------------------------------------------------------------------------------------------- the task

CpcTask::CpcTask(TaskSpec spec, CpcOptions options)
    : spec_(std::move(spec)),
      options_(options),
      grid_{options.patches_per_side, options.patch_jitter},
      layout_(cpc_layout(spec_.spatial_dims, options.patches_per_side)),
      patch_side_(grid_.patch(spec_.data_dim)) {
  try {
    check_encoder_fits(spec_, patch_side_, "cpc", "patches");
  } catch (const Error& e) {
    fail("{} (data_dim {}, patches_per_side {}, patch jitter {})", e.what(), spec_.data_dim, options_.patches_per_side,
         options_.patch_jitter);
  }
  check(!options_.augment_patches || patch_crop_side(spec_.spatial_dims, patch_side_) >= 1,
        "cpc: patches of {} voxels are too small for the per-patch crop (data_dim {}, patches_per_side {})",
        patch_side_, spec_.data_dim, options_.patches_per_side);
}

std::shared_ptr<PretextModelImpl> CpcTask::build_model() const {
  return std::make_shared<CpcModelImpl>(spec_, options_, patch_side_, layout_.num_targets());
}

std::vector<torch::Tensor> CpcTask::patches_of(const torch::Tensor& image, Rng& rng) const {
  const int dims = spec_.spatial_dims;
  torch::Tensor x = image.to(torch::kFloat32);
  if (options_.crop_size < spec_.data_dim)
    x = pad_to(random_crop(x, cube(dims, options_.crop_size), rng), cube(dims, spec_.data_dim));
  std::vector<torch::Tensor> patches = grid_.cut(x, /*training=*/true, rng);
  if (!options_.augment_patches) return patches;
  const auto crop_side = cube(dims, patch_crop_side(dims, patch_side_));
  const auto full_side = cube(dims, patch_side_);
  for (auto& patch : patches) {
    if (dims == 3) patch = random_flip(patch, 0, 0.5, rng);  // along the prediction axis
    patch = pad_to(random_crop(patch, crop_side, rng), full_side);
  }
  return patches;
}

train::Batch CpcTask::make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const {
  check(!samples.empty(), "cpc: empty batch");
  const auto columns = static_cast<int64_t>(layout_.columns.size());
  // context[i][c] and targets[i][c]: the stacked patches of column c of image i.
  std::vector<std::vector<torch::Tensor>> contexts, targets;
  for (size_t i = 0; i < samples.size(); ++i) {
    const std::vector<torch::Tensor> patches = patches_of(checked_image(samples[i], spec_, "cpc"), rng);
    const torch::Tensor zero = torch::zeros_like(patches.front());
    auto pick = [&](const std::vector<int64_t>& cells) {
      std::vector<torch::Tensor> chosen;
      for (int64_t cell : cells) chosen.push_back(cell < 0 ? zero : patches[static_cast<size_t>(cell)]);
      return torch::stack(chosen);
    };
    contexts.emplace_back();
    targets.emplace_back();
    for (const CpcColumn& column : layout_.columns) {
      contexts.back().push_back(pick(column.context));
      targets.back().push_back(pick(column.targets));
    }
  }

  std::vector<torch::Tensor> context_batch, target_batch;
  std::vector<float> labels;
  const auto images = static_cast<int64_t>(samples.size());
  check(!options_.faithful || images * columns >= 2, "cpc: faithful negatives need at least two (image, column) pairs");
  for (int64_t i = 0; i < images; ++i) {
    for (int64_t c = 0; c < columns; ++c) {
      const auto& context = contexts[static_cast<size_t>(i)][static_cast<size_t>(c)];
      context_batch.push_back(context);
      target_batch.push_back(targets[static_cast<size_t>(i)][static_cast<size_t>(c)]);
      labels.push_back(1.0f);
      if (!options_.faithful) continue;
      // The reference's negative: the targets of a uniformly drawn other (image, column) of this batch.
      int64_t other_image = i, other_column = c;
      while (other_image == i && other_column == c) {
        other_image = rng.uniform_int(0, images - 1);
        other_column = rng.uniform_int(0, columns - 1);
      }
      context_batch.push_back(context);
      target_batch.push_back(targets[static_cast<size_t>(other_image)][static_cast<size_t>(other_column)]);
      labels.push_back(0.0f);
    }
  }
  train::Batch batch;
  batch.tensors["context"] = torch::stack(context_batch);
  batch.tensors["target"] = torch::stack(target_batch);
  if (options_.faithful) batch.tensors["label"] = torch::tensor(labels, torch::kFloat32);
  batch.size = static_cast<int64_t>(context_batch.size());
  return batch;
}

train::StepOutput CpcTask::step(PretextModelImpl& model, const train::Batch& batch) const {
  auto* cpc = dynamic_cast<CpcModelImpl*>(&model);
  check(cpc != nullptr, "cpc: step() needs the model built by the cpc task");
  const auto out = cpc->forward(batch.at("context"), batch.at("target"));
  if (options_.faithful) {
    const auto result = losses::cpc_binary_loss(out.predictions, out.target_codes, batch.at("label"));
    return train::StepOutput{result.loss, {{"acc", result.accuracy}}};
  }
  const auto result = losses::info_nce_loss(out.predictions, out.target_codes);
  return train::StepOutput{result.loss, {{"acc", result.accuracy}}};
}

std::unique_ptr<PretextTask> make_cpc_task(const TaskSpec& spec) {
  return std::make_unique<CpcTask>(spec, CpcOptions::from_spec(spec));
}

}  // namespace medssl::pretext
