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
#include "medssl/train/data_shard.h"
#include "medssl/train/distributed.h"
#include "medssl/train/threaded_batch_source.h"
#include "medssl/train/train_config.h"
#include "medssl/train/trainer.h"
#include "medssl/finetune/finetune_manifest.h"
#include "medssl/finetune/weights_source.h"
#include "medssl/weights/contract.h"
#include "medssl/weights/init_weights.h"
#include "medssl/weights/manifest.h"
#include "medssl/weights/transfer.h"

namespace medssl::finetune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The run's data: data_dir itself if it is a cache, else data_dir prepared into cache_dir (default RUN_DIR/cache).
// In a multi-process run rank 0 prepares while the others wait, then they only open its cache.
cache::Cache open_or_prepare(const config::Config& c, const json& prepare, const std::string& out_dir,
                             train::ProcessGroup* group) {
  const std::string data_dir = c.get<std::string>("data_dir");
  const std::string cache_dir = c.has("cache_dir") ? c.get<std::string>("cache_dir") : out_dir + "/cache";
  if (group && !group->is_main()) {
    group->barrier("rank 0 preparing the data cache");
    return cache::open_cache(cache::is_cache_dir(data_dir) ? data_dir : cache_dir);
  }
  cache::Cache cache = cache::open_or_prepare_cache(data_dir, cache_dir, prepare, c.get<int64_t>("data_dim"));
  if (group) group->barrier("rank 0 preparing the data cache");
  return cache;
}

// The preprocessing part of an input contract (weights/manifest.h): what can be compared before any data is read.
json preprocessing_contract(const json& prepare_settings) {
  const json full = weights::input_contract(0, 0, 0, prepare_settings);
  return {{"target_spacing", full.at("target_spacing")}, {"intensity", full.at("intensity")}};
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

// "auto" resolved: classification when the data has grades, else segmentation.
std::string resolve_task(const config::Config& c, const cache::Cache& cache) {
  bool graded = false;
  for (const auto& cc : cache.cases) graded = graded || cc.grade >= 0;
  const std::string task = c.get<std::string>("task");
  return task == "auto" ? (graded ? "classification" : "segmentation") : task;
}

// The cases with labels for `task` (label maps, or grades), split into the data set's own labelled test split and
// the rest (cache order).
struct LabelledCases {
  std::vector<int64_t> labelled, own_test;
};
LabelledCases labelled_cases(const cache::Cache& cache, const std::string& task) {
  LabelledCases out;
  for (size_t i = 0; i < cache.cases.size(); ++i) {
    const auto& cc = cache.cases[i];
    const bool has_label = task == "segmentation" ? !cc.label_file.empty() : cc.grade >= 0;
    if (!has_label) continue;
    (cc.split == "test" ? out.own_test : out.labelled).push_back(static_cast<int64_t>(i));
  }
  check(!out.labelled.empty(), "finetune: {} has no labelled {} case (task {})", cache.dir,
        task == "segmentation" ? "segmentation" : "graded", task);
  return out;
}

ProtocolOptions protocol_options(const config::Config& c) {
  ProtocolOptions protocol;
  protocol.test_split = c.get<double>("test_split");
  protocol.val_split = c.get<double>("val_split");
  protocol.split_seed = c.get<uint64_t>("split_seed");
  protocol.cross_val = c.get<bool>("do_cross_val");
  protocol.folds = static_cast<int>(c.get<int64_t>("folds"));
  return protocol;
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
    // A 2D UNet encoder inflates into a 3D one (weights/transfer_adapt.h); other architectures keep their dims. A
    // different channel count is adapted by the transfer (and reported by the contract check).
    const int weights_dims = manifest.at("spatial_dims").get<int>();
    check(weights_dims == dims || (weights_dims == 2 && dims == 3 && encoder == "unet_encoder"),
          "the pretrained encoder is {}D but finetuning runs in {}D (data_is_3D); only a 2D UNet encoder inflates to "
          "3D", weights_dims, dims);
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
  // Validation fills an absent key with its default, so "auto" (the default) is what tells "not set" from null.
  const json pooling = c.raw().value("pooling", json("auto"));
  const bool pooling_set = pooling != json("auto");
  if (pooling_set) options["pooling"] = pooling.is_null() ? json("none") : pooling;
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
      // A null (the reference's "no pooling") cannot apply to a classifier head: it keeps the average too.
      options = {{"pooling", pooling_set && !pooling.is_null() ? pooling : json("avg")}};
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

std::vector<std::string> held_out_test_cases(const config::Config& c) {
  if (c.get<bool>("do_cross_val")) return {};
  const std::string data_dir = c.get<std::string>("data_dir");
  check(cache::is_cache_dir(data_dir) || c.has("cache_dir"),
        "finetune: the test cases of {} are known once it is prepared (set cache_dir)", data_dir);
  // The cache run_finetuning reads: data_dir itself if it already is one (open_or_prepare).
  const cache::Cache cache = cache::open_cache(cache::is_cache_dir(data_dir) ? data_dir : c.get<std::string>("cache_dir"));
  const LabelledCases cases = labelled_cases(cache, resolve_task(c, cache));
  std::vector<std::string> ids;
  for (int64_t i : protocol_split(cases.labelled, cases.own_test, 100.0, 0, protocol_options(c)).test)
    ids.push_back(cache.cases[static_cast<size_t>(i)].id);
  return ids;
}

json run_finetuning(const FinetuneRequest& request) {
  const auto& c = request.config;
  const std::string& out = request.out_dir;
  check(!out.empty(), "finetune: --out DIR is required");
  check(request.fraction > 0.0 && request.fraction <= 100.0,
        "finetune: --fraction {} is out of range (a percentage in (0, 100], e.g. 10)", request.fraction);
  check(request.repetition >= 0, "finetune: --repetition {} must be >= 0", request.repetition);
  const WeightsSource weights_source =
      find_weights_source(request.pretrained, request.init_weights, c.get<std::string>("pretrained_checkpoint"));
  // The weights' manifest decides the model when it describes its encoder (else the config does).
  const json manifest = weights_source.describes_encoder() ? weights_source.manifest : json();
  std::string mode = request.mode.empty() ? (weights_source.empty() ? "random" : "initialized") : request.mode;
  check(mode == "initialized" || mode == "frozen" || mode == "random",
        "finetune: --mode {} is not one of initialized, frozen, random", mode);
  check(mode == "random" || !weights_source.empty(),
        "finetune: --mode {} needs a pretrained encoder (--pretrained RUN_DIR or --init-weights FILE); --pretrained "
        "none runs the random baseline", mode);
  const int64_t epochs = c.get<int64_t>("epochs_" + mode);
  check(epochs > 0, "finetune: epochs_{} is 0, so the {} mode would not train; set it above 0", mode, mode);
  const int64_t warmup = c.get<int64_t>("epochs_warmup");
  if (mode == "initialized")
    check(warmup < epochs, "finetune: epochs_warmup ({}) must be smaller than epochs_initialized ({})", warmup, epochs);

  json request_json = {{"mode", mode}, {"fraction", request.fraction}, {"repetition", request.repetition},
                       {"pretrained", request.pretrained}};
  if (!request.init_weights.empty()) request_json["init_weights"] = request.init_weights;
  make_dirs(out);
  const std::string last = out + "/checkpoints/last.pt";
  if (request.resume) {
    check(fs::exists(last), "--resume: no checkpoint at {} (nothing to resume; drop --resume to start)", last);
    check_resume(out, c.raw(), request_json);
  } else {
    check(!fs::exists(last), "{} already holds a run ({}); pass --resume to continue it or choose another --out", out,
          last);
  }
  train::ProcessGroup* group = request.distributed.get();
  const bool main_rank = !group || group->is_main();  // only rank 0 of a multi-process run writes files
  if (main_rank) {
    write_file_atomic(out + "/config.json", c.raw().dump(2) + "\n");
    write_file_atomic(out + "/request.json", request_json.dump(2) + "\n");
  }

  // Data, preprocessed as the weights were unless the config says otherwise (then the contract check reports it;
  // with --strict-contract before anything is prepared).
  const std::string contract_where = weights_source.label + " " + weights_source.file;
  const json prepare = prepare_settings_for(c.raw().at("prepare"), weights_source.manifest);
  if (request.strict_contract && weights_source.manifest.is_object() &&
      !cache::is_cache_dir(c.get<std::string>("data_dir"))) {
    json settings = prepare;
    if (!settings.contains("size")) settings["size"] = c.get<int64_t>("data_dim");
    const json validated =
        config::validate(settings, cache::prepare_schema(), "the \"prepare\" object of the config").raw();
    weights::enforce_contract(weights::compare_contract(weights_source.manifest, preprocessing_contract(validated)),
                              true, contract_where);
  }
  cache::Cache cache = open_or_prepare(c, prepare, out, group);
  const int data_dims = cache.spatial_dims();
  int dims = data_dims;
  if (c.has("data_is_3D")) dims = c.get<bool>("data_is_3D") ? 3 : 2;
  else if (!manifest.is_null()) dims = manifest.at("spatial_dims").get<int>();
  check(!(dims == 3 && data_dims == 2), "data_is_3D is true but {} holds 2D pictures", c.get<std::string>("data_dir"));
  const std::string task = resolve_task(c, cache);
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
  const LabelledCases cases = labelled_cases(cache, task);
  const ProtocolOptions protocol = protocol_options(c);
  const ProtocolSplit split =
      protocol_split(cases.labelled, cases.own_test, request.fraction, request.repetition, protocol);
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
  const int64_t patch = c.get<int64_t>("patch_size");
  json preprocessing = cache.index.contains("preprocessing") ? cache.index.at("preprocessing") : json();
  const json run_contract =
      weights::input_contract(dims, set.channels(), patch > 0 ? patch : set.side(), preprocessing);
  std::vector<weights::ContractDifference> differences;
  if (!weights_source.empty() && !weights_source.manifest.is_object() && main_rank)
    log::warn("{} has no manifest: medssl cannot check that this run preprocesses its images as the weights were "
              "trained (spacing, intensity window and normalisation, channels, patch size, axis order); see "
              "docs/weights.md to write one", contract_where);
  if (weights_source.manifest.is_object()) {
    differences = weights::compare_contract(weights_source.manifest, run_contract);
    if (main_rank || request.strict_contract)
      weights::enforce_contract(differences, request.strict_contract, contract_where);
  }
  FinetuneModel model = build_finetune_model(spec);
  const std::string encoder_file = mode == "random" ? "" : weights_source.file;
  json transfer_counts;
  if (mode != "random" && !request.resume) {
    weights::TransferOptions t;
    t.maps = request.maps;
    t.min_match = request.min_match;
    t.entry = request.entry;
    t.label = weights_source.label;
    const weights::TransferReport report = load_pretrained_encoder(model, encoder_file, t);
    transfer_counts = report.to_json().at("counts");
    if (main_rank) {
      log::info("{}", report.summary());
      weights::write_transfer_json(report, out + "/transfer.json",
                                   {{"contract_differences", weights::differences_json(differences)},
                                    {"run_contract", run_contract}});
    }
  }

  // Training.
  FinetuneBatches batches{&set, train_items, task == "segmentation", c.get<int64_t>("batch_size"), patch,
                          c.get<bool>("augment"), c.get<int64_t>("steps_per_epoch"),
                          c.get<double>("foreground_oversample")};
  check(batches.foreground_oversample == 0 || (batches.segmentation && patch > 0),
        "{}: foreground_oversample {} needs a segmentation run with patch_size > 0 (it chooses where patches are cut)",
        c.source(), batches.foreground_oversample);
  // Several processes: each builds its shard (batch_size is global) of every global batch (train/data_shard.h).
  const auto shard = train::DataShard::of(group);
  const int64_t batch_count = batches.steps_per_epoch > 0
                                  ? batches.steps_per_epoch
                                  : shard.batches(batches.batches(), static_cast<int64_t>(train_items.size()),
                                                  batches.batch_size);
  batches.batch_size = shard.local_batch(batches.batch_size, "batch_size", 1);
  const auto loader = train::loader_settings_from(c);
  train::ThreadedBatchSource source(
      batch_count, shard.wrap([&](int64_t e, int64_t i, uint64_t s) { return batches.make(e, i, s); }),
      loader.workers, loader.prefetch);
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
  options.distributed = request.distributed;
  if (mode == "frozen") options.frozen_prefixes = {model.encoder_prefix()};
  if (mode == "initialized" && warmup > 0) {
    options.frozen_prefixes = {model.encoder_prefix()};
    options.unfreeze_at_epoch = warmup;
  }
  // A pretrained encoder may learn more slowly than the new decoder, so that the first large steps on a few labelled
  // cases do not wash out what pretraining taught it (random-init runs train every layer at lr).
  const double encoder_lr_scale = c.get<double>("encoder_lr_scale");
  if (mode == "initialized" && encoder_lr_scale != 1.0)
    options.optimizer.groups.push_back({model.encoder_prefix() + ".", options.optimizer.lr * encoder_lr_scale});
  FinetuneManifestInputs manifest_inputs;
  manifest_inputs.spec = &spec;
  manifest_inputs.encoder_prefix = model.encoder_prefix();
  manifest_inputs.mode = mode;
  manifest_inputs.patch_side = patch > 0 ? patch : set.side();
  manifest_inputs.preprocessing = preprocessing;
  manifest_inputs.cache = &cache;
  manifest_inputs.cases_used = static_cast<int64_t>(split.train.size());
  manifest_inputs.seed = run_seed;
  manifest_inputs.source = &weights_source;
  manifest_inputs.config = c.raw();
  json run_manifest = finetune_manifest(manifest_inputs);
  options.manifest = run_manifest;
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
  if (!main_rank) return json{{"rank", group->rank()}, {"epochs_completed", result.epochs_completed}};

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
  run_manifest["final_metrics"] = {{"metric", metric},
                                   {"test_final", final_test.at("summary")},
                                   {"validation_metric", val_column},
                                   {"best_val_epoch", result.best_epoch},
                                   {"best_val_metric", json_number(result.best_metric)}};
  save_model(model, description, out, run_manifest);

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
      {"init_weights", request.init_weights.empty() ? json() : json(request.init_weights)},
      {"transfer", transfer_counts},
      {"contract_differences", weights::differences_json(differences)},
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
      {"processes", group ? group->world_size() : 1},
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
