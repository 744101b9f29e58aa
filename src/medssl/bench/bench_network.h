#pragma once
// The network, batch and step function a training-step benchmark runs, built by the same code the real runs use:
// finetuning networks through finetune::build_finetune_model (the `--model` cases), pretext networks and their
// batches through the pretext task registry, make_batch and PretextTask::step (the `--task` cases).
//
//   --model unet3d         unet_3d_upconv (Taleb UNet), 3 classes, batch {image (B, C, D, H, W), label (B, D, H, W)}
//   --model unet2d         unet_2d_upconv, 3 classes
//   --model densenet121_2d densenet121_classifier (DenseNet-121 features -> Linear), 5 grades, label (B,)
//   --model unetr          MONAI UNETR at img_size = the input's spatial size, 3 classes
//   --model swinunetr      MONAI SwinUNETR (feature size 48), 3 classes
//   model loss: cross-entropy of the logits against random labels (what bench/peer/train_step.py computes)
//   --task rotation|rpl|jigsaw|exemplar|cpc|simsiam|...   any registered pretext task: `batch` random images of the
//       input shape go through the task's make_batch (so rpl/jigsaw patch batches, exemplar triplets and CPC grids
//       have their real shapes). `sets` are `medssl pretrain` config keys (patches_per_side=4, code_size=1024,
//       enc_filters=8, encoder_architecture=DenseNet121, ...), validated by the pretrain schema and turned into the
//       task's TaskSpec by the same function pretrain uses, so a bench case is exactly a pretrain run's network
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medssl/core/torch_pch.h"
#include "medssl/pretext/task.h"
#include "medssl/train/batch_source.h"
#include "medssl/train/optim.h"
#include "medssl/train/trainer.h"

namespace medssl::bench {

struct NetworkRequest {
  std::string model;            ///< one of model_names(), or empty when `task` is set
  std::string task;             ///< a pretext task name, or empty when `model` is set
  std::vector<int64_t> input;   ///< C, then 2 or 3 spatial sizes
  int64_t batch = 2;            ///< images per batch
  std::vector<std::string> sets;  ///< `medssl pretrain` config overrides key=value (task cases only)
  uint64_t seed = 0;
};

struct BenchNetwork {
  std::string label;  ///< "model=unet3d" / "task=rpl"
  std::shared_ptr<torch::nn::Module> module;
  train::StepFn step;
  /// Model cases: the network's forward (image batch -> logits), for inference benchmarks; empty for task cases.
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  train::Batch batch;
  std::vector<train::ParamGroupRule> param_groups;  ///< the task's optimiser groups (SimSiam's predictor)
  bool no_decay_for_bias_and_1d = false;
  std::shared_ptr<pretext::PretextTask> task;  ///< kept alive for `step` (task cases)
};

/// The `--model` names.
const std::vector<std::string>& model_names();

/// The TaskSpec `medssl pretrain` builds for `task` on images of (channels, side^dims) with the config overrides
/// `sets` (validated by the pretrain schema; errors name the key).
pretext::TaskSpec bench_task_spec(const std::string& task, int dims, int64_t channels, int64_t side,
                                  const std::vector<std::string>& sets);

/// Builds the network (seeded with request.seed) and one batch; throws medssl::Error naming the bad option.
BenchNetwork build_bench_network(const NetworkRequest& request);

/// {name: shape} of the batch's tensors, for reports.
nlohmann::ordered_json batch_shapes(const train::Batch& batch);

}  // namespace medssl::bench
