#pragma once
// What the classification pretext tasks (rotation, rpl, jigsaw) share: their network, their loss and accuracy, and
// the checks of the configuration keys they have in common.
//
// The network is the reference's TimeDistributed(encoder) -> Flatten -> big_fully -> Dense(classes): every sample
// brings P images (rotation: the whole image, P = 1; rpl: [centre, query], P = 2; jigsaw: 9 or 27 patches in slot
// order). They go through the SAME encoder (the patch axis is folded into the batch, so BatchNorm statistics cover all
// B*P images, as in Keras), their flattened embeddings are concatenated in patch order, then big_fully (2048, 1024,
// Keras BN settings, dropout .5) and a linear layer give the class logits.
//
// Module names: encoder.* (transfers to the downstream UNet / classifier, whose encoder is also "encoder"),
// top.* (BigFully: fc1, bn1, fc2, bn2), classifier.fc.* (the class layer).
// TaskSpec.params `top_units` = [hidden1, hidden2] narrows big_fully (default [2048, 1024], the reference).
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/models/heads.h"
#include "medssl/pretext/patch_grid.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

struct PatchClassifierOptions {
  PatchClassifierOptions(int64_t patches, int64_t side, int64_t num_classes)
      : patches_(patches), side_(side), num_classes_(num_classes) {}
  TORCH_ARG(int64_t, patches);      ///< images per sample through the shared encoder (P)
  TORCH_ARG(int64_t, side);         ///< their spatial side (square / cubic)
  TORCH_ARG(int64_t, num_classes);  ///< logits per sample
  TORCH_ARG(int64_t, hidden1) = 2048;  ///< big_fully widths (the reference's 2048, 1024)
  TORCH_ARG(int64_t, hidden2) = 1024;
};

class PatchClassifierImpl : public PretextModelImpl {
 public:
  PatchClassifierImpl(const TaskSpec& spec, PatchClassifierOptions options);

  /// Logits (B, num_classes) for input (B, P, C, *patch), or (B, C, *image) when P is 1.
  torch::Tensor forward(const torch::Tensor& input);

  const PatchClassifierOptions& options() const { return options_; }
  /// Width of one image's flattened encoder output (the big_fully input is P times this).
  int64_t embedding_width() const { return embedding_width_; }

 private:
  TaskSpec spec_;
  PatchClassifierOptions options_;
  int64_t embedding_width_ = 0;
  models::BigFully top_{nullptr};
  models::LinearClassifier classifier_{nullptr};
};

/// Forward, categorical cross-entropy on the logits against batch "label" (int64 class indices), and metric "acc".
/// faithful: Keras's loss instead (softmax probabilities clipped to [1e-7, 1 - 1e-7] before the log).
train::StepOutput classification_step(PretextModelImpl& model, const train::Batch& batch, bool faithful);

/// Per-sample inputs stacked to "input" (B, ...) with int64 class indices "label" (B,): the batch of every
/// classification pretext task.
train::Batch labelled_batch(const std::vector<torch::Tensor>& inputs, const std::vector<int64_t>& labels);

/// What rotation, rpl and jigsaw share: a PatchClassifier built from `model_options` and the cross-entropy step.
/// They keep the base task's monitor, validation loss (min), as the reference's ModelCheckpoint does: accuracy
/// saturates (rotation reaches val_acc 1.0 after one epoch on 10 validation volumes), and the first epoch at the
/// maximum would then be kept as encoder_best.pt however long the pretraining ran. Subclasses supply name() and
/// make_batch().
class PatchClassificationTask : public PretextTask {
 public:
  std::shared_ptr<PretextModelImpl> build_model() const override;
  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override;

 protected:
  /// Applies the `top_units` param to `model_options` and checks `top_architecture`.
  PatchClassificationTask(const TaskSpec& spec, PatchClassifierOptions model_options, const std::string& task);

  TaskSpec spec_;
  PatchClassifierOptions model_options_;
};

// ---- configuration shared by the classification tasks (TaskSpec.params, reference key names)

/// params[key] as an integer, `fallback` when absent or null; throws medssl::Error naming task and key otherwise.
int64_t integer_param(const TaskSpec& spec, const std::string& key, int64_t fallback, const std::string& task);
/// `top_architecture` must be absent or "big_fully" (the only head the reference's classification tasks use).
void check_top_architecture(const TaskSpec& spec, const std::string& task);
/// `options` with big_fully's widths from `top_units` ([hidden1, hidden2], default [2048, 1024]; a medssl extension
/// for small experiments and tests, since the 2048 x 1024 layer dominates the cost on small images).
PatchClassifierOptions with_top_units(PatchClassifierOptions options, const TaskSpec& spec, const std::string& task);
/// The reference's patch grid from patches_per_side (default 3, >= 2) and patch_jitter (default 0), checked against
/// data_dim and against what the encoder can take.
PatchGrid patch_grid_from_params(const TaskSpec& spec, const std::string& task);

/// Smallest image side the encoder of `spec` turns into at least one output voxel (UNet: 2^(num_layers + 1 if it
/// ends with a pooling); DenseNet: from its stem and transitions).
int64_t min_encoder_side(const TaskSpec& spec);
/// Throws medssl::Error (naming task, the encoder and its minimum) if images of `side` are too small for the encoder.
/// `what` names the images ("images", "patches").
void check_encoder_fits(const TaskSpec& spec, int64_t side, const std::string& task, const std::string& what);

/// Checks a sample image is (in_channels, side, ...) with spatial_dims square/cubic axes of data_dim; returns it.
const torch::Tensor& checked_image(const Sample& sample, const TaskSpec& spec, const std::string& task);

}  // namespace medssl::pretext
