#include "medssl/pretext/pretrain.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/rng.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/data/loader/split.h"
#include "medssl/data/transforms/random_flip.h"
#include "medssl/data/transforms/random_zoom.h"
#include "medssl/pretext/task.h"
#include "medssl/pretext/vit_masked.h"
#include "medssl/train/data_shard.h"
#include "medssl/train/distributed.h"
#include "medssl/train/threaded_batch_source.h"
#include "medssl/train/train_config.h"
#include "medssl/pretext/pretrain_manifest.h"
#include "medssl/pretext/precise_batch_norm.h"
#include "medssl/weights/manifest.h"
#include "medssl/weights/transfer.h"
#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/torch_save_format.h"

namespace medssl::pretext {

namespace fs = std::filesystem;
using config::Type;
using json = nlohmann::json;

namespace {

// Keys handed to the task in TaskSpec::params (each task reads the ones it knows, with the reference's defaults).
const std::vector<std::string> kTaskKeys = {"patches_per_side", "patch_jitter",  "code_size",  "crop_size",
                                            "num_permutations", "permutations_file", "sample_neg_examples_from",
                                            "top_architecture", "top_units",     "margin",        "alpha",
                                            "min_iou",          "max_iou",       "iou_sampler", "view_augment",
                                            "projection_dim",   "projection_hidden_dim", "prediction_hidden_dim",
                                            "hidden_size", "mlp_dim", "num_heads", "vit_num_layers", "vit_patch_size",
                                            "temperature", "out_dim", "bottleneck_dim", "student_temp", "teacher_temp",
                                            "center_momentum", "teacher_momentum", "use_bn_in_head"};

// Reference defaults for `lr` when a config omits it (healthml.md section 5, builder defaults).
double default_lr(const std::string& algorithm) {
  if (algorithm == "cpc" || algorithm == "rpl" || algorithm == "simclr") return 1e-3;
  if (algorithm == "simsiam") return 0.025;  // the IoU reference, with SGD (configs/pretrain/simsiam_iou_*.json)
  if (algorithm == "dino") return 5e-5;      // the IoU reference's main_dino.py, with AdamW
  if (algorithm == "vit_masked") return 1e-4;  // the MONAI SSL tutorial's Adam lr (iou_and_monai_ssl.md B.4)
  return 1e-4;
}

}  // namespace

const config::Schema& pretrain_schema() {
  static const config::Schema schema = [] {
    config::Schema s("pretrain");
    s.required("algorithm", Type::string, "pretext task: " + [] {
      std::string names;
      for (const auto& n : task_names()) names += (names.empty() ? "" : ", ") + n;
      return names;
    }());
    s.choices("algorithm", task_names());
    s.required("data_dir", Type::string, "data set folder (MSD, nnU-Net raw, APTOS, plain folder) or a prepare cache");
    s.optional("dataset_name", Type::string, "a name for the data set (informational, as in the reference)");
    s.optional("_doc", Type::any, "free text: what the config reproduces and how to change it");
    s.key("data_dim", Type::integer, 128, "side of the cubic (3D) / square (2D) images the task sees");
    s.range("data_dim", 8, 4096);
    s.optional("data_is_3D", Type::boolean, "3D task on volumes (true) or 2D task (false: pictures, or slices of volumes); default: the data's own dimensionality");
    s.optional("number_channels", Type::integer, "image channels (checked against the data)");
    s.range("number_channels", 1, 64);
    // Task keys (reference names).
    s.optional("patches_per_side", Type::integer, "patch grid side (rpl/jigsaw 3, cpc 5 in 2D / 4 in 3D)");
    s.range("patches_per_side", 1, 16);
    s.optional("patch_jitter", Type::integer, "voxels cut from each grid cell at random (rpl/jigsaw); cpc 2D: negative = overlap");
    s.optional("code_size", Type::integer, "embedding size of exemplar / cpc (reference 1024)");
    s.range("code_size", 1, 1 << 16);
    s.optional("crop_size", Type::integer, "cpc: whole-image random crop before the grid (reference: 0.95 * data_dim in 3D); simsiam/simclr/dino: side of both crops; vit_masked: side of the two crops per image (default min(data_dim, 96))");
    s.optional("num_permutations", Type::integer, "jigsaw: use the first N rows of the permutation table");
    s.range("num_permutations", 2, 100000);
    s.optional("permutations_file", Type::string, "jigsaw: custom permutation table (medssl permutations)");
    s.optional("sample_neg_examples_from", Type::string, "exemplar negatives: dataset | batch");
    s.choices("sample_neg_examples_from", {"dataset", "batch"});
    s.optional("top_architecture", Type::string, "head of rotation/rpl/jigsaw (reference: big_fully)");
    s.optional("top_units", Type::int_list, "rotation/rpl/jigsaw: big_fully widths [hidden1, hidden2] (reference [2048, 1024])");
    s.optional("margin", Type::number, "exemplar triplet margin");
    s.optional("alpha", Type::number, "exemplar triplet margin (reference name)");
    s.optional("min_iou", Type::number, "simsiam/simclr: lowest IoU of the two crops of a pair (inclusive; default 0)");
    s.range("min_iou", 0.0, 1.0);
    s.optional("max_iou", Type::number, "simsiam/simclr: highest IoU of the two crops of a pair (inclusive; default 1)");
    s.range("max_iou", 0.0, 1.0);
    s.optional("iou_sampler", Type::string, "simsiam/simclr crop pairs: direct (exact, never violates the interval) | reference (rejection with fallback)");
    s.choices("iou_sampler", {"direct", "reference"});
    s.optional("view_augment", Type::boolean, "simsiam/simclr: per-view augmentations (zoom, flips, rot90, intensity, blur, noise); default true");
    s.optional("projection_dim", Type::integer, "simsiam/simclr projector output (2048 / 128)");
    s.range("projection_dim", 1, 1 << 16);
    s.optional("projection_hidden_dim", Type::integer, "simsiam/simclr projector hidden width (2048)");
    s.range("projection_hidden_dim", 1, 1 << 16);
    s.optional("prediction_hidden_dim", Type::integer, "simsiam predictor bottleneck (512)");
    s.range("prediction_hidden_dim", 1, 1 << 16);
    s.optional("temperature", Type::number, "simclr NT-Xent temperature (0.1); vit_masked contrastive temperature (0.05)");
    s.range("temperature", 1e-6, 100.0);
    s.optional("out_dim", Type::integer, "dino: prototypes of the head's last layer (1024)");
    s.range("out_dim", 1, 1 << 20);
    s.optional("bottleneck_dim", Type::integer, "dino: head bottleneck before the L2-normalised last layer (256)");
    s.range("bottleneck_dim", 1, 1 << 16);
    s.optional("student_temp", Type::number, "dino: student softmax temperature (0.1)");
    s.range("student_temp", 1e-6, 100.0);
    s.optional("teacher_temp", Type::number, "dino: teacher softmax temperature (0.04)");
    s.range("teacher_temp", 1e-6, 100.0);
    s.optional("center_momentum", Type::number, "dino: momentum of the teacher-output centre (0.9)");
    s.range("center_momentum", 0.0, 1.0);
    s.optional("teacher_momentum", Type::number, "dino: base EMA momentum of the teacher, cosine to 1 over the run (0.9995)");
    s.range("teacher_momentum", 0.0, 1.0);
    s.optional("use_bn_in_head", Type::boolean, "dino: BatchNorm1d after each hidden layer of the head (DINO's --use_bn_in_head; default false)");
    s.optional("embedding_size", Type::integer, "swin encoder feature size (the IoU reference's name for feature_size)");
    s.range("embedding_size", 1, 4096);
    s.optional("feature_size", Type::integer, "swin encoder feature size (MONAI's name; default 48)");
    s.range("feature_size", 1, 4096);
    s.optional("hidden_size", Type::integer, "vit_masked: ViTAutoEnc token width (768)");
    s.range("hidden_size", 1, 1 << 16);
    s.optional("mlp_dim", Type::integer, "vit_masked: ViTAutoEnc MLP width of each transformer block (3072)");
    s.range("mlp_dim", 1, 1 << 20);
    s.optional("num_heads", Type::integer, "vit_masked: ViTAutoEnc attention heads; divides hidden_size (12)");
    s.range("num_heads", 1, 1024);
    s.optional("vit_num_layers", Type::integer, "vit_masked: ViTAutoEnc transformer blocks (12; UNETR finetuning needs 12)");
    s.range("vit_num_layers", 1, 128);
    s.optional("vit_patch_size", Type::integer, "vit_masked: ViTAutoEnc patch side, a perfect square dividing crop_size (16; UNETR finetuning needs 16)");
    s.range("vit_patch_size", 1, 1024);
    s.key("faithful", Type::boolean, false, "reproduce the reference's exact losses and quirks (docs/pretext-tasks.md)");
    // Encoder.
    s.optional("encoder_architecture", Type::string, "2D encoder: DenseNet121 (reference spelling) / densenet121; default: the UNet encoder");
    // Default "max" (the reference's pretext configs omit the key: global MAX pooling), so that only an explicit JSON
    // null (or "none") turns it off; an optional key without a default would read as null, i.e. no pooling.
    s.key("pooling", Type::any, json("max"), "final pooling of the encoder: max (reference: 2x max pool, then flatten) | avg (2x) | global_max | global_avg (over the whole map, UNet encoder) | none/null");
    s.key("enc_filters", Type::integer, 16, "UNet encoder base filters (reference 3D configs: 16)").range("enc_filters", 1, 1024);
    s.key("num_layers", Type::integer, 4, "UNet encoder depth").range("num_layers", 1, 8);
    s.key("encoder_variant", Type::string, "taleb", "UNet encoder blocks: taleb (BN after ReLU, dropout .5) | modern (instance norm) | modern_gn (group norm; for patch tasks on small images)");
    s.choices("encoder_variant", {"taleb", "modern", "modern_gn"});
    s.key("dropout", Type::number, 0.5, "UNet encoder dropout (taleb variant)").range("dropout", 0.0, 1.0);
    // Data.
    s.key("train_val_split", Type::number, 0.9, "fraction of cases used for training, the rest validates (reference: 0.9)");
    s.range("train_val_split", 0.01, 0.99);
    s.ignored("val_split", "the reference ignores val_split in pretraining (it always splits 90/10); use train_val_split");
    s.ignored("embed_dim", "unused by the reference");
    s.key("shuffle_seed", Type::integer, 0, "0: split in data-set order like the reference; else shuffle cases with this seed first");
    s.range("shuffle_seed", 0, std::nullopt);
    s.key("exclude_cases", Type::string_list, json::array(),
          "case ids never used for pretraining, e.g. the held-out test cases of the later finetuning (medssl study "
          "fills it when both stages read the same data set)");
    s.key("min_foreground", Type::number, 0.0, "2D slices of volumes: keep slices with more than this fraction of foreground");
    s.range("min_foreground", 0.0, 1.0);
    s.key("slice_axis", Type::integer, 1, "2D slices of volumes: axis of (C, D, H, W) to cut along (1 = D)").range("slice_axis", 1, 3);
    s.key("augment", Type::boolean, false, "2D: random zoom (0.85-1.15 per axis) and horizontal/vertical flips, as the reference's loader");
    s.key("augment_zoom_only", Type::boolean, false, "2D: random zoom only (the reference's rotation pretraining)");
    s.key("prepare", Type::object, json::object(), "preprocessing keys for a raw data set (medssl prepare); size defaults to data_dim");
    s.optional("cache_dir", Type::string, "where a raw data set is prepared (default RUN_DIR/cache)");
    s.key("save_checkpoint_every_n_epochs", Type::integer, 5, "also keep the encoder of every N-th epoch (0 = off)");
    s.range("save_checkpoint_every_n_epochs", 0, std::nullopt);
    s.key("val_max_batches", Type::integer, 0, "validate on at most this many batches (0 = all)").range("val_max_batches", 0, std::nullopt);
    s.key("precise_bn_batches", Type::integer, 16, "before each validation, recompute the BatchNorm statistics as the average over this many training batches (at most one epoch's; 0 = keep the moving averages, as the reference; docs/pretext-tasks.md)")
        .range("precise_bn_batches", 0, std::nullopt);
    s.include(train::training_schema());
    return s;
  }();
  return schema;
}

namespace {

// `set` without the items of the cases named in `excluded` (every name must be a case of the cache: a typo would
// otherwise silently keep a test case in the pretraining).
data::ImageSet exclude_cases(const data::ImageSet& set, const cache::Cache& cache,
                             const std::vector<std::string>& excluded) {
  if (excluded.empty()) return set;
  std::set<std::string> ids;
  for (const auto& cc : cache.cases) ids.insert(cc.id);
  for (const auto& id : excluded)
    check(ids.count(id) > 0, "exclude_cases: no case \"{}\" in {}", id, cache.dir);
  const std::set<std::string> drop(excluded.begin(), excluded.end());
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < set.size(); ++i)
    if (!drop.count(cache.cases[static_cast<size_t>(set.case_of(i))].id)) keep.push_back(i);
  log::info("pretrain: {} case(s) excluded (exclude_cases): {} of {} images remain", drop.size(), keep.size(),
            set.size());
  return set.subset(keep);
}

// The run's data: data_dir itself if it is a cache, else data_dir prepared into cache_dir (default RUN_DIR/cache).
// In a multi-process run rank 0 prepares while the others wait, then they only open its cache.
cache::Cache open_or_prepare(const config::Config& c, const std::string& out_dir, train::ProcessGroup* group) {
  const std::string data_dir = c.get<std::string>("data_dir");
  const std::string cache_dir = c.has("cache_dir") ? c.get<std::string>("cache_dir") : out_dir + "/cache";
  if (group && !group->is_main()) {
    group->barrier("rank 0 preparing the data cache");
    return cache::open_cache(cache::is_cache_dir(data_dir) ? data_dir : cache_dir);
  }
  cache::Cache cache = cache::open_or_prepare_cache(data_dir, cache_dir, c.raw().at("prepare"), c.get<int64_t>("data_dim"));
  if (group) group->barrier("rank 0 preparing the data cache");
  return cache;
}

// Samples per image of the task (the reference's "multiplicator"): make_batch on one image, count the outputs.
int64_t samples_per_image(const PretextTask& task, const data::ImageSet& set) {
  Rng rng = Rng::derive(0, "pretrain-multiplicator");
  Sample s;
  s.index = 0;
  s.image = set.image(0);
  if (task.needs_negative()) s.negative = set.image(set.size() > 1 ? 1 : 0);
  return std::max<int64_t>(1, task.make_batch({s}, rng, true).size);
}

// Draws a negative for image `i` of `set` from `pool`: when they are the same set, another image, from another case
// whenever there is one; validation images draw from the training images (other cases by construction of the split),
// so a small validation set still has negatives.
int64_t draw_negative(const data::ImageSet& pool, bool same_set, const data::ImageSet& set, int64_t i, Rng& rng) {
  const int64_t n = pool.size();
  if (!same_set) return rng.uniform_int(0, n - 1);
  check(n >= 2, "exemplar needs at least 2 training images to draw negatives, got {}", n);
  for (int attempt = 0; attempt < 64; ++attempt) {
    int64_t j = rng.uniform_int(0, n - 1);
    if (j != i && pool.case_of(j) != set.case_of(i)) return j;
  }
  int64_t j = rng.uniform_int(0, n - 2);
  return j >= i ? j + 1 : j;
}

// The reference's 2D loader augmentation (keras random_zoom with independent factors in [0.85, 1.15], then
// horizontal and vertical flips with p 0.5; `augment_zoom_only` keeps the zoom only, as its rotation pretraining).
struct LoaderAugmentation {
  bool zoom = false;
  bool flips = false;
  torch::Tensor apply(torch::Tensor image, Rng& rng) const {
    if (zoom) image = random_zoom(image, 0.15, rng);
    if (flips) {
      image = random_flip(image, image.dim() - 2, 0.5, rng);  // horizontal: the last spatial axis
      image = random_flip(image, image.dim() - 3, 0.5, rng);  // vertical
    }
    return image;
  }
};

struct TaskBatches {
  const PretextTask* task;
  const data::ImageSet* set;
  int64_t images_per_batch;
  bool training;
  std::string purpose;
  LoaderAugmentation augmentation;
  const data::ImageSet* negatives;  ///< where exemplar negatives come from (the training images)

  int64_t batches() const {
    const int64_t full = set->size() / images_per_batch, rest = set->size() % images_per_batch;
    // A trailing training batch of one image would give BatchNorm (encoder blocks, big_fully) a single value per
    // channel, which it cannot normalise (LibTorch throws): it is dropped, as are those below the task's minimum.
    const int64_t smallest = training ? std::max<int64_t>(2, task->min_training_images()) : 1;
    return full + (rest > 0 && rest >= smallest ? 1 : 0);
  }

  train::Batch make(int64_t epoch, int64_t index, uint64_t seed) const {
    std::vector<int64_t> order(static_cast<size_t>(set->size()));
    for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<int64_t>(k);
    if (training) {
      Rng order_rng = Rng::derive(seed, purpose + "-order", static_cast<uint64_t>(epoch));
      order_rng.shuffle(order);
    }
    Rng rng = Rng::derive(seed, purpose, static_cast<uint64_t>(index));
    std::vector<Sample> samples;
    const int64_t begin = index * images_per_batch;
    const int64_t end = std::min<int64_t>(begin + images_per_batch, set->size());
    for (int64_t k = begin; k < end; ++k) {
      Sample s;
      s.index = order[static_cast<size_t>(k)];
      s.image = set->image(s.index);
      if (training) s.image = augmentation.apply(s.image, rng);
      if (task->needs_negative()) s.negative = negatives->image(draw_negative(*negatives, negatives == set, *set, s.index, rng));
      samples.push_back(std::move(s));
    }
    return task->make_batch(samples, rng, training);
  }
};

std::string read_text_if_exists(const std::string& path) { return fs::exists(path) ? read_file(path) : std::string(); }

// On --resume the stored config must match except for keys that only extend or observe the run.
void check_resume_config(const std::string& stored_path, const json& now) {
  const std::string text = read_text_if_exists(stored_path);
  if (text.empty()) return;
  json stored = json::parse(text);
  static const std::set<std::string> may_change = {"epochs", "workers", "prefetch", "device", "early_stopping_patience",
                                                   "save_checkpoint_every_n_epochs", "val_max_batches",
                                                   "precise_bn_batches"};
  std::vector<std::string> changed;
  for (const auto& [k, v] : now.items())
    if (!may_change.count(k) && (!stored.contains(k) || stored.at(k) != v)) changed.push_back(k);
  for (const auto& [k, v] : stored.items())
    if (!may_change.count(k) && !now.contains(k)) changed.push_back(k);
  if (!changed.empty()) {
    std::string list;
    for (const auto& k : changed) list += (list.empty() ? "" : ", ") + k;
    fail("--resume: the config differs from the run's {} in: {} (only epochs, workers, prefetch, device and "
         "early_stopping_patience may change on resume)", stored_path, list);
  }
}

// The encoder's tensors ("encoder.*") with the run's manifest (embedded, and as STEM.manifest.json).
void save_encoder(PretextModelImpl& model, const std::string& path, const json& manifest) {
  weights::save_weights(weights::add_prefix(weights::state_dict(*model.encoder), "encoder."), path, manifest);
}

}  // namespace

TaskSpec task_spec_from_config(const config::Config& c, int spatial_dims, int64_t in_channels) {
  TaskSpec spec;
  spec.spatial_dims = spatial_dims;
  spec.in_channels = in_channels;
  spec.data_dim = c.get<int64_t>("data_dim");
  spec.faithful = c.get<bool>("faithful");
  if (c.has("encoder_architecture")) {
    std::string arch = c.get<std::string>("encoder_architecture");
    std::transform(arch.begin(), arch.end(), arch.begin(), [](unsigned char ch) { return std::tolower(ch); });
    check(arch == "densenet121" || arch == "unet" || arch == "unet_encoder" || arch == "swin" ||
              arch == "swin_encoder",
          "encoder_architecture \"{}\" is not available (DenseNet121, swin_encoder, or the default UNet encoder)",
          c.get<std::string>("encoder_architecture"));
    spec.encoder = arch == "densenet121" ? "densenet121" : (arch.rfind("swin", 0) == 0 ? "swin_encoder" : "unet_encoder");
  }
  if (spec.encoder == "swin_encoder") {
    // MONAI's SwinTransformer; feature_size (or the IoU reference's embedding_size), default 48.
    spec.encoder_options = {{"feature_size", c.has("feature_size") ? c.get<int64_t>("feature_size")
                                                                   : (c.has("embedding_size") ? c.get<int64_t>("embedding_size") : 48)}};
  } else if (spec.encoder != "densenet121") {
    spec.encoder_options = {{"enc_filters", c.get<int64_t>("enc_filters")},
                            {"num_layers", c.get<int64_t>("num_layers")},
                            {"variant", c.get<std::string>("encoder_variant")},
                            {"dropout", c.get<double>("dropout")}};
  }
  if (spec.encoder != "swin_encoder" && !(spec.encoder == "densenet121" && c.raw().at("pooling").is_null()))
    spec.encoder_options["pooling"] = c.raw().at("pooling").is_null() ? json("none") : c.raw().at("pooling");
  for (const auto& k : kTaskKeys)
    if (c.has(k)) spec.params[k] = c.raw().at(k);
  if (c.get<std::string>("algorithm") == "vit_masked") {  // MONAI's ViTAutoEnc; the manifest lets UNETR load it
    if (c.has("encoder_architecture"))
      fail("vit_masked trains MONAI's ViTAutoEnc; encoder_architecture \"{}\" does not apply (set hidden_size, "
           "mlp_dim, num_heads, vit_num_layers, vit_patch_size instead)", c.get<std::string>("encoder_architecture"));
    spec.encoder = "vit_autoenc";
    spec.encoder_options = vit_masked_encoder_options(spec);
  }
  return spec;
}

json run_pretraining(const PretrainRequest& request) {
  const auto& c = request.config;
  const std::string& out = request.out_dir;
  check(!out.empty(), "pretrain: --out RUN_DIR is required");
  const auto data_dir = c.get<std::string>("data_dir");
  check(fs::exists(data_dir), "data_dir {} does not exist", data_dir);
  make_dirs(out);
  const std::string last = out + "/checkpoints/last.pt";
  if (request.resume) {
    check(fs::exists(last), "--resume: no checkpoint at {} (nothing to resume; drop --resume to start)", last);
    check_resume_config(out + "/config.json", c.raw());
  } else {
    check(!fs::exists(last), "{} already holds a run ({}); pass --resume to continue it or choose another --out", out,
          last);
  }
  train::ProcessGroup* group = request.distributed.get();
  const bool main_rank = !group || group->is_main();  // only rank 0 of a multi-process run writes files
  if (main_rank) write_file_atomic(out + "/config.json", c.raw().dump(2) + "\n");

  // Data.
  cache::Cache cache = open_or_prepare(c, out, group);
  const int data_dims = cache.spatial_dims();
  const int dims = c.has("data_is_3D") ? (c.get<bool>("data_is_3D") ? 3 : 2) : data_dims;
  check(!(dims == 3 && data_dims == 2), "data_is_3D is true but {} holds 2D pictures", c.get<std::string>("data_dir"));
  data::ImageSetOptions set_options;
  set_options.spatial_dims = dims;
  set_options.slice_axis = static_cast<int>(c.get<int64_t>("slice_axis"));
  set_options.min_foreground = c.get<double>("min_foreground");
  data::ImageSet all = exclude_cases(data::ImageSet::from_cache(cache, set_options), cache,
                                     c.get<std::vector<std::string>>("exclude_cases"));
  check(all.size() >= 2, "pretrain: {} holds {} usable image(s); at least 2 are needed (one to train, one to validate)",
        cache.dir, all.size());
  const int64_t data_dim = c.get<int64_t>("data_dim");
  check(all.side() == data_dim,
        "pretrain: the images in {} have side {} but data_dim is {}; set data_dim to {} or prepare with size {}",
        cache.dir, all.side(), data_dim, all.side(), data_dim);
  if (c.has("number_channels"))
    check(all.channels() == c.get<int64_t>("number_channels"),
          "pretrain: number_channels is {} but the images in {} have {} channel(s)", c.get<int64_t>("number_channels"),
          cache.dir, all.channels());
  data::CaseSplitOptions split_options;
  split_options.train_fraction = c.get<double>("train_val_split");
  split_options.shuffle_seed = c.get<uint64_t>("shuffle_seed");
  auto split = data::pretraining_split(all, split_options);
  check(!split.train.empty() && !split.val.empty(),
        "pretrain: splitting {} cases by train_val_split {} leaves {} training and {} validation images; add cases or "
        "change train_val_split", cache.cases.size(), split_options.train_fraction, split.train.size(), split.val.size());
  data::ImageSet train_set = all.subset(split.train);
  data::ImageSet val_set = all.subset(split.val);
  log::info("pretrain data: {} {}D images of side {} x {} channel(s) ({} train / {} validation), from {}", all.size(),
            dims, all.side(), all.channels(), train_set.size(), val_set.size(), cache.dir);

  // Task and model.
  const auto algorithm = c.get<std::string>("algorithm");
  const TaskSpec spec = task_spec_from_config(c, dims, all.channels());
  auto task = make_task(algorithm, spec);
  // LibTorch seeds its default generator nondeterministically: seed it so the initial weights follow `seed`.
  torch::manual_seed(Rng::derive(c.get<uint64_t>("seed"), "pretrain-init").next_u64());
  auto model = task->build_model();
  if (!request.init_weights.empty() && !request.resume) {  // weights/transfer.h; the report goes to RUN/transfer.json
    weights::TransferOptions t;
    t.pretrained_prefix = "encoder.";
    t.in_channels = spec.in_channels;
    t.maps = request.maps;
    t.min_match = request.allow_partial ? 0.0 : request.min_match;
    t.entry = request.entry;
    t.label = "--init-weights";
    const weights::TransferReport report = weights::transfer_weights(*model, request.init_weights, t);
    if (main_rank) {
      log::info("{}", report.summary());
      weights::write_transfer_json(report, out + "/transfer.json");
    }
  }

  // Batches: batch_size counts produced samples, as the reference's "realistic batch size".
  const int64_t per_image = samples_per_image(*task, train_set);
  const int64_t images_per_batch = std::max<int64_t>(1, c.get<int64_t>("batch_size") / per_image);
  check(images_per_batch >= task->min_training_images() && train_set.size() >= task->min_training_images(),
        "pretrain {}: batches need at least {} images ({} per batch from batch_size {}, {} training images); raise "
        "batch_size or add data", algorithm, task->min_training_images(), images_per_batch, c.get<int64_t>("batch_size"),
        train_set.size());
  const auto loader = train::loader_settings_from(c);
  LoaderAugmentation augmentation;
  augmentation.zoom = c.get<bool>("augment") || c.get<bool>("augment_zoom_only");
  augmentation.flips = c.get<bool>("augment") && !c.get<bool>("augment_zoom_only");
  check(dims == 2 || !(augmentation.zoom || augmentation.flips),
        "augment / augment_zoom_only are the reference's 2D loader augmentations; they are not available for 3D data");
  TaskBatches train_batches{task.get(), &train_set, images_per_batch, true, "pretrain-train", augmentation, &train_set};
  TaskBatches val_batches{task.get(), &val_set, images_per_batch, false, "pretrain-val", {}, &train_set};
  // Several processes: each builds its shard (batch_size is global) of every global batch (train/data_shard.h).
  const auto shard = train::DataShard::of(group);
  const int64_t train_batch_count = shard.batches(train_batches.batches(), train_set.size(), images_per_batch);
  TaskBatches train_shard = train_batches;  // this rank's part; train_batches keeps the whole batches
  train_shard.images_per_batch = shard.local_batch(images_per_batch, "the images per batch (batch_size / samples per "
                                                   "image)", task->min_training_images());
  train::ThreadedBatchSource train_source(
      train_batch_count,
      shard.wrap([&](int64_t e, int64_t i, uint64_t s) { return train_shard.make(e, i, s); }), loader.workers,
      loader.prefetch);
  int64_t val_count = val_batches.batches();
  if (c.get<int64_t>("val_max_batches") > 0) val_count = std::min(val_count, c.get<int64_t>("val_max_batches"));
  train::ThreadedBatchSource val_source(  // rank 0 validates alone: no loader threads elsewhere
      val_count, [&](int64_t e, int64_t i, uint64_t s) { return val_batches.make(e, i, s); }, main_rank ? loader.workers : 0,
      loader.prefetch);
  // Validation batches are the same every epoch (fixed seed), so the curve measures the model, not the draw.
  const uint64_t val_seed = Rng::derive(c.get<uint64_t>("seed"), "pretrain-validation").next_u64();

  auto options = train::trainer_options_from(c, out, default_lr(algorithm));
  options.optimizer.groups = task->param_group_rules();
  options.optimizer.no_decay_for_bias_and_1d = task->no_weight_decay_for_bias_and_norm();
  options.monitor = task->monitor();
  options.monitor_mode = task->monitor_mode();
  options.label = "pretrain " + algorithm;
  options.distributed = request.distributed;
  const int64_t steps = options.steps_per_epoch > 0 ? options.steps_per_epoch : train_source.size();
  options.schedule.warmup_steps = static_cast<int64_t>(std::llround(c.get<double>("warmup_epochs") * steps));
  json manifest = pretrain_manifest(c, spec, cache, train_set.size());
  options.manifest = manifest;

  PretextModelImpl& net = *model;
  train::StepFn step = [&](const train::Batch& batch, train::StepContext&) { return task->step(net, batch); };
  // Precise BatchNorm before each validation (precise_batch_norm.h): the same training batches every time. Skipped
  // with sync_bn, whose synchronised forward rank 0 cannot run alone; the moving averages are used there.
  const int64_t precise_bn = (group && c.get<bool>("sync_bn"))
                                 ? 0
                                 : std::min(c.get<int64_t>("precise_bn_batches"), train_batches.batches());
  const uint64_t precise_bn_seed = Rng::derive(c.get<uint64_t>("seed"), "pretrain-precise-bn").next_u64();
  train::EvalFn evaluate = [&](train::StepContext& ctx) {
    recalibrate_batch_norm(net, precise_bn, [&](int64_t b) {
      train::Batch batch = train_batches.make(0, b, precise_bn_seed);
      if (!ctx.device.is_cpu()) batch = batch.to(ctx.device);
      task->step(net, batch);
    });
    std::map<std::string, double> sums;
    double samples = 0;
    val_source.start_epoch(0, val_seed);
    for (int64_t b = 0; b < val_source.size(); ++b) {
      train::Batch batch = val_source.next();
      if (!ctx.device.is_cpu()) batch = batch.to(ctx.device);
      auto result = task->step(net, batch);
      const double n = static_cast<double>(batch.size);
      sums["loss"] += result.loss.item<double>() * n;
      for (const auto& [k, v] : result.metrics) sums[k] += v * n;
      samples += n;
    }
    for (auto& [k, v] : sums) v /= std::max(1.0, samples);
    return sums;
  };

  train::Trainer trainer(model, train_source, step, evaluate, options);
  const int64_t total_steps = c.get<int64_t>("epochs") * steps;
  trainer.after_optimizer_step = [&](train::StepContext& ctx) {
    task->after_optimizer_step(net, ctx.global_step + 1, total_steps);
  };
  const int64_t snapshot_every = c.get<int64_t>("save_checkpoint_every_n_epochs");
  trainer.on_epoch_start = [&](int64_t epoch, train::Trainer&) {
    if (main_rank && snapshot_every > 0 && epoch > 0 && epoch % snapshot_every == 0) {
      make_dirs(out + "/snapshots");
      save_encoder(net, fmt::format("{}/snapshots/encoder_epoch_{:03d}.pt", out, epoch), manifest);
    }
  };
  train::FitResult result = request.resume ? trainer.resume(last) : trainer.fit();
  if (!main_rank) return json{{"rank", group->rank()}, {"epochs_completed", result.epochs_completed}};

  const auto& metric_rows = trainer.metrics_log().rows();
  manifest["final_metrics"] = {{"monitor", options.monitor},
                               {"best_epoch", result.best_epoch},
                               {"best_metric", std::isfinite(result.best_metric) ? json(result.best_metric) : json()},
                               {"epochs_completed", result.epochs_completed},
                               {"last_epoch", metric_rows.empty() ? json() : json(metric_rows.back())}};
  save_encoder(net, out + "/encoder.pt", manifest);
  const std::string best = trainer.best_checkpoint_path();
  if (fs::exists(best)) {
    auto tensors = train::read_checkpoint_tensors(best);
    weights::StateDict encoder_only;
    for (const auto& [name, t] : tensors)
      if (name.rfind("encoder.", 0) == 0) encoder_only[name] = t;
    json best_manifest = manifest;
    best_manifest["final_metrics"]["checkpoint"] = "best";
    weights::save_weights(encoder_only, out + "/encoder_best.pt", best_manifest);
  }

  // Summary: first and last validation rows (the honest "start" and "end" of the run).
  json summary = {{"algorithm", algorithm},
                  {"spatial_dims", dims},
                  {"data_dir", c.get<std::string>("data_dir")},
                  {"cache", cache.dir},
                  {"train_images", train_set.size()},
                  {"val_images", val_set.size()},
                  {"images_per_batch", images_per_batch},
                  {"processes", group ? group->world_size() : 1},
                  {"samples_per_image", per_image},
                  {"epochs_completed", result.epochs_completed},
                  {"global_step", result.global_step},
                  {"early_stopped", result.early_stopped},
                  {"monitor", options.monitor},
                  {"best_epoch", result.best_epoch},
                  {"best_metric", std::isfinite(result.best_metric) ? json(result.best_metric) : json()},
                  {"encoder", out + "/encoder.pt"}};
  const auto& rows = trainer.metrics_log().rows();
  if (!rows.empty()) {
    summary["first_epoch"] = rows.front();
    summary["last_epoch"] = rows.back();
  }
  write_file_atomic(out + "/pretrain.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace medssl::pretext
