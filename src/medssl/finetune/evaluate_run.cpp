#include "medssl/finetune/evaluate_run.h"

#include <filesystem>
#include <set>

#include "medssl/config/config.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/rng.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/finetune/evaluation.h"
#include "medssl/finetune/model_files.h"

namespace medssl::finetune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Removes a temporary folder when the evaluation ends (also on errors).
struct TemporaryDir {
  std::string path;
  ~TemporaryDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

json run_evaluation(const EvaluateRequest& request) {
  check(!request.model_dir.empty(), "evaluate: --model DIR is required");
  check(!request.dataset.empty(), "evaluate: --dataset DATA_OR_CACHE is required");
  static const std::set<std::string> splits = {"finetune_test", "test", "training", "all"};
  check(splits.count(request.split), "evaluate: --split {} is not one of finetune_test, test, training, all",
        request.split);
  LoadedModel loaded = load_model(request.model_dir);
  const auto& d = loaded.description;
  check(fs::exists(request.dataset), "evaluate: --dataset {} does not exist", request.dataset);

  TemporaryDir temporary;
  cache::Cache cache;
  if (cache::is_cache_dir(request.dataset)) {
    cache = cache::open_cache(request.dataset);
    const json settings = cache.index.contains("preprocessing") ? cache.index.at("preprocessing") : json();
    check(d.preprocessing.is_null() || settings == d.preprocessing,
          "evaluate: the cache {} was prepared with other settings ({}) than the model's ({}); pass the raw data set so "
          "it is prepared like the training data", request.dataset, settings.dump(), d.preprocessing.dump());
  } else {
    std::string dir = request.cache_dir;
    if (dir.empty()) {
      Rng rng = Rng::derive(static_cast<uint64_t>(std::hash<std::string>{}(request.model_dir)), "evaluate-temp",
                            static_cast<uint64_t>(::getpid()));
      dir = (fs::temp_directory_path() / fmt::format("medssl-evaluate-{:016x}", rng.next_u64())).string();
      temporary.path = dir;
    }
    check(!d.preprocessing.is_null(), "evaluate: {} records no preprocessing; pass a prepared cache", request.model_dir);
    log::info("preparing {} into {} with the model's preprocessing", request.dataset, dir);
    auto settings = config::validate(d.preprocessing, cache::prepare_schema(), request.model_dir + "/model.json");
    cache::prepare_cache(request.dataset, dir, settings);
    cache = cache::open_cache(dir);
  }

  const bool segmentation = d.spec.task == "segmentation";
  data::ImageSetOptions set_options;
  set_options.spatial_dims = d.spec.spatial_dims;
  if (d.slice_axis > 0) set_options.slice_axis = d.slice_axis;
  set_options.labels = segmentation;
  data::ImageSet set = data::ImageSet::from_cache(cache, set_options);

  std::set<std::string> wanted;
  if (request.split == "finetune_test")
    for (const auto& id : d.test_cases) wanted.insert(id.get<std::string>());
  std::vector<int64_t> cases;
  for (size_t i = 0; i < cache.cases.size(); ++i) {
    const auto& cc = cache.cases[i];
    const bool labelled = segmentation ? !cc.label_file.empty() : cc.grade >= 0;
    if (!labelled) continue;
    const bool take = request.split == "all" || (request.split == "finetune_test" && wanted.count(cc.id)) ||
                      cc.split == request.split;
    if (take) cases.push_back(static_cast<int64_t>(i));
  }
  check(!cases.empty(), "evaluate: {} has no labelled case in split {}{}", request.dataset, request.split,
        request.split == "test" ? " (use --split finetune_test for the cases the finetune run held out)" : "");
  EvaluationOptions options;
  options.patch_size = d.patch_size;
  options.overlap = d.sw_overlap;
  options.hd95 = segmentation && request.hd95;
  json result = evaluate_cases(loaded.model, set, cases, options);
  result["model"] = request.model_dir;
  result["dataset"] = request.dataset;
  result["split"] = request.split;
  return result;
}

}  // namespace medssl::finetune
