#include <algorithm>
#include <map>

#include "medssl/core/error.h"
#include "medssl/pretext/task.h"
#include "medssl/pretext/task_factories.h"

namespace medssl::pretext {

namespace {
using TaskFactory = std::unique_ptr<PretextTask> (*)(const TaskSpec&);

// One line per task; the names are the reference's `algorithm` values.
const std::map<std::string, TaskFactory>& factories() {
  static const std::map<std::string, TaskFactory> table = {
      // PRETEXT-TASK-TABLE (keep one entry per line, sorted)
      {"cpc", &make_cpc_task},
      {"dino", &make_dino_task},
      {"exemplar", &make_exemplar_task},
      {"jigsaw", &make_jigsaw_task},
      {"rotation", &make_rotation_task},
      {"rpl", &make_rpl_task},
      {"simclr", &make_simclr_task},
      {"simsiam", &make_simsiam_task},
      {"vit_masked", &make_vit_masked_task},
  };
  return table;
}
}  // namespace

std::unique_ptr<PretextTask> make_task(const std::string& name, const TaskSpec& spec) {
  const auto& table = factories();
  auto it = table.find(name);
  if (it == table.end()) {
    std::string known;
    for (const auto& [n, f] : table) known += (known.empty() ? "" : ", ") + n;
    fail("unknown pretext task (algorithm) \"{}\"; known: {}", name, known);
  }
  check(spec.spatial_dims == 2 || spec.spatial_dims == 3, "pretext task {}: data_dim must be 2D or 3D, got {}D", name,
        spec.spatial_dims);
  check(spec.in_channels >= 1, "pretext task {}: number_channels must be >= 1", name);
  return it->second(spec);
}

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& [n, f] : factories()) names.push_back(n);
  return names;
}

}  // namespace medssl::pretext
