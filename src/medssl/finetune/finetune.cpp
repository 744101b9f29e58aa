#include "medssl/finetune/finetune.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/rng.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/finetune/data_protocol.h"
#include "medssl/finetune/evaluation.h"
#include "medssl/finetune/finetune_batches.h"
#include "medssl/finetune/model_files.h"
#include "medssl/losses/classification.h"
#include "medssl/losses/dice.h"
#include "medssl/losses/dice_ce.h"
#include "medssl/losses/reference_seg_losses.h"
#include "medssl/train/threaded_batch_source.h"
#include "medssl/train/train_config.h"
#include "medssl/train/trainer.h"
#include "medssl/weights/init_weights.h"

namespace medssl::finetune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The run's data: data_dir itself if it is a cache, else data_dir prepared into cache_dir (default RUN_DIR/cache).
cache::Cache open_or_prepare(const config::Config& c, const std::string& out_dir) {
  return cache::open_or_prepare_cache(c.get<std::string>("data_dir"),
                                      c.has("cache_dir") ? c.get<std::string>("cache_dir") : out_dir + "/cache",
                                      c.raw().at("prepare"), c.get<int64_t>("data_dim"));
}

// The pretrain run's manifest (checkpoints/last.json), or null for --pretrained none.
json read_pretrain_manifest(const std::string& pretrained) {
  if (pretrained == "none") return json();
  check(fs::is_directory(pretrained), "--pretrained {}: no such directory (give a `medssl pretrain` run folder or none)",
        pretrained);
  const std::string path = pretrained + "/checkpoints/last.json";
  check(fs::exists(path), "--pretrained {}: not a medssl pretrain run (no checkpoints/last.json)", pretrained);
  json j = config::read_json_file(path);
  json manifest = j.contains("manifest") ? j.at("manifest") : j;
  check(manifest.contains("encoder") && manifest.contains("spatial_dims"),
        "--pretrained {}: {} describes no pretrained encoder (no \"encoder\" / \"spatial_dims\")", pretrained, path);
  return manifest;
}

std::string pretrained_encoder_file(const std::string& pretrained, const std::string& which) {
  const std::string best = pretrained + "/encoder_best.pt", last = pretrained + "/encoder.pt";
  if (which == "best" && fs::exists(best)) return best;
  if (which == "best") log::warn("--pretrained {}: no encoder_best.pt, using encoder.pt", pretrained);
  check(fs::exists(last), "--pretrained {}: no encoder.pt (did the pretraining finish?)", pretrained);
  return last;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

// SwinUNETR / UNETR options: the architecture of the pretrained encoder (from the pretrain manifest) plus the
// finetuning keys. img_size = the training patch (or the whole image), which is also the sliding-window roi.
json transformer_options(const config::Config& c, const json& manifest, const std::string& architecture) {
  const int64_t patch = c.get<int64_t>("patch_size");
  const int64_t side = patch > 0 ? patch : c.get<int64_t>("data_dim");
  json options = {{"img_size", json::array({side})}};
  json pretrained = json::object();
  if (!manifest.is_null()) {
    const std::string encoder = manifest.at("encoder").get<std::string>();
    if (architecture == "swinunetr")
      check(encoder == "swin_encoder", "prediction_architecture swinunetr needs a swin_encoder pretraining; the "
            "pretrained encoder is {}", encoder);
    else
      check(encoder.rfind("vit", 0) == 0, "prediction_architecture unetr needs a ViT pretraining (vit, vit_autoenc); "
            "the pretrained encoder is {}", encoder);
    if (manifest.contains("encoder_options") && manifest.at("encoder_options").is_object())
      pretrained = manifest.at("encoder_options");
  }
  const std::vector<std::string> inherited =
      architecture == "swinunetr"
          ? std::vector<std::string>{"feature_size", "depths", "num_heads", "window_size", "merge_order"}
          : std::vector<std::string>{"hidden_size", "mlp_dim", "num_heads", "qkv_bias"};
  for (const auto& key : inherited)
    if (pretrained.contains(key)) options[key] = pretrained.at(key);
  if (architecture == "unetr") {
    // UNETR fixes MONAI's ViT at 12 layers and 16-voxel patches; another pretraining cannot transfer.
    if (pretrained.contains("num_layers"))
      check(pretrained.at("num_layers") == 12, "unetr: the pretrained ViT has num_layers {} but UNETR's has 12",
            pretrained.at("num_layers").dump());
    if (pretrained.contains("patch_size"))
      check(pretrained.at("patch_size") == 16 || pretrained.at("patch_size") == json::array({16, 16, 16}) ||
                pretrained.at("patch_size") == json::array({16, 16}),
            "unetr: the pretrained ViT has patch_size {} but UNETR's is 16", pretrained.at("patch_size").dump());
  }
  if (c.has("feature_size")) options["feature_size"] = c.get<int64_t>("feature_size");
  if (architecture == "swinunetr" && c.has("drop_path_rate")) options["drop_path_rate"] = c.get<double>("drop_path_rate");
  if (architecture == "unetr" && c.has("dropout")) options["dropout"] = c.get<double>("dropout");
  if (architecture == "swinunetr" && !options.contains("feature_size")) options["feature_size"] = 48;
  return options;
}

FinetuneModelSpec model_spec(const config::Config& c, const json& manifest, const std::string& task, int dims,
                             int64_t channels, const cache::Cache& cache) {
  FinetuneModelSpec spec;
  spec.task = task;
  spec.spatial_dims = dims;
  spec.in_channels = channels;
  std::string encoder = "unet_encoder";
  json options = {{"enc_filters", 16}, {"num_layers", 4}, {"variant", "taleb"}, {"dropout", 0.5}, {"pooling", "max"}};
  if (!manifest.is_null()) {
    encoder = manifest.at("encoder").get<std::string>();
    if (manifest.contains("encoder_options") && manifest.at("encoder_options").is_object())
      for (const auto& [k, v] : manifest.at("encoder_options").items()) options[k] = v;
    check(manifest.at("spatial_dims").get<int>() == dims,
          "the pretrained encoder is {}D but finetuning runs in {}D (data_is_3D)", manifest.at("spatial_dims").get<int>(),
          dims);
    if (manifest.contains("in_channels"))
      check(manifest.at("in_channels").get<int64_t>() == channels,
            "the pretrained encoder takes {} channel(s) but the finetuning images have {}",
            manifest.at("in_channels").get<int64_t>(), channels);
  } else if (c.has("encoder_architecture")) {
    const std::string arch = lower(c.get<std::string>("encoder_architecture"));
    check(arch == "densenet121" || arch == "unet" || arch == "unet_encoder",
          "encoder_architecture \"{}\" is not available (DenseNet121 or the default UNet encoder)", arch);
    encoder = arch == "densenet121" ? "densenet121" : "unet_encoder";
  }
  // Explicit config keys win (a mismatch with the pretrained encoder then fails the strict load, naming the shapes).
  if (c.has("enc_filters")) options["enc_filters"] = c.get<int64_t>("enc_filters");
  if (c.has("num_layers")) options["num_layers"] = c.get<int64_t>("num_layers");
  if (c.has("encoder_variant")) options["variant"] = c.get<std::string>("encoder_variant");
  if (c.has("dropout")) options["dropout"] = c.get<double>("dropout");
  if (c.raw().contains("pooling")) options["pooling"] = c.raw().at("pooling").is_null() ? json("none") : c.raw().at("pooling");
  const std::string prediction = c.has("prediction_architecture") ? c.get<std::string>("prediction_architecture") : "";
  if (prediction == "swinunetr" || prediction == "unetr") {
    check(task == "segmentation", "prediction_architecture {} is a segmentation network; the task is {}", prediction,
          task);
    spec.architecture = prediction;
    spec.encoder_options = transformer_options(c, manifest, prediction);
    spec.num_outputs = c.has("num_classes") ? c.get<int64_t>("num_classes") : std::max(2, cache.num_classes());
    return spec;
  }
  if (task == "segmentation") {
    check(encoder == "unet_encoder", "segmentation needs a UNet encoder; the pretrained encoder is {}", encoder);
    spec.architecture = prediction.empty() ? (dims == 3 ? "unet_3d_upconv" : "unet_2d_upconv") : prediction;
    check(spec.architecture != "simple_multiclass",
          "prediction_architecture simple_multiclass is a classifier; segmentation uses unet_3d_upconv / unet_2d_upconv");
    spec.num_outputs = c.has("num_classes") ? c.get<int64_t>("num_classes") : std::max(2, cache.num_classes());
  } else {
    check(prediction.empty() || prediction == "simple_multiclass",
          "prediction_architecture {} is a segmentation head; classification uses simple_multiclass", prediction);
    spec.multilabel = c.get<bool>("multilabel");
    spec.num_outputs = c.has("num_classes") ? c.get<int64_t>("num_classes") : 5;
    if (encoder == "densenet121") {
      check(dims == 2, "DenseNet-121 is a 2D network; the data is {}D", dims);
      spec.architecture = "densenet121_classifier";
      // The reference's kaggle finetuning pools the DenseNet features by average (pooling has no parameters).
      options = {{"pooling", c.raw().contains("pooling") && !c.raw().at("pooling").is_null()
                                 ? c.raw().at("pooling") : json("avg")}};
    } else {
      spec.architecture = "unet_encoder_classifier";
    }
  }
  spec.encoder_options = options;
  return spec;
}

torch::Tensor finetune_loss(const std::string& name, const FinetuneModelSpec& spec, const torch::Tensor& logits,
                            const torch::Tensor& label) {
  if (spec.task == "segmentation") {
    if (name == "dice") return losses::dice_loss(logits, label);
    if (name == "dice_ce") return losses::dice_ce_loss(logits, label);
    if (name == "weighted_dice_loss" || name == "weighted_dice_coefficient_loss")
      return losses::reference::seg_loss(losses::reference::SegLoss::weighted_dice_loss, logits, label);
    if (name == "ce" || name == "categorical_crossentropy") return losses::softmax_cross_entropy(logits, label);
    fail("loss {} does not apply to segmentation (dice, dice_ce, weighted_dice_loss, ce)", name);
  }
  if (spec.multilabel) {
    check(name == "binary_crossentropy", "multilabel classification trains with loss binary_crossentropy, not {}", name);
    return losses::ordinal_bce_loss(logits, label);
  }
  check(name == "ce" || name == "categorical_crossentropy",
        "loss {} does not apply to classification (ce, or binary_crossentropy with multilabel true)", name);
  return losses::softmax_cross_entropy(logits, label);
}

// On --resume the stored config and request must match, except for keys that only observe the run.
void check_resume(const std::string& out, const json& config, const json& request) {
  static const std::set<std::string> may_change = {"workers", "prefetch", "device", "early_stopping_patience"};
  std::vector<std::string> changed;
  if (fs::exists(out + "/config.json")) {
    json stored = json::parse(read_file(out + "/config.json"));
    for (const auto& [k, v] : config.items())
      if (!may_change.count(k) && (!stored.contains(k) || stored.at(k) != v)) changed.push_back(k);
  }
  if (fs::exists(out + "/request.json")) {
    json stored = json::parse(read_file(out + "/request.json"));
    for (const auto& [k, v] : request.items())
      if (!stored.contains(k) || stored.at(k) != v) changed.push_back("--" + k);
  }
  if (!changed.empty()) {
    std::string list;
    for (const auto& k : changed) list += (list.empty() ? "" : ", ") + k;
    fail("--resume: the run in {} was started with other settings: {}", out, list);
  }
}

// The validation metric per epoch, read back from metrics.jsonl (complete after a resume too).
std::vector<double> learning_curve(const std::string& out, const std::string& column) {
  std::vector<double> values;
  std::ifstream in(out + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json row = json::parse(line);
    if (row.contains(column) && row.at(column).is_number()) values.push_back(row.at(column).get<double>());
  }
  return values;
}

}  // namespace

json run_finetuning(const FinetuneRequest& request) {
  const auto& c = request.config;
  const std::string& out = request.out_dir;
  check(!out.empty(), "finetune: --out DIR is required");
  check(request.fraction > 0.0 && request.fraction <= 100.0,
        "finetune: --fraction {} is out of range (a percentage in (0, 100], e.g. 10)", request.fraction);
  check(request.repetition >= 0, "finetune: --repetition {} must be >= 0", request.repetition);
  const json manifest = read_pretrain_manifest(request.pretrained);
  std::string mode = request.mode.empty() ? (manifest.is_null() ? "random" : "initialized") : request.mode;
  check(mode == "initialized" || mode == "frozen" || mode == "random",
        "finetune: --mode {} is not one of initialized, frozen, random", mode);
  check(mode == "random" || !manifest.is_null(),
        "finetune: --mode {} needs a pretrained encoder (--pretrained RUN_DIR); --pretrained none runs the random "
        "baseline", mode);
  const int64_t epochs = c.get<int64_t>("epochs_" + mode);
  check(epochs > 0, "finetune: epochs_{} is 0, so the {} mode would not train; set it above 0", mode, mode);
  const int64_t warmup = c.get<int64_t>("epochs_warmup");
  if (mode == "initialized")
    check(warmup < epochs, "finetune: epochs_warmup ({}) must be smaller than epochs_initialized ({})", warmup, epochs);

  const json request_json = {{"mode", mode}, {"fraction", request.fraction}, {"repetition", request.repetition},
                             {"pretrained", request.pretrained}};
  make_dirs(out);
  const std::string last = out + "/checkpoints/last.pt";
  if (request.resume) {
    check(fs::exists(last), "--resume: no checkpoint at {} (nothing to resume; drop --resume to start)", last);
    check_resume(out, c.raw(), request_json);
  } else {
    check(!fs::exists(last), "{} already holds a run ({}); pass --resume to continue it or choose another --out", out,
          last);
  }
  write_file_atomic(out + "/config.json", c.raw().dump(2) + "\n");
  write_file_atomic(out + "/request.json", request_json.dump(2) + "\n");

  // Data.
  cache::Cache cache = open_or_prepare(c, out);
  const int data_dims = cache.spatial_dims();
  int dims = data_dims;
  if (c.has("data_is_3D")) dims = c.get<bool>("data_is_3D") ? 3 : 2;
  else if (!manifest.is_null()) dims = manifest.at("spatial_dims").get<int>();
  check(!(dims == 3 && data_dims == 2), "data_is_3D is true but {} holds 2D pictures", c.get<std::string>("data_dir"));
  bool graded = false;
  for (const auto& cc : cache.cases) graded = graded || cc.grade >= 0;
  std::string task = c.get<std::string>("task");
  if (task == "auto") task = graded ? "classification" : "segmentation";
  data::ImageSetOptions set_options;
  set_options.spatial_dims = dims;
  set_options.slice_axis = static_cast<int>(c.get<int64_t>("slice_axis"));
  set_options.labels = task == "segmentation";
  data::ImageSet set = data::ImageSet::from_cache(cache, set_options);
  check(set.size() > 0, "finetune: {} holds no usable image", cache.dir);
  if (c.has("number_channels"))
    check(set.channels() == c.get<int64_t>("number_channels"),
          "finetune: number_channels is {} but the images in {} have {} channel(s)", c.get<int64_t>("number_channels"),
          cache.dir, set.channels());
  std::vector<int64_t> labelled, own_test;
  for (size_t i = 0; i < cache.cases.size(); ++i) {
    const auto& cc = cache.cases[i];
    const bool has_label = task == "segmentation" ? !cc.label_file.empty() : cc.grade >= 0;
    if (!has_label) continue;
    (cc.split == "test" ? own_test : labelled).push_back(static_cast<int64_t>(i));
  }
  check(!labelled.empty(), "finetune: {} has no labelled {} case (task {})", cache.dir,
        task == "segmentation" ? "segmentation" : "graded", task);
  ProtocolOptions protocol;
  protocol.test_split = c.get<double>("test_split");
  protocol.val_split = c.get<double>("val_split");
  protocol.split_seed = c.get<uint64_t>("split_seed");
  protocol.cross_val = c.get<bool>("do_cross_val");
  protocol.folds = static_cast<int>(c.get<int64_t>("folds"));
  const ProtocolSplit split = protocol_split(labelled, own_test, request.fraction, request.repetition, protocol);
  const auto train_items = items_of_cases(set, split.train);
  check(!train_items.empty(), "finetune: the training cases have no images in {}", cache.dir);
  log::info("finetune {} {}: {} % of {} pool cases -> {} train ({} images) / {} val / {} test cases, repetition {}",
            task, mode, request.fraction, split.pool.size(), split.train.size(), train_items.size(), split.val.size(),
            split.test.size(), request.repetition);

  // Model.
  const FinetuneModelSpec spec = model_spec(c, manifest, task, dims, set.channels(), cache);
  // LibTorch seeds its default generator nondeterministically: seed it before the weights are initialised, so a run
  // is a function of (config seed, repetition) and a study restarted from scratch reproduces its numbers.
  const uint64_t run_seed = Rng::derive(c.get<uint64_t>("seed"), "finetune-repetition",
                                        static_cast<uint64_t>(request.repetition)).next_u64();
  torch::manual_seed(Rng::derive(run_seed, "finetune-init").next_u64());
  FinetuneModel model = build_finetune_model(spec);
  std::string encoder_file;
  if (mode != "random") {
    encoder_file = pretrained_encoder_file(request.pretrained, c.get<std::string>("pretrained_checkpoint"));
    if (!request.resume) load_pretrained_encoder(model, encoder_file);
  }

  // Training.
  const int64_t patch = c.get<int64_t>("patch_size");
  FinetuneBatches batches{&set, train_items, task == "segmentation", c.get<int64_t>("batch_size"), patch,
                          c.get<bool>("augment"), c.get<int64_t>("steps_per_epoch")};
  const auto loader = train::loader_settings_from(c);
  train::ThreadedBatchSource source(
      batches.batches(), [&](int64_t e, int64_t i, uint64_t s) { return batches.make(e, i, s); }, loader.workers,
      loader.prefetch);
  EvaluationOptions eval_options;
  eval_options.patch_size = patch;
  eval_options.overlap = c.get<double>("sw_overlap");
  eval_options.batch_size = c.get<int64_t>("batch_size");

  auto options = train::trainer_options_from(c, out, 1e-3);
  options.epochs = epochs;
  options.seed = run_seed;  // repetitions differ in their training subset AND their seeds (batch order, dropout)
  const std::string metric = primary_metric(task);
  const std::string val_column = task == "segmentation" ? "val_dice" : "val_qw_kappa";
  options.monitor = val_column;
  options.monitor_mode = "max";
  options.label = fmt::format("finetune {} {}% rep {}", mode, request.fraction, request.repetition);
  if (mode == "frozen") options.frozen_prefixes = {model.encoder_prefix()};
  if (mode == "initialized" && warmup > 0) {
    options.frozen_prefixes = {model.encoder_prefix()};
    options.unfreeze_at_epoch = warmup;
  }
  json preprocessing = cache.index.contains("preprocessing") ? cache.index.at("preprocessing") : json();
  options.manifest = {{"kind", "finetune"}, {"model", spec.to_json()}, {"mode", mode}, {"preprocessing", preprocessing}};
  options.config_json = c.raw().dump();

  const std::string loss_name = c.get<std::string>("loss");
  train::StepFn step = [&](const train::Batch& batch, train::StepContext&) {
    train::StepOutput o;
    o.loss = finetune_loss(loss_name, spec, model.forward(batch.at("image")), batch.at("label"));
    return o;
  };
  train::EvalFn evaluate = [&](train::StepContext&) {
    json r = evaluate_cases(model, set, split.val, eval_options);
    const json& v = r.at("summary").at(metric);
    return std::map<std::string, double>{
        {task == "segmentation" ? "dice" : "qw_kappa", v.is_number() ? v.get<double>() : std::nan("")}};
  };
  train::Trainer trainer(model.module, source, step, evaluate, options);
  if (request.on_epoch_start)
    trainer.on_epoch_start = [&](int64_t epoch, train::Trainer&) { request.on_epoch_start(epoch, model); };
  train::FitResult result = request.resume ? trainer.resume(last) : trainer.fit();

  // Test: the final model (reported first, as the reference does), then the best-validation checkpoint.
  eval_options.hd95 = task == "segmentation" && c.get<bool>("hd95");
  json final_test = evaluate_cases(model, set, split.test, eval_options);
  auto case_ids = [&](const std::vector<int64_t>& cases) {
    json ids = json::array();
    for (int64_t i : cases) ids.push_back(cache.cases[static_cast<size_t>(i)].id);
    return ids;
  };
  ModelDescription description;
  description.spec = spec;
  description.preprocessing = preprocessing;
  description.data_dim = set.spatial_shape().empty() ? 0 : set.spatial_shape().back();
  description.slice_axis = dims == 2 && data_dims == 3 ? static_cast<int>(c.get<int64_t>("slice_axis")) : 0;
  description.patch_size = patch;
  description.sw_overlap = eval_options.overlap;
  description.test_cases = case_ids(split.test);
  description.extra = {{"mode", mode}, {"fraction", request.fraction}, {"repetition", request.repetition},
                       {"pretrained", request.pretrained}, {"pretrained_encoder", encoder_file},
                       {"data_dir", c.get<std::string>("data_dir")}, {"cache", cache.dir}};
  save_model(model, description, out);

  json best_test;
  const std::string best = trainer.best_checkpoint_path();
  if (fs::exists(best)) {
    FinetuneModel best_model = build_finetune_model(spec);
    weights::init_weights(*best_model.module, best);
    best_test = evaluate_cases(best_model, set, split.test, eval_options);
  }

  const auto curve = learning_curve(out, val_column);
  double curve_mean = std::nan("");
  if (!curve.empty()) {
    curve_mean = 0;
    for (double v : curve) curve_mean += v;
    curve_mean /= static_cast<double>(curve.size());
  }
  json summary = {
      {"task", task},
      {"mode", mode},
      {"fraction", request.fraction},
      {"repetition", request.repetition},
      {"pretrained", request.pretrained},
      {"pretrained_encoder", encoder_file},
      {"n_train", split.train.size()},
      {"n_train_images", train_items.size()},
      {"n_val", split.val.size()},
      {"n_test", split.test.size()},
      {"n_pool", split.pool.size()},
      {"train_cases", case_ids(split.train)},
      {"val_cases", case_ids(split.val)},
      {"test_cases", case_ids(split.test)},
      {"epochs", epochs},
      {"epochs_warmup", mode == "initialized" ? warmup : 0},
      {"epochs_completed", result.epochs_completed},
      {"validation_metric", val_column},
      {"test_final", final_test},
      {"test_score_final", final_test.at("summary").at(metric)},
      {"best_val_epoch", result.best_epoch},
      {"best_val_metric", json_number(result.best_metric)},
      {"test_best_val_checkpoint", best_test},
      {"test_score_best_val_checkpoint", best_test.is_null() ? json() : best_test.at("summary").at(metric)},
      {"learning_curve_mean",
       {{"metric", val_column},
        {"value", json_number(curve_mean)},
        {"epochs", curve.size()},
        {"note", "mean of the per-epoch validation metric (area under the learning curve); NOT a test score"}}},
      {"model", out + "/model.pt"}};
  write_file_atomic(out + "/finetune.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace medssl::finetune
