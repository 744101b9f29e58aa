#pragma once
// Test helpers for the embedding pretext tasks (exemplar, cpc): small specs, images whose voxels encode their
// coordinates, smooth random "blob" images, and a small Adam loop that reports the held-out loss before and after.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext::ssl_testing {

inline TaskSpec tiny_spec(int dims, int64_t data_dim, int64_t channels, nlohmann::json params,
                          nlohmann::json encoder_options = {{"enc_filters", 4}, {"num_layers", 2}}) {
  TaskSpec spec;
  spec.spatial_dims = dims;
  spec.in_channels = channels;
  spec.data_dim = data_dim;
  spec.encoder_options = std::move(encoder_options);
  spec.params = std::move(params);
  return spec;
}

/// (dims, side, ...) image: channel a holds 1 + the coordinate along spatial axis a (1-based, so a zero patch is
/// distinguishable from the cell at the origin).
inline torch::Tensor coordinate_image(int dims, int64_t side) {
  std::vector<torch::Tensor> channels;
  const std::vector<int64_t> full(static_cast<size_t>(dims), side);
  for (int axis = 0; axis < dims; ++axis) {
    std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
    shape[static_cast<size_t>(axis)] = side;
    channels.push_back((torch::arange(side, torch::kFloat32) + 1).reshape(shape).expand(full));
  }
  return torch::stack(channels).contiguous();
}

/// Normalised coordinates in [0, 1] along each spatial axis, broadcastable to (side, ...).
inline std::vector<torch::Tensor> unit_coordinates(int dims, int64_t side) {
  std::vector<torch::Tensor> coordinates;
  for (int axis = 0; axis < dims; ++axis) {
    std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
    shape[static_cast<size_t>(axis)] = side;
    coordinates.push_back((torch::arange(side, torch::kFloat32) / static_cast<double>(side - 1)).reshape(shape));
  }
  return coordinates;
}

/// A smooth random image (channels, side, ...) in [0, 1]: `blobs` Gaussian bumps at random positions, with
/// per-axis widths `sigma[axis]` (drawn per blob in [sigma_min[axis], sigma_max[axis]]) and per-channel amplitudes,
/// normalised by the maximum.
inline torch::Tensor gaussian_blobs(int dims, int64_t channels, int64_t side, Rng& rng, int blobs,
                                    const std::vector<double>& sigma_min, const std::vector<double>& sigma_max) {
  const std::vector<int64_t> full(static_cast<size_t>(dims), side);
  const auto coordinates = unit_coordinates(dims, side);
  std::vector<torch::Tensor> planes;
  for (int64_t c = 0; c < channels; ++c) planes.push_back(torch::zeros(full));
  for (int b = 0; b < blobs; ++b) {
    auto exponent = torch::zeros(full);
    for (int axis = 0; axis < dims; ++axis) {
      const double sigma = rng.uniform(sigma_min[static_cast<size_t>(axis)], sigma_max[static_cast<size_t>(axis)]);
      exponent =
          exponent + (coordinates[static_cast<size_t>(axis)] - rng.uniform(0.1, 0.9)).pow(2) / (2 * sigma * sigma);
    }
    const auto bump = torch::exp(-exponent);
    for (auto& plane : planes) plane += rng.uniform(0.3, 1.0) * bump;
  }
  auto image = torch::stack(planes);
  return (image / image.max()).contiguous();
}

/// Round blobs of random width (0.08 .. 0.25 of the side).
inline torch::Tensor blob_image(int dims, int64_t channels, int64_t side, Rng& rng) {
  const std::vector<double> lo(static_cast<size_t>(dims), 0.08), hi(static_cast<size_t>(dims), 0.25);
  return gaussian_blobs(dims, channels, side, rng, 4, lo, hi);
}

/// Round blobs whose width and number are fixed per image (2..6 blobs of width 0.05 .. 0.2): an identity that
/// survives flips, rotations, zoom and intensity jitter (what the exemplar task has to learn to recognise).
inline torch::Tensor scaled_blob_image(int dims, int64_t channels, int64_t side, Rng& rng) {
  const double sigma = rng.uniform(0.05, 0.2);
  const int count = static_cast<int>(rng.uniform_int(2, 6));
  const std::vector<double> width(static_cast<size_t>(dims), sigma);
  return gaussian_blobs(dims, channels, side, rng, count, width, width);
}

/// Blobs stretched along axis 0 (the CPC prediction axis: width 0.4 .. 0.8) and narrow across (0.04 .. 0.15): the
/// lower rows of a column are predictable from its upper rows, and columns / images differ.
inline torch::Tensor streak_image(int dims, int64_t channels, int64_t side, Rng& rng) {
  std::vector<double> lo(static_cast<size_t>(dims), 0.04), hi(static_cast<size_t>(dims), 0.15);
  lo[0] = 0.4;
  hi[0] = 0.8;
  return gaussian_blobs(dims, channels, side, rng, 5, lo, hi);
}

using ImageMaker = std::function<torch::Tensor(Rng&)>;

inline std::vector<torch::Tensor> make_images(const ImageMaker& make, size_t count, uint64_t seed) {
  Rng rng(seed);
  std::vector<torch::Tensor> images;
  for (size_t i = 0; i < count; ++i) images.push_back(make(rng));
  return images;
}

inline std::vector<torch::Tensor> blob_images(int dims, int64_t channels, int64_t side, size_t count, uint64_t seed) {
  return make_images([&](Rng& rng) { return blob_image(dims, channels, side, rng); }, count, seed);
}

/// Samples images[first ..] (cyclic); with `negatives`, Sample::negative is another image of the list (never the
/// same index), as the loader's "dataset" negative sampling provides it.
inline std::vector<Sample> samples_of(const std::vector<torch::Tensor>& images, size_t first, size_t count,
                                      bool negatives = false) {
  std::vector<Sample> samples;
  for (size_t i = 0; i < count; ++i) {
    const size_t index = (first + i) % images.size();
    Sample s{images[index], {}, static_cast<int64_t>(index)};
    if (negatives) s.negative = images[(index + 1 + (first / images.size()) % (images.size() - 1)) % images.size()];
    samples.push_back(s);
  }
  return samples;
}

struct HeldOut {
  double loss = 0;
  std::map<std::string, double> metrics;
};

/// Mean loss/metrics over the held-out images in batches of `batch_size` (eval mode, no grad, a fixed Rng so every
/// call sees the same batches).
inline HeldOut evaluate(const PretextTask& task, PretextModelImpl& model, const std::vector<torch::Tensor>& images,
                        size_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  Rng rng(424242);
  HeldOut out;
  const size_t batches = images.size() / batch_size;
  for (size_t b = 0; b < batches; ++b) {
    const auto batch =
        task.make_batch(samples_of(images, b * batch_size, batch_size, task.needs_negative()), rng, false);
    const auto step = task.step(model, batch);
    out.loss += step.loss.item<double>() / static_cast<double>(batches);
    for (const auto& [name, value] : step.metrics) out.metrics[name] += value / static_cast<double>(batches);
  }
  model.train(was_training);
  return out;
}

struct LearningCurve {
  HeldOut before, after;
};

/// Records the curve as test properties (visible with --gtest_output=xml:FILE), so margins can be watched in CI.
inline void record(const LearningCurve& curve) {
  ::testing::Test::RecordProperty("held_out_loss_before", std::to_string(curve.before.loss));
  ::testing::Test::RecordProperty("held_out_loss_after", std::to_string(curve.after.loss));
  for (const auto& [name, value] : curve.after.metrics)
    ::testing::Test::RecordProperty("held_out_" + name + "_after", std::to_string(value));
}

/// For the learning tests: the "modern" UNet encoder variant (InstanceNorm, no dropout). The reference's "taleb"
/// blocks (Dropout 0.5, BatchNorm with Keras momentum 0.99) need far more than a few hundred steps before the running
/// statistics used in eval mode match the training-mode network, which is what a held-out loss after 100 steps would
/// measure instead of the task.
inline void use_learning_encoder(TaskSpec& spec) { spec.encoder_options["variant"] = "modern"; }

/// A one-channel tiny_spec with the learning encoder: the spec of the contrastive and DINO tests.
inline TaskSpec learning_spec(int dims, int64_t data_dim, nlohmann::json params) {
  auto spec = tiny_spec(dims, data_dim, 1, std::move(params));
  use_learning_encoder(spec);
  return spec;
}

/// Adam (Keras epsilon) for `steps` steps on fresh images from `make` (a new batch every step, so the model cannot
/// memorise a small training set); held-out loss before and after.
inline LearningCurve train_held_out(const PretextTask& task, const ImageMaker& make,
                                    const std::vector<torch::Tensor>& held_out, int steps, size_t batch_size,
                                    double lr = 1e-3) {
  auto model = task.build_model();
  LearningCurve curve;
  curve.before = evaluate(task, *model, held_out, batch_size);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(lr).eps(1e-7));
  Rng data_rng(99), batch_rng(7);
  model->train();
  for (int step = 0; step < steps; ++step) {
    std::vector<Sample> samples;
    for (size_t i = 0; i < batch_size; ++i) {
      Sample s{make(data_rng), {}, static_cast<int64_t>(step * batch_size + i)};
      if (task.needs_negative()) s.negative = make(data_rng);
      samples.push_back(s);
    }
    const auto batch = task.make_batch(samples, batch_rng, true);
    optimizer.zero_grad();
    const auto out = task.step(*model, batch);
    out.loss.backward();
    optimizer.step();
    task.after_optimizer_step(*model, step + 1, steps);
  }
  curve.after = evaluate(task, *model, held_out, batch_size);
  record(curve);
  return curve;
}

}  // namespace medssl::pretext::ssl_testing
