#pragma once
// A pretext task of Taleb et al. (rotation, rpl, jigsaw, exemplar, cpc) or a later self-supervised method.
//
// The split of work, so that every task plugs into the same loader and trainer:
//   make_batch  runs in loader worker threads: turns a few preprocessed images into the task's inputs and targets.
//               Pure function of (samples, rng, training): all randomness comes from `rng` (a stream the loader derives
//               from (seed, epoch, batch index)), never from LibTorch's global generator, so batches are identical
//               whatever the number of workers and after a resume.
//   build_model builds the network: the shared encoder, registered under the name "encoder" (so its weights load
//               into the downstream UNet / classifier unchanged), plus the task's head.
//   step        forward + loss + metrics for one batch (training and validation use the same function; the trainer
//               sets train/eval mode and no-grad).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"
#include "medssl/train/batch_source.h"
#include "medssl/train/optim.h"
#include "medssl/train/trainer.h"

namespace medssl::pretext {

/// What every task is built from. `params` holds the validated config (reference keys: patches_per_side,
/// patch_jitter, code_size, crop_size, ...); tasks read what they need with defaults from the reference.
struct TaskSpec {
  int spatial_dims = 3;       ///< 2 or 3
  int64_t in_channels = 1;    ///< image channels
  int64_t data_dim = 128;     ///< side of the (cubic / square) images the loader hands over
  std::string encoder = "";   ///< "unet_encoder" (default for 3D and for 2D) or "densenet121"
  nlohmann::json encoder_options = nlohmann::json::object();  ///< extra options for models::build_model
  bool faithful = false;      ///< reproduce the reference's exact loss / quirks instead of the documented fixes
  nlohmann::json params = nlohmann::json::object();
};

/// One input sample handed to make_batch: a preprocessed image (C, H, W) or (C, D, H, W), float32, values roughly in
/// [0, 1], plus — when the task asks for it (needs_negative) — another image of the data set, never the same one.
struct Sample {
  torch::Tensor image;
  torch::Tensor negative;  ///< undefined unless PretextTask::needs_negative()
  int64_t index = -1;      ///< index of the image in the data set (negatives never share it)
};

/// The pretext network: a module whose child "encoder" is the transferable encoder.
class PretextModelImpl : public torch::nn::Module {
 public:
  std::shared_ptr<torch::nn::Module> encoder;
};

class PretextTask {
 public:
  virtual ~PretextTask() = default;
  /// The reference's `algorithm` name: rotation, rpl, jigsaw, exemplar, cpc, ...
  virtual std::string name() const = 0;
  /// Builds the network (encoder + head), freshly initialised.
  virtual std::shared_ptr<PretextModelImpl> build_model() const = 0;
  /// Inputs and targets for one batch. `training` chooses random (true) or centred (false) crops where the
  /// reference distinguishes them. Batch::size = number of samples produced (the reference's "realistic" batch).
  virtual train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool training) const = 0;
  /// Forward, loss, and metrics (e.g. {"acc", ...}); `model` is what build_model returned.
  virtual train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const = 0;
  /// Whether make_batch needs Sample::negative (exemplar with negatives from the data set).
  virtual bool needs_negative() const { return false; }
  /// The metric the validation monitors (encoder_best.pt, early stopping) and its mode; val_loss for every pretext
  /// task, as the reference, and val_l1 for masked ViT.
  virtual std::string monitor() const { return "val_loss"; }
  virtual std::string monitor_mode() const { return "min"; }
  /// Optimiser parameter groups of the task (e.g. SimSiam's predictor at a fixed learning rate); names are the
  /// model's parameter names ("predictor.").
  virtual std::vector<train::ParamGroupRule> param_group_rules() const { return {}; }
  /// Fewest images a TRAINING batch may hold (2 for heads with BatchNorm over the batch): a trailing smaller batch is
  /// dropped each epoch (the order is reshuffled, so other images sit out each time).
  virtual int64_t min_training_images() const { return 1; }
  /// Whether biases and 1-D (norm) parameters are excluded from weight decay (the contrastive methods' rule).
  virtual bool no_weight_decay_for_bias_and_norm() const { return false; }
  /// Called after every optimiser step of training, with the steps done so far (1 after the first) and the run's
  /// total (DINO's EMA teacher and centre updates). Default: nothing.
  virtual void after_optimizer_step(PretextModelImpl& /*model*/, int64_t /*steps_done*/, int64_t /*total_steps*/) const {}
};

/// Builds the task registered as `name`; throws medssl::Error listing the known names.
std::unique_ptr<PretextTask> make_task(const std::string& name, const TaskSpec& spec);
/// Registered task names, sorted.
std::vector<std::string> task_names();

/// The encoder network for `spec` (registered by the model registry name in spec.encoder; default unet_encoder)
/// and the width of its flattened output for an input of spatial side `side`.
std::shared_ptr<torch::nn::Module> build_encoder(const TaskSpec& spec);
/// Runs `encoder` (a UNetEncoder or a DenseNet without classifier) and flattens its output to (N, F): the UNet's
/// pooled bottleneck, flattened in (C, spatial) order, or DenseNet's globally pooled features.
torch::Tensor encode_flat(torch::nn::Module& encoder, const torch::Tensor& images);
/// F for images of shape (C, side, side[, side]) — computed by a forward pass of one zero image (no grad, eval mode
/// restored afterwards).
int64_t encoded_width(torch::nn::Module& encoder, const TaskSpec& spec, int64_t side);

}  // namespace medssl::pretext
