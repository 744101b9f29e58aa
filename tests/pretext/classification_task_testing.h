#pragma once
// Test helpers for the classification pretext tasks (rotation, rpl, jigsaw): specs, images whose voxels encode their
// coordinates, learnable synthetic images, and a small Adam training loop that reports held-out accuracy.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/pretext/precise_batch_norm.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext::testing {

inline TaskSpec small_spec(int dims, int64_t data_dim, int64_t channels = 1, nlohmann::json encoder_options = {
                                                                                 {"enc_filters", 4}}) {
  TaskSpec spec;
  spec.spatial_dims = dims;
  spec.in_channels = channels;
  spec.data_dim = data_dim;
  spec.encoder_options = std::move(encoder_options);
  return spec;
}

/// (dims, side, ...) float image: channel a holds the coordinate along spatial axis a (so every voxel is unique and a
/// patch tells where it was cut from).
inline torch::Tensor coordinate_image(int dims, int64_t side) {
  std::vector<torch::Tensor> channels;
  for (int axis = 0; axis < dims; ++axis) {
    std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
    shape[static_cast<size_t>(axis)] = side;
    std::vector<int64_t> full(static_cast<size_t>(dims), side);
    channels.push_back(torch::arange(side, torch::kFloat32).reshape(shape).expand(full));
  }
  return torch::stack(channels).contiguous();
}

/// A random image (1, side, ...) with a fixed orientation and position code: an intensity ramp that rises along every
/// spatial axis with different slopes (so direction and location are recoverable) plus random Gaussian blobs and a
/// random brightness offset and contrast (so no single voxel value gives the answer away).
inline torch::Tensor ramp_image(int dims, int64_t side, Rng& rng) {
  auto coordinates = coordinate_image(dims, side) / static_cast<double>(side - 1);  // (dims, ...) in [0, 1]
  static const double slopes[3] = {1.0, 0.55, 0.25};
  auto image = torch::zeros(coordinates.sizes().slice(1), torch::kFloat32);
  for (int axis = 0; axis < dims; ++axis) image += slopes[axis] * coordinates[axis];
  for (int blob = 0; blob < 3; ++blob) {
    auto distance2 = torch::zeros_like(image);
    for (int axis = 0; axis < dims; ++axis) distance2 += (coordinates[axis] - rng.uniform()).pow(2);
    const double radius = rng.uniform(0.08, 0.2);
    image += rng.uniform(-0.6, 0.6) * torch::exp(-distance2 / (2 * radius * radius));
  }
  image = image * rng.uniform(0.7, 1.3) + rng.uniform(-0.3, 0.3);
  return image.unsqueeze(0).contiguous();
}

/// A random image (dims, side, ...): channel a is an intensity ramp along spatial axis a plus random Gaussian blobs
/// (amplitude up to `blob_amplitude`), each channel with its own random offset and contrast. The channels separate
/// the axes, so the offset between two patches can be read per axis (what rpl needs).
inline torch::Tensor axis_ramp_image(int dims, int64_t side, Rng& rng, double blob_amplitude = 0.3) {
  auto coordinates = coordinate_image(dims, side) / static_cast<double>(side - 1);
  std::vector<torch::Tensor> channels;
  for (int axis = 0; axis < dims; ++axis) {
    auto channel = coordinates[axis].clone();
    for (int blob = 0; blob < 3; ++blob) {
      auto distance2 = torch::zeros_like(channel);
      for (int a = 0; a < dims; ++a) distance2 += (coordinates[a] - rng.uniform()).pow(2);
      const double radius = rng.uniform(0.08, 0.2);
      channel += rng.uniform(-blob_amplitude, blob_amplitude) * torch::exp(-distance2 / (2 * radius * radius));
    }
    channels.push_back(channel * rng.uniform(0.7, 1.3) + rng.uniform(-0.3, 0.3));
  }
  return torch::stack(channels).contiguous();
}

inline std::vector<Sample> samples_of(const std::vector<torch::Tensor>& images, size_t first, size_t count) {
  std::vector<Sample> samples;
  for (size_t i = 0; i < count; ++i) {
    const size_t index = (first + i) % images.size();
    samples.push_back({images[index], {}, static_cast<int64_t>(index)});
  }
  return samples;
}

struct LearningResult {
  double first_loss = 0, last_loss = 0;  ///< mean training loss of the first / last 20 steps
  double held_out_accuracy = 0;          ///< eval mode, validation batches (make_batch training=false)
};

/// "Precise BatchNorm" (pretext/precise_batch_norm.h, what `medssl pretrain` does before each validation) over a few
/// training batches: a few hundred steps are far too few for the reference's moving averages (Keras momentum 0.99:
/// the initial statistics still weigh 0.99^150 = 22 % after 150 steps), so without it the eval-mode accuracy of a
/// short run says little about what the network has learned.
inline void recalibrate_batch_norm(torch::nn::Module& model, const std::function<train::Batch(int64_t)>& batch_at,
                                   const PretextTask& task, int64_t batches = 8) {
  auto& pretext = dynamic_cast<PretextModelImpl&>(model);
  pretext::recalibrate_batch_norm(model, batches, [&](int64_t i) { task.step(pretext, batch_at(i)); });
  model.eval();
}

/// Trains task's model with Adam (Keras epsilon) on `train` images and measures accuracy on `held_out` images (eval
/// mode after recalibrate_batch_norm). Runs on one LibTorch thread: on a busy 2-core machine, 2 OpenMP threads
/// spin-wait on each other and small kernels get 10-40x slower.
inline LearningResult train_and_evaluate(const PretextTask& task, const std::vector<torch::Tensor>& train,
                                         const std::vector<torch::Tensor>& held_out, int steps, size_t batch_size,
                                         double lr = 3e-3) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  auto model = task.build_model();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(lr).eps(1e-7));
  Rng rng(7);
  LearningResult result;
  model->train();
  for (int step = 0; step < steps; ++step) {
    auto batch = task.make_batch(samples_of(train, static_cast<size_t>(step) * batch_size, batch_size), rng, true);
    auto out = task.step(*model, batch);
    optimizer.zero_grad();
    out.loss.backward();
    optimizer.step();
    const double loss = out.loss.item<double>();
    if (step < 20) result.first_loss += loss / 20;
    if (step >= steps - 20) result.last_loss += loss / 20;
  }
  torch::NoGradGuard no_grad;
  recalibrate_batch_norm(*model, [&](int64_t i) {
    return task.make_batch(samples_of(train, static_cast<size_t>(i) * batch_size, batch_size), rng, true);
  }, task);
  model->eval();
  Rng eval_rng(11);
  double correct = 0, total = 0;
  for (int repeat = 0; repeat < 4; ++repeat) {  // several label draws per held-out image
    for (size_t first = 0; first < held_out.size(); first += batch_size) {
      const size_t count = std::min(batch_size, held_out.size() - first);
      auto batch = task.make_batch(samples_of(held_out, first, count), eval_rng, false);
      auto out = task.step(*model, batch);
      correct += out.metrics.at("acc") * static_cast<double>(count);
      total += static_cast<double>(count);
    }
  }
  result.held_out_accuracy = correct / total;
  ::testing::Test::RecordProperty("held_out_accuracy", std::to_string(result.held_out_accuracy));
  ::testing::Test::RecordProperty("loss", std::to_string(result.first_loss) + " -> " + std::to_string(result.last_loss));
  torch::set_num_threads(threads);
  return result;
}

/// Every parameter and buffer of `model` under "encoder." has the same name and shape in `target` (and vice versa),
/// and copying them over works.
inline void expect_encoder_transfers(torch::nn::Module& pretext, torch::nn::Module& target) {
  auto collect = [](torch::nn::Module& m) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
    for (const auto& b : m.named_buffers()) out[b.key()] = b.value();
    return out;
  };
  auto source = collect(pretext), destination = collect(target);
  size_t transferred = 0;
  for (auto& [name, tensor] : source) {
    if (name.rfind("encoder.", 0) != 0) continue;
    auto it = destination.find(name);
    ASSERT_NE(it, destination.end()) << name << " missing in the downstream model";
    ASSERT_EQ(it->second.sizes(), tensor.sizes()) << name;
    torch::NoGradGuard no_grad;
    it->second.copy_(tensor);
    ++transferred;
  }
  size_t downstream = 0;
  for (auto& [name, tensor] : destination) downstream += name.rfind("encoder.", 0) == 0;
  EXPECT_EQ(transferred, downstream) << "the downstream encoder has tensors the pretext encoder lacks";
  EXPECT_GT(transferred, 10u);
}

}  // namespace medssl::pretext::testing
