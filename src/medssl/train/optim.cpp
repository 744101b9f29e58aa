#include "medssl/train/optim.h"

#include <cmath>

#include "medssl/core/error.h"

namespace medssl::train {

OptimizerOptions OptimizerOptions::keras_adam(double lr) {
  OptimizerOptions o;
  o.type = "adam";
  o.lr = lr;
  o.eps = 1e-7;
  return o;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::unique_ptr<torch::optim::OptimizerOptions> make_group_options(const OptimizerOptions& o, double lr, double wd) {
  if (o.type == "adam") {
    return std::make_unique<torch::optim::AdamOptions>(
        torch::optim::AdamOptions(lr).betas(std::make_tuple(o.beta1, o.beta2)).eps(o.eps).weight_decay(wd));
  }
  if (o.type == "adamw") {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(lr).betas(std::make_tuple(o.beta1, o.beta2)).eps(o.eps).weight_decay(wd));
  }
  return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lr)
                                                        .momentum(o.momentum)
                                                        .dampening(o.dampening)
                                                        .nesterov(o.nesterov)
                                                        .weight_decay(wd));
}

void validate(const OptimizerOptions& o) {
  check(o.type == "adam" || o.type == "adamw" || o.type == "sgd",
        "optimizer type '{}' is not supported (choose adam, adamw or sgd)", o.type);
  check(std::isfinite(o.lr) && o.lr >= 0, "optimizer lr must be a finite number >= 0, got {}", o.lr);
  check(o.weight_decay >= 0, "optimizer weight_decay must be >= 0, got {}", o.weight_decay);
  check(o.eps > 0, "optimizer eps must be > 0, got {}", o.eps);
  check(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
        "optimizer betas must lie in [0, 1), got ({}, {})", o.beta1, o.beta2);
  check(o.momentum >= 0, "optimizer momentum must be >= 0, got {}", o.momentum);
  check(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
        "sgd nesterov needs momentum > 0 and dampening 0 (got momentum {}, dampening {})", o.momentum, o.dampening);
}

}  // namespace

BuiltOptimizer build_optimizer(const torch::nn::Module& model, const OptimizerOptions& options) {
  validate(options);
  auto named = model.named_parameters(/*recurse=*/true);

  // Group key: rule index (-1 = default) and whether weight decay is dropped for this parameter.
  struct Pending {
    ParamGroupInfo info;
    std::vector<torch::Tensor> params;
  };
  std::vector<Pending> pending;
  auto find_or_add = [&](const std::string& name, double lr, double wd, bool fixed) -> Pending& {
    for (auto& p : pending)
      if (p.info.name == name) return p;
    pending.push_back({ParamGroupInfo{name, lr, wd, fixed, 0}, {}});
    return pending.back();
  };
  // Fix the group order up front (default, no_decay, then rules), whatever order the parameters come in.
  find_or_add("default", options.lr, options.weight_decay, false);
  if (options.no_decay_for_bias_and_1d) find_or_add("no_decay", options.lr, 0.0, false);

  std::vector<bool> rule_matched(options.groups.size(), false);
  for (const auto& item : named) {
    const std::string& name = item.key();
    const torch::Tensor& p = item.value();
    int rule = -1;
    for (size_t r = 0; r < options.groups.size(); ++r) {
      if (name.rfind(options.groups[r].prefix, 0) == 0) {
        rule = static_cast<int>(r);
        rule_matched[r] = true;
        break;
      }
    }
    if (!p.requires_grad()) continue;
    bool no_decay = options.no_decay_for_bias_and_1d && (ends_with(name, "bias") || p.dim() <= 1);
    if (rule < 0) {
      find_or_add(no_decay ? "no_decay" : "default", options.lr, no_decay ? 0.0 : options.weight_decay, false)
          .params.push_back(p);
    } else {
      const ParamGroupRule& g = options.groups[static_cast<size_t>(rule)];
      double lr = g.lr.value_or(options.lr);
      double wd = no_decay ? 0.0 : g.weight_decay.value_or(options.weight_decay);
      check(std::isfinite(lr) && lr >= 0, "optimizer group '{}': lr must be finite and >= 0, got {}", g.prefix, lr);
      check(wd >= 0, "optimizer group '{}': weight_decay must be >= 0, got {}", g.prefix, wd);
      find_or_add(no_decay ? g.prefix + "/no_decay" : g.prefix, lr, wd, g.fixed_lr).params.push_back(p);
    }
  }
  for (size_t r = 0; r < options.groups.size(); ++r)
    check(rule_matched[r], "optimizer group prefix '{}' matches no parameter of the model", options.groups[r].prefix);

  BuiltOptimizer built;
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (auto& p : pending) {
    if (p.params.empty()) continue;
    p.info.num_tensors = p.params.size();
    torch_groups.emplace_back(p.params, make_group_options(options, p.info.base_lr, p.info.weight_decay));
    built.groups.push_back(p.info);
  }
  check(!torch_groups.empty(), "cannot build a '{}' optimizer: the model has no trainable parameters", options.type);

  auto defaults_holder = make_group_options(options, options.lr, options.weight_decay);
  if (options.type == "adam") {
    built.optimizer = std::make_unique<torch::optim::Adam>(
        std::move(torch_groups), static_cast<torch::optim::AdamOptions&>(*defaults_holder));
  } else if (options.type == "adamw") {
    built.optimizer = std::make_unique<torch::optim::AdamW>(
        std::move(torch_groups), static_cast<torch::optim::AdamWOptions&>(*defaults_holder));
  } else {
    built.optimizer = std::make_unique<torch::optim::SGD>(std::move(torch_groups),
                                                          static_cast<torch::optim::SGDOptions&>(*defaults_holder));
  }
  return built;
}

double group_lr(const torch::optim::OptimizerParamGroup& group) { return group.options().get_lr(); }

void set_group_lr(torch::optim::OptimizerParamGroup& group, double lr) { group.options().set_lr(lr); }

std::vector<torch::Tensor> optimizer_parameters(const torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> out;
  for (const auto& g : optimizer.param_groups())
    for (const auto& p : g.params()) out.push_back(p);
  return out;
}

double clip_gradients(const std::vector<torch::Tensor>& params, const ClipOptions& options) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;

  auto global_norm = [&grads]() {
    std::vector<torch::Tensor> norms;
    norms.reserve(grads.size());
    for (const auto& g : grads) norms.push_back(g.detach().to(torch::kFloat64).norm(2));
    return torch::stack(norms).norm(2).item<double>();
  };
  double norm_before = global_norm();

  if (options.max_tensor_norm > 0) {
    for (auto& g : grads) {
      double n = g.detach().to(torch::kFloat64).norm(2).item<double>();
      if (n > options.max_tensor_norm) g.mul_(options.max_tensor_norm / n);
    }
  }
  if (options.max_value > 0) {
    for (auto& g : grads) g.clamp_(-options.max_value, options.max_value);
  }
  if (options.max_global_norm > 0) {
    double n = options.max_tensor_norm > 0 || options.max_value > 0 ? global_norm() : norm_before;
    // Same rule as torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
    double coef = options.max_global_norm / (n + 1e-6);
    if (coef < 1.0)
      for (auto& g : grads) g.mul_(coef);
  }
  return norm_before;
}

}  // namespace medssl::train
