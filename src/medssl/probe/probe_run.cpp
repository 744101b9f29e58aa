#include "medssl/probe/probe_run.h"

#include <chrono>
#include <filesystem>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/rng.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/data/loader/split.h"
#include "medssl/pretext/pretrain.h"
#include "medssl/probe/crop_features.h"
#include "medssl/probe/linear_probe.h"
#include "medssl/weights/init_weights.h"

namespace medssl::probe {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The pretrain run's encoder file (the same choice as finetune's pretrained_checkpoint).
std::string encoder_file_of(const std::string& run, const std::string& which) {
  check(fs::is_directory(run), "--pretrained {}: no such directory (give a `medssl pretrain` run folder or none)", run);
  const std::string best = run + "/encoder_best.pt", last = run + "/encoder.pt";
  if (which == "best" && fs::exists(best)) return best;
  check(fs::exists(last), "--pretrained {}: not a finished medssl pretrain run (no encoder.pt)", run);
  if (which == "best") log::warn("--pretrained {}: no encoder_best.pt, using encoder.pt", run);
  return last;
}


json class_names(const cache::Cache& cache, int64_t num_classes) {
  json names = json::array();
  const json labels = cache.index.at("dataset").value("labels", json::object());
  for (int64_t k = 0; k < num_classes; ++k) {
    const std::string key = std::to_string(k);
    names.push_back(labels.contains(key) && labels.at(key).is_string() ? labels.at(key).get<std::string>() : key);
  }
  return names;
}

}  // namespace

json run_probe(const ProbeRequest& r) {
  const auto started = std::chrono::steady_clock::now();
  check(!r.out_dir.empty(), "probe: --out DIR is required");
  check(!r.dataset.empty(), "probe: --dataset DATA (a labelled data set) is required");
  check(r.checkpoint == "last" || r.checkpoint == "best", "probe: --checkpoint must be last or best, got {}",
        r.checkpoint);
  check(r.test_fraction > 0 && r.test_fraction < 1, "probe: --test-fraction must lie in (0, 1), got {}",
        r.test_fraction);
  const bool pretrained = r.pretrained != "none";
  const std::string encoder_file = pretrained ? encoder_file_of(r.pretrained, r.checkpoint) : "";
  std::string config_path = r.config_path;
  if (config_path.empty()) {
    check(pretrained, "probe: --pretrained none needs --config (the pretrain config whose encoder to build)");
    config_path = r.pretrained + "/config.json";
  }
  check(fs::exists(config_path), "probe: config {} does not exist", config_path);
  const config::Config c = config::load(config_path, pretext::pretrain_schema(), r.sets);
  check(fs::exists(r.dataset), "probe: --dataset {} does not exist", r.dataset);
  make_dirs(r.out_dir);

  // The labelled data, preprocessed like the pretraining data (same prepare keys, same size).
  const int64_t data_dim = c.get<int64_t>("data_dim");
  const cache::Cache cache = cache::open_or_prepare_cache(
      r.dataset, r.cache_dir.empty() ? r.out_dir + "/cache" : r.cache_dir, c.raw().at("prepare"), data_dim);
  const int data_dims = cache.spatial_dims();
  const int dims = c.has("data_is_3D") ? (c.get<bool>("data_is_3D") ? 3 : 2) : data_dims;
  check(!(dims == 3 && data_dims == 2), "probe: the run is 3D (data_is_3D) but {} holds 2D pictures", r.dataset);
  const int64_t num_classes = cache.num_classes();
  check(num_classes >= 2, "probe: {} declares {} label class(es); the probe needs a segmentation data set with labels",
        r.dataset, num_classes);
  data::ImageSetOptions set_options;
  set_options.spatial_dims = dims;
  set_options.slice_axis = static_cast<int>(c.get<int64_t>("slice_axis"));
  set_options.splits = {"training"};
  set_options.labels = true;
  const data::ImageSet items = data::ImageSet::from_cache(cache, set_options);
  check(items.size() >= 2, "probe: {} holds {} labelled item(s); at least 2 cases are needed", r.dataset, items.size());

  // Split by case: no volume gives crops to both sides.
  std::vector<int64_t> case_of(static_cast<size_t>(items.size()));
  for (int64_t i = 0; i < items.size(); ++i) case_of[static_cast<size_t>(i)] = items.case_of(i);
  data::CaseSplitOptions split_options;
  split_options.train_fraction = 1.0 - r.test_fraction;
  split_options.shuffle_seed = Rng::derive(r.seed, "probe-split").next_u64() | 1;  // never 0 (= no shuffle)
  const data::TrainValSplit split = data::split_by_case(case_of, split_options);
  check(!split.train.empty() && !split.val.empty(),
        "probe: splitting the cases of {} with --test-fraction {} leaves no test case; add cases or raise it",
        r.dataset, r.test_fraction);

  // The run's encoder.
  const pretext::TaskSpec spec = pretext::task_spec_from_config(c, dims, items.channels());
  // The random baseline is fixed by the run's seed, derived as pretrain.cpp derives its initialisation seed.
  torch::manual_seed(Rng::derive(c.get<uint64_t>("seed"), "pretrain-init").next_u64());
  auto encoder = pretext::build_encoder(spec);
  if (pretrained) {
    try {
      weights::init_weights(*encoder, encoder_file, weights::InitWeightsOptions().source_prefix("encoder."));
    } catch (const Error& e) {
      fail("probe: the encoder {} does not fit the encoder that config {} describes ({} {}): {}", encoder_file,
           config_path, spec.encoder.empty() ? "unet_encoder" : spec.encoder, spec.encoder_options.dump(), e.what());
    }
  }
  for (auto& p : encoder->parameters()) p.set_requires_grad(false);

  // Crops and features.
  CropSamplingOptions crop;
  crop.side = r.crop_side > 0 ? r.crop_side : data_dim;
  crop.balanced = r.balanced;
  check(r.crops >= 4, "probe: --crops must be at least 4, got {}", r.crops);
  const int64_t test_count = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(r.crops) * r.test_fraction));
  CropSamplingOptions train_crop = crop, test_crop = crop;
  train_crop.count = r.crops - test_count;
  train_crop.seed = Rng::derive(r.seed, "probe-train-crops").next_u64();
  test_crop.count = test_count;
  test_crop.seed = Rng::derive(r.seed, "probe-test-crops").next_u64();
  const auto train_centres = sample_crop_centres(items, split.train, num_classes, train_crop);
  const auto test_centres = sample_crop_centres(items, split.val, num_classes, test_crop);
  log::info("probe: {} {} crops of side {} ({} train from {} items / {} test from {} items) on {}D {}",
            r.crops, crop.balanced ? "class-balanced" : "uniform", crop.side, train_centres.size(), split.train.size(),
            test_centres.size(), split.val.size(), dims, pretrained ? encoder_file : "random init");
  const CropFeatures train = extract_crop_features(items, train_centres, *encoder, train_crop);
  const CropFeatures test = extract_crop_features(items, test_centres, *encoder, test_crop);

  // The probe.
  LogisticRegressionOptions fit_options;
  fit_options.l2 = r.l2;
  fit_options.iterations = r.iterations;
  const LinearProbe fitted = fit_logistic_regression(train.features, train.labels, num_classes, fit_options);
  const int64_t majority = majority_class(train.labels, num_classes);
  const ProbeMetrics on_train = probe_metrics(fitted.predict(train.features), train.labels, num_classes, majority);
  const ProbeMetrics on_test = probe_metrics(fitted.predict(test.features), test.labels, num_classes, majority);

  auto case_ids = [&](const std::vector<int64_t>& list) {
    std::vector<std::string> ids;
    for (int64_t i : list) {
      const std::string& id = cache.cases[static_cast<size_t>(items.case_of(i))].id;
      if (ids.empty() || ids.back() != id) ids.push_back(id);
    }
    return ids;
  };
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json result = {{"pretrained", r.pretrained},
                 {"encoder_file", encoder_file},
                 {"config", config_path},
                 {"algorithm", c.get<std::string>("algorithm")},
                 {"encoder", spec.encoder.empty() ? "unet_encoder" : spec.encoder},
                 {"encoder_options", spec.encoder_options},
                 {"dataset", r.dataset},
                 {"cache", cache.dir},
                 {"spatial_dims", dims},
                 {"crop_side", crop.side},
                 {"sampling", crop.balanced ? "balanced" : "uniform"},
                 {"classes", class_names(cache, num_classes)},
                 {"feature_width", train.features.size(1)},
                 {"train_crops", train_centres.size()},
                 {"test_crops", test_centres.size()},
                 {"train_cases", case_ids(split.train)},
                 {"test_cases", case_ids(split.val)},
                 {"l2", r.l2},
                 {"iterations", r.iterations},
                 {"seed", r.seed},
                 {"final_loss", fitted.final_loss},
                 {"train", on_train.to_json()},
                 {"test", on_test.to_json()},
                 {"test_accuracy", on_test.accuracy},
                 {"test_balanced_accuracy", on_test.balanced_accuracy},
                 {"majority_rate", on_test.majority_rate},
                 {"seconds", seconds}};
  write_file_atomic(r.out_dir + "/probe.json", result.dump(2) + "\n");
  return result;
}

}  // namespace medssl::probe
