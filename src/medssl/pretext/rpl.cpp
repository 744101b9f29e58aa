#include "medssl/pretext/rpl.h"

#include "medssl/core/error.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {

const char* const kTask = "rpl";

class RplTask : public PatchClassificationTask {
 public:
  explicit RplTask(const TaskSpec& spec)
      : PatchClassificationTask(spec, model_options_for(spec), kTask),
        grid_(patch_grid_from_params(spec, kTask)),
        patch_count_(grid_.count(spec.spatial_dims)) {}

  std::string name() const override { return kTask; }

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
    return labelled_batch(pairs, labels);
  }

 private:
  // Centre + query patch through the shared encoder, one class per neighbour cell.
  static PatchClassifierOptions model_options_for(const TaskSpec& spec) {
    const PatchGrid grid = patch_grid_from_params(spec, kTask);
    return PatchClassifierOptions(2, grid.patch(spec.data_dim), grid.count(spec.spatial_dims) - 1);
  }

  PatchGrid grid_;
  int64_t patch_count_;
};

}  // namespace

std::unique_ptr<PretextTask> make_rpl_task(const TaskSpec& spec) { return std::make_unique<RplTask>(spec); }

}  // namespace medssl::pretext
