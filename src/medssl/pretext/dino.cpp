// DINO (Caron et al. 2021) on IoU-constrained crop pairs, as dittohed/exploring-ssl-for-ct's main_dino.py trains it
// (design/reference/iou_and_monai_ssl.md A.7): student = encoder -> DINO head (models/dino_head.h); teacher = a copy
// of both, never trained by gradients but moved towards the student after every optimiser step (EMA, momentum cosine
// from teacher_momentum to 1 over the run, train/ema.h). Two views, no multi-crop: the student sees cat[x1, x2], the
// teacher cat[x2, x1], so each student row is scored against the teacher's output for the other crop
// (losses/dino_loss.h: cross-entropy against the centred, sharpened teacher softmax). The centre is a buffer of the
// model (saved in checkpoints, so a resumed run continues with it) updated after each step from that step's teacher
// outputs. The transferred encoder is the student's (as the reference saves it).
// Keys: out_dim (1024), projection_hidden_dim (2048), bottleneck_dim (256), student_temp (0.1), teacher_temp (0.04),
// center_momentum (0.9), teacher_momentum (0.9995), use_bn_in_head (false) + contrastive_pairs.h's. Metric "teacher_entropy" (nats of the
// centred, sharpened teacher distribution: near 0 or near log(out_dim) both mean collapse).
// Not reproduced (documented in docs/contrastive.md): the weight-decay schedule 0.04 -> 0.4 (weight_decay is
// constant), freezing the last layer during the first epoch; per-parameter gradient clipping is `clipnorm`.
#include "medssl/core/error.h"
#include "medssl/losses/dino_loss.h"
#include "medssl/models/dino_head.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/contrastive_pairs.h"
#include "medssl/pretext/task_factories.h"
#include "medssl/train/ema.h"

namespace medssl::pretext {

namespace {

constexpr const char* kTask = "dino";

/// Encoder + DINO head: the student, and (without its own teacher) the teacher.
class DinoNetImpl : public ContrastiveModelImpl {
 public:
  DinoNetImpl(const TaskSpec& spec, int64_t crop_side, const models::DinoHeadOptions& head_options)
      : ContrastiveModelImpl(spec, crop_side) {
    head = register_module("head", models::DinoHead(models::DinoHeadOptions(head_options).in_features(embedding_width())));
  }
  torch::Tensor forward(const torch::Tensor& views) { return head->forward(embed(views)); }
  models::DinoHead head{nullptr};
};

class DinoModelImpl : public DinoNetImpl {
 public:
  DinoModelImpl(const TaskSpec& spec, int64_t crop_side, const models::DinoHeadOptions& head_options)
      : DinoNetImpl(spec, crop_side, head_options) {
    teacher = register_module("teacher", std::make_shared<DinoNetImpl>(spec, crop_side, head_options));
    center = register_buffer("center", torch::zeros({1, head_options.out_features()}));
    // The teacher starts as the student (parameters and buffers) and is never trained by the optimiser.
    train::ema_update(*teacher, *this, 0.0);
    auto own = named_buffers(true);
    torch::NoGradGuard no_grad;
    for (auto& item : teacher->named_buffers(true)) item.value().copy_(own[item.key()]);
    for (auto& p : teacher->parameters(true)) p.set_requires_grad(false);
  }
  std::shared_ptr<DinoNetImpl> teacher;
  torch::Tensor center;
  torch::Tensor pending_batch_center;  ///< mean teacher output of the last training step, folded in after the update
};

class DinoTask : public PretextTask {
 public:
  explicit DinoTask(const TaskSpec& spec)
      : spec_(spec),
        pairs_(contrastive_pair_options(spec, kTask)),
        head_(models::DinoHeadOptions(1)
                  .hidden_features(integer_param(spec, "projection_hidden_dim", 2048, kTask))
                  .bottleneck_features(integer_param(spec, "bottleneck_dim", 256, kTask))
                  .out_features(integer_param(spec, "out_dim", 1024, kTask))
                  .batch_norm(spec.params.value("use_bn_in_head", false))),
        student_temp_(number_param(spec, "student_temp", 0.1, kTask)),
        teacher_temp_(number_param(spec, "teacher_temp", 0.04, kTask)),
        center_momentum_(number_param(spec, "center_momentum", 0.9, kTask)),
        teacher_momentum_(number_param(spec, "teacher_momentum", 0.9995, kTask)) {
    check(student_temp_ > 0 && teacher_temp_ > 0, "{}: student_temp and teacher_temp must be > 0", kTask);
    check(center_momentum_ >= 0 && center_momentum_ <= 1, "{}: center_momentum must lie in [0, 1]", kTask);
    check(teacher_momentum_ >= 0 && teacher_momentum_ <= 1, "{}: teacher_momentum must lie in [0, 1]", kTask);
  }

  std::string name() const override { return kTask; }

  std::shared_ptr<PretextModelImpl> build_model() const override {
    return std::make_shared<DinoModelImpl>(spec_, pairs_.crop_size, head_);
  }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const override {
    return contrastive_pair_batch(samples, pairs_, spec_, rng, kTask);
  }

  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override {
    auto& m = dynamic_cast<DinoModelImpl&>(model);
    const auto& v1 = batch.at("view1");
    const auto& v2 = batch.at("view2");
    auto student = m.forward(torch::cat({v1, v2}));
    torch::Tensor teacher;
    {
      torch::NoGradGuard no_grad;
      teacher = m.teacher->forward(torch::cat({v2, v1}));
    }
    train::StepOutput out;
    out.loss = losses::dino_loss(student, teacher, m.center, student_temp_, teacher_temp_);
    out.metrics["teacher_entropy"] = losses::dino_teacher_entropy(teacher, m.center, teacher_temp_);
    if (batch.tensors.count("fell_back")) out.metrics["pair_fallback"] = batch.at("fell_back").mean().item<double>();
    if (model.is_training()) m.pending_batch_center = teacher.mean(0, true);
    return out;
  }

  void after_optimizer_step(PretextModelImpl& model, int64_t steps_done, int64_t total_steps) const override {
    auto& m = dynamic_cast<DinoModelImpl&>(model);
    // The reference indexes its schedule by the step just taken (0-based).
    train::ema_update(*m.teacher, m, train::cosine_momentum(teacher_momentum_, steps_done - 1, total_steps));
    if (m.pending_batch_center.defined()) {
      torch::NoGradGuard no_grad;
      m.center.copy_(losses::dino_center_update(m.center, m.pending_batch_center, center_momentum_));
      m.pending_batch_center = torch::Tensor();
    }
  }

  bool no_weight_decay_for_bias_and_norm() const override { return true; }

 private:
  TaskSpec spec_;
  ContrastivePairOptions pairs_;
  models::DinoHeadOptions head_;
  double student_temp_, teacher_temp_, center_momentum_, teacher_momentum_;
};

}  // namespace

std::unique_ptr<PretextTask> make_dino_task(const TaskSpec& spec) { return std::make_unique<DinoTask>(spec); }

}  // namespace medssl::pretext
