#pragma once
// Optimiser construction from plain options (adam, adamw, sgd), parameter groups, and gradient clipping.
// The trainer owns the optimiser it builds here so that it can rebuild a fresh one (e.g. after unfreezing an
// encoder), and the learning-rate schedule needs to know which groups it may touch (see `ParamGroupInfo::fixed_lr`).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

/// Parameters whose qualified name (as in named_parameters(), e.g. "predictor.0.weight") starts with `prefix`
/// form their own group. The first matching rule wins; unmatched parameters fall into the default group(s).
struct ParamGroupRule {
  std::string prefix;
  std::optional<double> lr;            ///< this group's base lr; default: OptimizerOptions::lr
  std::optional<double> weight_decay;  ///< default: OptimizerOptions::weight_decay
  bool fixed_lr = false;               ///< the lr schedule leaves this group alone (SimSiam's predictor)
};

struct OptimizerOptions {
  std::string type = "adam";  ///< adam | adamw | sgd
  double lr = 1e-3;
  double weight_decay = 0.0;  ///< adam: L2 added to the gradient; adamw: decoupled; sgd: L2
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;  ///< Keras (and the Taleb et al. reference) uses 1e-7: see `keras_adam`
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  /// Biases and every other 1-D parameter (norm scales/shifts) get no weight decay (the usual SimCLR/DINO rule).
  bool no_decay_for_bias_and_1d = false;
  std::vector<ParamGroupRule> groups;

  /// Adam with the Keras defaults the reference code relies on (beta 0.9/0.999, eps 1e-7, no weight decay).
  static OptimizerOptions keras_adam(double lr);
};

/// What the trainer and the schedule need to know about each torch param group (same order as param_groups()).
struct ParamGroupInfo {
  std::string name;  ///< "default", "no_decay", or the rule's prefix
  double base_lr = 0.0;
  double weight_decay = 0.0;
  bool fixed_lr = false;
  size_t num_tensors = 0;
};

struct BuiltOptimizer {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<ParamGroupInfo> groups;
};

/// Builds the optimiser over the parameters of `model` that require grad (frozen parameters are left out, so a
/// rebuilt optimiser after unfreezing starts with fresh state). Throws medssl::Error for an unknown type, bad
/// hyper-parameters, a rule that matches no parameter, or a model without trainable parameters.
BuiltOptimizer build_optimizer(const torch::nn::Module& model, const OptimizerOptions& options);

/// Reads/writes the lr of a torch param group whatever the optimiser type.
double group_lr(const torch::optim::OptimizerParamGroup& group);
void set_group_lr(torch::optim::OptimizerParamGroup& group, double lr);

/// Gradient clipping; every limit <= 0 is off. Order (as tf.keras): per-tensor norm, then value, then global norm.
struct ClipOptions {
  double max_global_norm = 0.0;  ///< torch clip_grad_norm_ over all gradients together
  double max_tensor_norm = 0.0;  ///< Keras `clipnorm`: each gradient tensor is clipped to this L2 norm on its own
  double max_value = 0.0;        ///< Keras `clipvalue` / torch clip_grad_value_: element-wise to [-v, v]
  bool enabled() const { return max_global_norm > 0 || max_tensor_norm > 0 || max_value > 0; }
};

/// Clips the gradients of `params` in place; returns the global L2 norm of the gradients before clipping.
double clip_gradients(const std::vector<torch::Tensor>& params, const ClipOptions& options);

/// Every parameter held by the optimiser (all groups), e.g. for clip_gradients.
std::vector<torch::Tensor> optimizer_parameters(const torch::optim::Optimizer& optimizer);

}  // namespace medssl::train
