#include "medssl/pretext/rpl.h"

#include "medssl/core/error.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {

const char* const kTask = "rpl";

class RplTask : public PretextTask {
 public:
  explicit RplTask(const TaskSpec& spec)
      : spec_(spec),
        grid_(patch_grid_from_params(spec, kTask)),
        patch_count_(grid_.count(spec.spatial_dims)),
        model_options_(with_top_units(PatchClassifierOptions(2, grid_.patch(spec.data_dim), patch_count_ - 1), spec,
                                      kTask)) {
    check_top_architecture(spec_, kTask);
  }

  std::string name() const override { return kTask; }

  std::shared_ptr<PretextModelImpl> build_model() const override {
    return std::make_shared<PatchClassifierImpl>(spec_, model_options_);
  }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool /*training*/) const override {
    check(!samples.empty(), "rpl: make_batch needs at least one sample");
    std::vector<torch::Tensor> pairs;
    std::vector<int64_t> labels;
    pairs.reserve(samples.size());
    labels.reserve(samples.size());
    for (const auto& sample : samples) {
      // The reference cuts with is_training=True for validation too: random crops inside the cells in both.
      const auto patches = grid_.cut(checked_image(sample, spec_, kTask), /*training=*/true, rng);
      const int64_t label = rng.uniform_int(0, patch_count_ - 2);
      pairs.push_back(torch::stack({patches[static_cast<size_t>(rpl_centre_index(patch_count_))],
                                    patches[static_cast<size_t>(rpl_query_index(label, patch_count_))]}));
      labels.push_back(label);
    }
    train::Batch batch;
    batch.tensors["input"] = torch::stack(pairs);
    batch.tensors["label"] = torch::tensor(labels, torch::kInt64);
    batch.size = static_cast<int64_t>(samples.size());
    return batch;
  }

  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override {
    return classification_step(model, batch, spec_.faithful);
  }

  std::string monitor() const override { return "val_acc"; }
  std::string monitor_mode() const override { return "max"; }

 private:
  TaskSpec spec_;
  PatchGrid grid_;
  int64_t patch_count_;
  PatchClassifierOptions model_options_;
};

}  // namespace

std::unique_ptr<PretextTask> make_rpl_task(const TaskSpec& spec) { return std::make_unique<RplTask>(spec); }

}  // namespace medssl::pretext
