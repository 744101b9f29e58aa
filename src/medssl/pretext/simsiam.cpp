// SimSiam (Chen & He 2021) on IoU-constrained crop pairs, as dittohed/exploring-ssl-for-ct trains it
// (iou_and_monai_ssl.md A.6): encoder -> projector (3 x Linear-BN, the last BN without affine; 2048-2048-2048)
// -> predictor (2048-512-2048); symmetric negative cosine with stop-gradient (losses/negative_cosine.h).
// The predictor keeps the base learning rate for the whole run (param group "predictor.", fixed_lr), biases and norm
// parameters get no weight decay, as the reference. Metrics: "collapse" (the reference's monitor on the predictions;
// 0 healthy, 1 collapsed) and, with the reference sampler, "pair_fallback".
// Keys: projection_dim (2048), projection_hidden_dim (2048), prediction_hidden_dim (512) + contrastive_pairs.h's.
#include "medssl/core/error.h"
#include "medssl/losses/negative_cosine.h"
#include "medssl/models/heads.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/contrastive_pairs.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {

constexpr const char* kTask = "simsiam";

class SimSiamModelImpl : public ContrastiveModelImpl {
 public:
  SimSiamModelImpl(const TaskSpec& spec, int64_t crop_side, int64_t dim, int64_t hidden, int64_t predictor_hidden)
      : ContrastiveModelImpl(spec, crop_side) {
    projector = register_module("projector", models::ProjectionMLP(models::ProjectionMLPOptions(embedding_width())
                                                                        .hidden_features(hidden)
                                                                        .out_features(dim)
                                                                        .num_layers(3)
                                                                        .last_bn(true)
                                                                        .last_bn_affine(false)));
    predictor = register_module("predictor", models::PredictionMLP(models::PredictionMLPOptions()
                                                                        .in_features(dim)
                                                                        .hidden_features(predictor_hidden)
                                                                        .out_features(dim)));
  }
  models::ProjectionMLP projector{nullptr};
  models::PredictionMLP predictor{nullptr};
};

class SimSiamTask : public PretextTask {
 public:
  explicit SimSiamTask(const TaskSpec& spec)
      : spec_(spec),
        pairs_(contrastive_pair_options(spec, kTask)),
        dim_(integer_param(spec, "projection_dim", 2048, kTask)),
        hidden_(integer_param(spec, "projection_hidden_dim", 2048, kTask)),
        predictor_hidden_(integer_param(spec, "prediction_hidden_dim", 512, kTask)) {
    check(dim_ >= 1 && hidden_ >= 1 && predictor_hidden_ >= 1, "{}: head widths must be >= 1", kTask);
  }

  std::string name() const override { return kTask; }

  std::shared_ptr<PretextModelImpl> build_model() const override {
    return std::make_shared<SimSiamModelImpl>(spec_, pairs_.crop_size, dim_, hidden_, predictor_hidden_);
  }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const override {
    return contrastive_pair_batch(samples, pairs_, spec_, rng, kTask);
  }

  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override {
    auto& m = dynamic_cast<SimSiamModelImpl&>(model);
    const auto& v1 = batch.at("view1");
    const auto& v2 = batch.at("view2");
    check(!model.is_training() || v1.size(0) >= 2, "{}: a training batch needs at least 2 images (BatchNorm in the heads)",
          kTask);
    // One pass per view, as the reference: BatchNorm statistics are then those of one view's batch.
    auto z1 = m.projector->forward(m.embed(v1));
    auto z2 = m.projector->forward(m.embed(v2));
    auto p1 = m.predictor->forward(z1);
    auto p2 = m.predictor->forward(z2);
    train::StepOutput out;
    out.loss = losses::simsiam_loss(p1, p2, z1, z2);
    if (p1.size(0) >= 2) out.metrics["collapse"] = losses::collapse_level(p1);  // needs a spread over the batch
    if (batch.tensors.count("fell_back")) out.metrics["pair_fallback"] = batch.at("fell_back").mean().item<double>();
    return out;
  }

  std::vector<train::ParamGroupRule> param_group_rules() const override {
    train::ParamGroupRule predictor;
    predictor.prefix = "predictor.";
    predictor.fixed_lr = true;
    return {predictor};
  }
  bool no_weight_decay_for_bias_and_norm() const override { return true; }
  int64_t min_training_images() const override { return 2; }

 private:
  TaskSpec spec_;
  ContrastivePairOptions pairs_;
  int64_t dim_, hidden_, predictor_hidden_;
};

}  // namespace

std::unique_ptr<PretextTask> make_simsiam_task(const TaskSpec& spec) { return std::make_unique<SimSiamTask>(spec); }

}  // namespace medssl::pretext
