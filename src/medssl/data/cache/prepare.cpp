#include "medssl/data/cache/prepare.h"

#include <sys/stat.h>

#include <filesystem>
#include <fmt/format.h>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/progress.h"
#include "medssl/core/version.h"
#include "medssl/data/cache/preprocess.h"
#include "medssl/data/cache/tensor_file.h"
#include "medssl/data/volume/volume.h"

namespace medssl::cache {
namespace fs = std::filesystem;
using config::Type;

namespace {

constexpr const char* kFormat = "medssl-cache";
constexpr int kVersion = 1;

// Settings that change the cached tensors; a consumer that asks for different values must re-prepare.
const std::vector<std::string> kTensorSettings = {"spacing", "window", "normalize", "crop_foreground", "size",
                                                  "resize_mode", "store_dtype"};

json source_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail("source file '{}' is missing", path);
  return json{{"path", path}, {"size", static_cast<int64_t>(st.st_size)}, {"mtime", static_cast<int64_t>(st.st_mtime)}};
}

json settings_subset(const json& settings) {
  json s = json::object();
  for (const auto& k : kTensorSettings) s[k] = settings.contains(k) ? settings.at(k) : json();
  return s;
}

std::string safe_file_id(const std::string& id) {
  std::string out;
  for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out;
}

void check_finite(const torch::Tensor& t, const std::string& path) {
  if (!torch::isfinite(t).all().item<bool>())
    fail("{}: image holds NaN or inf values ({} of {} voxels); fix the file or exclude the case", path,
         (~torch::isfinite(t)).sum().item<int64_t>(), t.numel());
}

torch::Tensor label_to_uint8(const torch::Tensor& label, const std::string& path) {
  auto rounded = torch::round(label);
  double lo = rounded.min().item<double>(), hi = rounded.max().item<double>();
  check(lo >= 0 && hi <= 255, "{}: label values must be integers in 0..255, found {}..{}", path, lo, hi);
  return rounded.to(torch::kUInt8);
}

struct Prepared {
  torch::Tensor image, label;
  std::vector<int64_t> original_shape;
  std::vector<double> original_spacing, spacing;
  Mat44 affine = identity44();
};

Prepared prepare_volume_case(const data::CaseRecord& c, const json& s) {
  check(!c.images.empty(), "case '{}' lists no image", c.id);
  Volume image = load_channels(c.images, "case '" + c.id + "'");
  check_finite(image.data, c.images[0]);
  Prepared p;
  auto shp = image.shape();
  p.original_shape = {shp[0], shp[1], shp[2]};
  p.original_spacing = {image.spacing[0], image.spacing[1], image.spacing[2]};
  std::optional<Volume> label;
  if (!c.label.empty()) {
    label = load_volume(c.label);
    check(label->shape() == image.shape(), "case '{}': label '{}' has shape {}x{}x{} but the image has {}x{}x{}", c.id,
          c.label, label->shape()[0], label->shape()[1], label->shape()[2], shp[0], shp[1], shp[2]);
  }
  image = preprocess_volume(std::move(image), s, &label);
  p.image = image.data;
  p.spacing = {image.spacing[0], image.spacing[1], image.spacing[2]};
  p.affine = image.affine;
  if (label) p.label = label_to_uint8(label->data, c.label);
  return p;
}

Prepared prepare_picture_case(const data::CaseRecord& c, const json& s) {
  check(c.images.size() == 1, "case '{}': 2D cases have one picture per case", c.id);
  Image2D image = load_image2d(c.images[0]);
  Prepared p;
  p.original_shape = {image.shape()[0], image.shape()[1]};
  p.original_spacing = {image.spacing[0], image.spacing[1]};
  std::optional<Image2D> label;
  if (!c.label.empty()) label = load_image2d(c.label);
  image = preprocess_picture(std::move(image), s, &label);
  p.image = image.data;
  p.spacing = {image.spacing[0], image.spacing[1]};
  if (label) p.label = label_to_uint8(label->data, c.label);
  return p;
}

json affine_json(const Mat44& m) {
  json a = json::array();
  for (const auto& row : m) a.push_back(row);
  return a;
}

}  // namespace

const config::Schema& prepare_schema() {
  static const config::Schema schema = [] {
    config::Schema s("prepare");
    s.optional("spacing", Type::number_list, "resample to this voxel size in mm, (D, H, W) order; unset = keep");
    s.range("spacing", 1e-6, std::nullopt);
    s.optional("window", Type::number_list, "intensity window [a_min, a_max] mapped to [0, 1] with clipping (CT HU)");
    s.key("normalize", Type::string, "auto",
          "per-case intensity normalisation after the window: auto (minmax for volumes without a window, "
          "divide_by_255 for 8-bit pictures, none after a window), minmax, zscore, divide_by_255, none");
    s.choices("normalize", {"auto", "minmax", "zscore", "divide_by_255", "none"});
    s.optional("crop_foreground", Type::number,
               "crop to the bounding box of voxels above this value (after normalisation; the reference uses 0.05)");
    s.key("size", Type::integer, 0, "final cube/square side in voxels (0 = keep the size)").range("size", 0, 4096);
    s.key("resize_mode", Type::string, "resize", "how to reach `size`: resize (interpolate; labels nearest) or crop_pad");
    s.choices("resize_mode", {"resize", "crop_pad"});
    s.key("store_dtype", Type::string, "float32", "image storage type in the cache (float16 halves disk and RAM)");
    s.choices("store_dtype", {"float32", "float16"});
    s.key("splits", Type::string_list, json::array({"training", "test", "unlabelled"}), "which parts of the data set to cache");
    return s;
  }();
  return schema;
}

json prepare_cache(const std::string& dataset_path, const std::string& out, const config::Config& settings) {
  const json& s = settings.raw();
  if (s.contains("spacing") && !s["spacing"].is_null())
    check(s["spacing"].size() == 3 || s["spacing"].size() == 2, "prepare: 'spacing' needs 3 values (D, H, W) or 2 (H, W)");
  if (s.contains("window") && !s["window"].is_null())
    check(s["window"].size() == 2 && s["window"][0].get<double>() < s["window"][1].get<double>(),
          "prepare: 'window' needs [a_min, a_max] with a_min < a_max");

  data::DatasetIndex ds = data::open_dataset(dataset_path);
  make_dirs(out + "/cases");
  const std::string index_path = out + "/cache.json";
  json wanted = settings_subset(s);
  if (fs::exists(index_path)) {
    json existing = config::read_json_file(index_path);
    check(existing.value("format", "") == kFormat, "{} exists and is not a medssl cache; choose another --out", index_path);
    json had = settings_subset(existing.at("preprocessing"));
    for (const auto& k : kTensorSettings)
      check(had[k] == wanted[k], "{} was prepared with {}={} but now {}={} is asked; use another --out or delete it", out,
            k, had[k].dump(), k, wanted[k].dump());
  }

  struct Item { const data::CaseRecord* rec; std::string split; };
  std::vector<Item> items;
  auto splits = s.at("splits").get<std::vector<std::string>>();
  auto want = [&](const char* name) { return std::find(splits.begin(), splits.end(), name) != splits.end(); };
  if (want("training")) for (const auto& c : ds.training) items.push_back({&c, "training"});
  if (want("test")) for (const auto& c : ds.test) items.push_back({&c, "test"});
  if (want("unlabelled")) for (const auto& c : ds.unlabelled) items.push_back({&c, "unlabelled"});
  check(!items.empty(), "prepare: data set '{}' has no cases in the splits asked for", dataset_path);

  const auto store = s.at("store_dtype").get<std::string>() == "float16" ? torch::kFloat16 : torch::kFloat32;
  json cases = json::array();
  Progress progress("prepare", static_cast<int64_t>(items.size()), "cases");
  int64_t skipped = 0;
  for (const auto& item : items) {
    const auto& c = *item.rec;
    const std::string fid = safe_file_id(c.id);
    const std::string entry_path = out + "/cases/" + fid + ".json";
    json sources = json::array();
    for (const auto& f : c.images) sources.push_back(source_stamp(f));
    if (!c.label.empty()) sources.push_back(source_stamp(c.label));
    if (fs::exists(entry_path)) {  // resume: a complete case from an earlier (possibly killed) run
      json entry = config::read_json_file(entry_path);
      if (entry.value("sources", json()) == sources && entry.value("settings", json()) == wanted) {
        cases.push_back(entry);
        ++skipped;
        progress.advance(1, "resumed " + c.id);
        continue;
      }
    }
    Prepared p = ds.spatial_dims == 3 ? prepare_volume_case(c, s) : prepare_picture_case(c, s);
    check_finite(p.image, c.images[0]);
    json entry{{"id", c.id}, {"split", item.split}, {"grade", c.grade}, {"sources", sources}, {"settings", wanted},
               {"shape", p.image.sizes().vec()}, {"spacing", p.spacing}, {"affine", affine_json(p.affine)},
               {"original_shape", p.original_shape}, {"original_spacing", p.original_spacing},
               {"image", "cases/" + fid + ".image.bin"}, {"label", nullptr}};
    write_tensor_file(out + "/" + entry["image"].get<std::string>(), p.image.to(store));
    if (p.label.defined()) {
      entry["label"] = "cases/" + fid + ".label.bin";
      write_tensor_file(out + "/" + entry["label"].get<std::string>(), p.label);
    }
    write_file_atomic(entry_path, entry.dump(1));  // last: marks the case complete
    cases.push_back(entry);
    progress.advance(1, c.id);
  }
  progress.finish();

  json labels = json::object();
  for (const auto& [value, name] : ds.labels) labels[std::to_string(value)] = name;
  json index{{"format", kFormat},
             {"version", kVersion},
             {"created_by", fmt::format("medssl {} ({})", MEDSSL_VERSION, MEDSSL_GIT_COMMIT)},
             {"dataset", {{"root", ds.root}, {"layout", ds.layout}, {"name", ds.name}, {"spatial_dims", ds.spatial_dims},
                          {"labels", labels}, {"channel_names", ds.channel_names}}},
             {"preprocessing", s},
             {"axis_convention", "RAS+, C-D-H-W"},
             {"cases", cases}};
  write_file_atomic(index_path, index.dump(1));
  log::info("cache {}: {} cases ({} reused from an earlier run)", out, cases.size(), skipped);
  return index;
}

bool is_cache_dir(const std::string& dir) { return fs::exists(dir + "/cache.json"); }

int Cache::num_classes() const {
  const auto& labels = index.at("dataset").at("labels");
  int n = 0;
  for (auto it = labels.begin(); it != labels.end(); ++it) n = std::max(n, std::stoi(it.key()) + 1);
  return n;
}

torch::Tensor Cache::load_image(size_t i) const {
  check(i < cases.size(), "cache {}: case index {} out of range", dir, i);
  return read_tensor_file(cases[i].image_file).to(torch::kFloat32);
}

torch::Tensor Cache::load_label(size_t i) const {
  check(i < cases.size(), "cache {}: case index {} out of range", dir, i);
  if (cases[i].label_file.empty()) return {};
  return read_tensor_file(cases[i].label_file).to(torch::kInt64);
}

Cache open_cache(const std::string& dir, bool check_sources) {
  const std::string index_path = dir + "/cache.json";
  check(fs::exists(index_path), "'{}' is not a medssl cache (no cache.json); create it with medssl prepare", dir);
  Cache cache;
  cache.dir = dir;
  cache.index = config::read_json_file(index_path);
  check(cache.index.is_object() && cache.index.value("format", "") == kFormat, "{}: not a medssl cache index", index_path);
  int version = cache.index.value("version", 0);
  check(version == kVersion, "{}: cache format version {} (this medssl reads {}); rerun medssl prepare", index_path,
        version, kVersion);
  try {
    for (const auto& e : cache.index.at("cases")) {
      CachedCase c;
      c.id = e.at("id").get<std::string>();
      c.split = e.at("split").get<std::string>();
      c.image_file = dir + "/" + e.at("image").get<std::string>();
      if (!e.at("label").is_null()) c.label_file = dir + "/" + e.at("label").get<std::string>();
      c.grade = e.value("grade", -1);
      c.shape = e.at("shape").get<std::vector<int64_t>>();
      if (check_sources) {
        for (const auto& src : e.at("sources")) {
          const std::string path = src.at("path").get<std::string>();
          struct stat st {};
          check(::stat(path.c_str(), &st) == 0, "stale cache {}: source file '{}' is gone; rerun medssl prepare", dir, path);
          check(static_cast<int64_t>(st.st_size) == src.at("size").get<int64_t>() &&
                    static_cast<int64_t>(st.st_mtime) == src.at("mtime").get<int64_t>(),
                "stale cache {}: source file '{}' changed since prepare; rerun medssl prepare", dir, path);
        }
      }
      cache.cases.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed cache index: {}", index_path, e.what());
  }
  return cache;
}

Cache open_or_prepare_cache(const std::string& data_dir, const std::string& cache_dir, json settings,
                            int64_t default_size) {
  check(fs::exists(data_dir), "data_dir {} does not exist", data_dir);
  if (is_cache_dir(data_dir)) return open_cache(data_dir);
  if (!settings.contains("size")) settings["size"] = default_size;
  auto validated = config::validate(settings, prepare_schema(), "the \"prepare\" object of the config");
  prepare_cache(data_dir, cache_dir, validated);
  return open_cache(cache_dir);
}

}  // namespace medssl::cache
