#include "medssl/pretext/precise_batch_norm.h"

#include <vector>

namespace medssl::pretext {

namespace {

// One BatchNorm layer, whatever its dimensionality, with what recalibration changes and must put back.
struct Saved {
  torch::nn::Module* module = nullptr;
  c10::optional<double> momentum;
  torch::Tensor batches_tracked;
};

template <typename Impl>
bool save_if(torch::nn::Module* module, std::vector<Saved>& saved) {
  auto* bn = dynamic_cast<Impl*>(module);
  if (bn == nullptr) return false;
  if (!bn->options.track_running_stats()) return true;  // normalises with batch statistics in eval mode too
  saved.push_back({module, bn->options.momentum(),
                   bn->num_batches_tracked.defined() ? bn->num_batches_tracked.clone() : torch::Tensor()});
  return true;
}

// The model and its descendants in pre-order (parents before children). Not modules(include_self = true): that needs
// the model to be owned by a shared_ptr, which a caller's module need not be.
std::vector<torch::nn::Module*> modules_of(torch::nn::Module& model) {
  std::vector<torch::nn::Module*> out{&model};
  for (const auto& module : model.modules(/*include_self=*/false)) out.push_back(module.get());
  return out;
}

std::vector<Saved> batch_norm_layers(torch::nn::Module& model) {
  std::vector<Saved> saved;
  for (torch::nn::Module* m : modules_of(model)) {
    if (save_if<torch::nn::BatchNorm1dImpl>(m, saved)) continue;
    if (save_if<torch::nn::BatchNorm2dImpl>(m, saved)) continue;
    save_if<torch::nn::BatchNorm3dImpl>(m, saved);
  }
  return saved;
}

template <typename Impl>
void prepare_if(const Saved& s) {
  if (auto* bn = dynamic_cast<Impl*>(s.module)) {
    bn->reset_running_stats();            // mean 0, variance 1, num_batches_tracked 0
    bn->options.momentum(c10::nullopt);   // then the cumulative average: batch n gets weight 1/n
  }
}

template <typename Impl>
void restore_if(const Saved& s) {
  if (auto* bn = dynamic_cast<Impl*>(s.module)) {
    bn->options.momentum(s.momentum);
    if (s.batches_tracked.defined()) bn->num_batches_tracked.copy_(s.batches_tracked);  // counts training batches
  }
}

}  // namespace

int64_t count_batch_norm_layers(torch::nn::Module& model) {
  return static_cast<int64_t>(batch_norm_layers(model).size());
}

int64_t recalibrate_batch_norm(torch::nn::Module& model, int64_t batches,
                               const std::function<void(int64_t)>& forward_batch) {
  std::vector<Saved> layers = batch_norm_layers(model);
  if (layers.empty() || batches <= 0) return 0;
  // Pre-order, so setting the flags back in this order restores each module's own flag although Module::train()
  // recurses.
  std::vector<std::pair<torch::nn::Module*, bool>> flags;
  for (torch::nn::Module* m : modules_of(model)) flags.emplace_back(m, m->is_training());

  torch::NoGradGuard no_grad;
  model.eval();  // dropout off: the statistics are those of the eval-mode network
  for (const Saved& s : layers) {
    prepare_if<torch::nn::BatchNorm1dImpl>(s);
    prepare_if<torch::nn::BatchNorm2dImpl>(s);
    prepare_if<torch::nn::BatchNorm3dImpl>(s);
    s.module->train(true);
  }
  // Momentum, batch counters and flags go back even when a forward pass throws.
  auto restore = [&] {
    for (const Saved& s : layers) {
      restore_if<torch::nn::BatchNorm1dImpl>(s);
      restore_if<torch::nn::BatchNorm2dImpl>(s);
      restore_if<torch::nn::BatchNorm3dImpl>(s);
    }
    for (auto& [module, training] : flags) module->train(training);
  };
  try {
    for (int64_t i = 0; i < batches; ++i) forward_batch(i);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return static_cast<int64_t>(layers.size());
}

}  // namespace medssl::pretext
