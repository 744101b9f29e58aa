#include "medssl/pretext/jigsaw.h"

#include "medssl/core/error.h"
#include "medssl/pretext/classification_head.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {
const char* const kTask = "jigsaw";

/// params["permutations_file"] or "" when absent / null.
std::string permutations_file(const TaskSpec& spec) {
  if (!spec.params.is_object() || !spec.params.contains("permutations_file")) return "";
  const auto& value = spec.params.at("permutations_file");
  if (value.is_null()) return "";
  check(value.is_string() && !value.get<std::string>().empty(),
        "jigsaw: parameter \"permutations_file\" must be a file path, got {}", value.dump());
  return value.get<std::string>();
}
}  // namespace

PermutationTable jigsaw_permutations(const TaskSpec& spec) {
  const int64_t per_side = integer_param(spec, "patches_per_side", 3, kTask);
  check(per_side >= 2, "jigsaw: patches_per_side must be >= 2, got {}", per_side);
  int64_t patches = 1;
  for (int d = 0; d < spec.spatial_dims; ++d) patches *= per_side;

  const std::string file = permutations_file(spec);
  PermutationTable table;
  if (!file.empty()) {
    table = load_permutation_table(file, patches);
  } else {
    check(per_side == 3,
          "jigsaw: there is no shipped permutation table for patches_per_side {} ({} patches; the shipped tables are "
          "for 3 per side: 9 in 2D, 27 in 3D); make one with `medssl permutations --patches {} --count 100 --out FILE` "
          "and set permutations_file",
          per_side, patches, patches);
    table = shipped_permutation_table(spec.spatial_dims);
  }

  const int64_t wanted = integer_param(spec, "num_permutations", table.count(), kTask);
  check(wanted >= 2 && wanted <= table.count(),
        "jigsaw: num_permutations must be in 2..{} (the rows of {}), got {}", table.count(),
        file.empty() ? "the shipped table" : file, wanted);
  table.rows.resize(static_cast<size_t>(wanted));
  return table;
}

namespace {

class JigsawTask : public PatchClassificationTask {
 public:
  explicit JigsawTask(const TaskSpec& spec) : JigsawTask(spec, permutations_after_grid_check(spec)) {}

  std::string name() const override { return kTask; }

  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool training) const override {
    check(!samples.empty(), "jigsaw: make_batch needs at least one sample");
    std::vector<torch::Tensor> puzzles;
    std::vector<int64_t> labels;
    puzzles.reserve(samples.size());
    labels.reserve(samples.size());
    for (const auto& sample : samples) {
      const int64_t label = rng.uniform_int(0, table_.count() - 1);
      const auto patches = grid_.cut(checked_image(sample, spec_, kTask), training, rng);
      std::vector<torch::Tensor> slots;
      slots.reserve(patches.size());
      for (int original : table_.rows[static_cast<size_t>(label)]) slots.push_back(patches[static_cast<size_t>(original)]);
      puzzles.push_back(torch::stack(slots));
      labels.push_back(label);
    }
    return labelled_batch(puzzles, labels);
  }

 private:
  // The grid parameters are checked before the table is read (the order the errors were always reported in).
  static PermutationTable permutations_after_grid_check(const TaskSpec& spec) {
    patch_grid_from_params(spec, kTask);
    return jigsaw_permutations(spec);
  }

  // The table is read once and handed to both the model options (one class per row) and the task.
  JigsawTask(const TaskSpec& spec, PermutationTable table)
      : PatchClassificationTask(
            spec,
            PatchClassifierOptions(table.length, patch_grid_from_params(spec, kTask).patch(spec.data_dim), table.count()),
            kTask),
        grid_(patch_grid_from_params(spec, kTask)),
        table_(std::move(table)) {}

  PatchGrid grid_;
  PermutationTable table_;
};

}  // namespace

std::unique_ptr<PretextTask> make_jigsaw_task(const TaskSpec& spec) { return std::make_unique<JigsawTask>(spec); }

}  // namespace medssl::pretext
