// SimCLR (Chen et al. 2020) on IoU-constrained crop pairs: encoder -> projector (Linear-BN-ReLU-Linear,
// projection_hidden_dim 2048 -> projection_dim 128) -> NT-Xent over the 2B views of a batch (losses/nt_xent.h)
// with `temperature` (default 0.1, SimCLR's ImageNet value; MONAI's tutorial uses 0.05 for its ViT). Biases and norm
// parameters get no weight decay. Metrics: "acc" (the positive is the most similar of the 2B - 1 other views; chance
// 1 / (2B - 1)) and, with the reference sampler, "pair_fallback".
#include "medssl/core/error.h"
#include "medssl/losses/nt_xent.h"
#include "medssl/models/heads.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/contrastive_pairs.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {

constexpr const char* kTask = "simclr";

class SimClrModelImpl : public ContrastiveModelImpl {
 public:
  SimClrModelImpl(const TaskSpec& spec, int64_t crop_side, int64_t dim, int64_t hidden)
      : ContrastiveModelImpl(spec, crop_side) {
    projector = register_module("projector", models::ProjectionMLP(models::ProjectionMLPOptions(embedding_width())
                                                                        .hidden_features(hidden)
                                                                        .out_features(dim)
                                                                        .num_layers(2)
                                                                        .last_bn(false)));
  }
  models::ProjectionMLP projector{nullptr};
};

class SimClrTask : public PretextTask {
 public:
  explicit SimClrTask(const TaskSpec& spec)
      : spec_(spec),
        pairs_(contrastive_pair_options(spec, kTask)),
        dim_(integer_param(spec, "projection_dim", 128, kTask)),
        hidden_(integer_param(spec, "projection_hidden_dim", 2048, kTask)),
        temperature_(number_param(spec, "temperature", 0.1, kTask)) {
    check(dim_ >= 1 && hidden_ >= 1, "{}: head widths must be >= 1", kTask);
    check(temperature_ > 0, "{}: temperature must be > 0, got {}", kTask, temperature_);
  }

  std::string name() const override { return kTask; }

  std::shared_ptr<PretextModelImpl> build_model() const override {
    return std::make_shared<SimClrModelImpl>(spec_, pairs_.crop_size, dim_, hidden_);
  }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const override {
    return contrastive_pair_batch(samples, pairs_, spec_, rng, kTask);
  }

  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override {
    auto& m = dynamic_cast<SimClrModelImpl&>(model);
    const auto& v1 = batch.at("view1");
    check(!model.is_training() || v1.size(0) >= 2, "{}: a training batch needs at least 2 images (negatives, BatchNorm)",
          kTask);
    auto z1 = m.projector->forward(m.embed(v1));
    auto z2 = m.projector->forward(m.embed(batch.at("view2")));
    auto result = losses::nt_xent_loss(z1, z2, temperature_);
    train::StepOutput out;
    out.loss = result.loss;
    out.metrics["acc"] = result.accuracy;
    if (batch.tensors.count("fell_back")) out.metrics["pair_fallback"] = batch.at("fell_back").mean().item<double>();
    return out;
  }

  bool no_weight_decay_for_bias_and_norm() const override { return true; }
  int64_t min_training_images() const override { return 2; }

 private:
  TaskSpec spec_;
  ContrastivePairOptions pairs_;
  int64_t dim_, hidden_;
  double temperature_;
};

}  // namespace

std::unique_ptr<PretextTask> make_simclr_task(const TaskSpec& spec) { return std::make_unique<SimClrTask>(spec); }

}  // namespace medssl::pretext
