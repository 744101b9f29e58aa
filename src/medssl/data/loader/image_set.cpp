#include "medssl/data/loader/image_set.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <thread>

#include <fmt/ranges.h>

#include "medssl/core/alloc_limit.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/memory_info.h"
#include "medssl/core/progress.h"
#include "medssl/data/cache/tensor_file.h"

namespace medssl::data {

struct ImageSet::Store {
  std::string dir;
  std::vector<cache::CachedCase> cases;  // the whole cache's list: Item::case_index points into it
  bool preloaded = false;
  bool with_labels = false;
  std::vector<torch::Tensor> images;  // preloaded, by case index, stored type (undefined for unused cases)
  std::vector<torch::Tensor> labels;  // preloaded, uint8 (undefined for unused or unlabelled cases)
};

namespace {

const std::vector<std::string> kSplitNames{"training", "test", "unlabelled"};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

torch::Tensor read_checked(const std::string& path, const std::vector<int64_t>& expected_shape) {
  torch::Tensor t = cache::read_tensor_file(path);
  check(t.sizes().vec() == expected_shape, "{}: shape {} does not match the cache index's {}; rerun medssl prepare",
        path, fmt::join(t.sizes().vec(), "x"), fmt::join(expected_shape, "x"));
  return t;
}

/// A label map is stored like its image, (channels, *spatial), usually with one channel.
torch::Tensor read_label(const cache::CachedCase& c) {
  torch::Tensor t = cache::read_tensor_file(c.label_file);
  check(t.dim() == static_cast<int64_t>(c.shape.size()) &&
            std::equal(c.shape.begin() + 1, c.shape.end(), t.sizes().begin() + 1),
        "{}: label shape {} does not fit the image's {}; rerun medssl prepare", c.label_file, fmt::join(t.sizes(), "x"),
        fmt::join(c.shape, "x"));
  return t;
}

/// Indices along `axis` (of (C, D, H, W)) of the slices whose foreground fraction exceeds `min_fraction`.
std::vector<int64_t> foreground_slices(const torch::Tensor& volume, int axis, double min_fraction) {
  auto v = volume.to(torch::kFloat32);
  const double lo = v.min().item<double>(), hi = v.max().item<double>();
  auto foreground = (v > lo + 0.05 * (hi - lo)).any(0);  // (D, H, W): any channel above the threshold
  std::vector<int64_t> other;
  for (int64_t d = 0; d < 3; ++d)
    if (d != axis - 1) other.push_back(d);
  auto fraction = foreground.to(torch::kFloat64).mean(other);
  std::vector<int64_t> keep;
  for (int64_t k = 0; k < fraction.size(0); ++k)
    if (fraction[k].item<double>() > min_fraction) keep.push_back(k);
  return keep;
}

/// Runs `work(k)` for k in [0, n) on up to `threads` threads; the first exception is rethrown after all have stopped.
template <typename Work>
void parallel_cases(size_t n, int threads, Work work) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&] {
    for (size_t k; !failed && (k = next++) < n;) {
      try {
        work(k);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const size_t count = std::min(n, static_cast<size_t>(std::max(threads, 1)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < count; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

/// The preload budget: the option, else MEDSSL_PRELOAD_LIMIT, else half of what the process may still allocate
/// (the other half is for the model, the optimiser and the batches in flight).
uint64_t preload_limit(const ImageSetOptions& o) {
  if (o.preload_limit_bytes > 0) return o.preload_limit_bytes;
  const char* env = std::getenv("MEDSSL_PRELOAD_LIMIT");
  if (env && *env) return parse_byte_size(env, "the environment variable MEDSSL_PRELOAD_LIMIT");
  const auto available = available_memory_bytes();
  return available ? *available / 2 : ~uint64_t{0};
}

/// True if the chosen cases' files (stored size, as they are held in RAM) fit in the preload budget; else a warning.
bool fits_in_memory(const cache::Cache& cache, const std::vector<int64_t>& chosen, const ImageSetOptions& o) {
  uint64_t bytes = 0;
  for (int64_t c : chosen) {
    const auto& cc = cache.cases[static_cast<size_t>(c)];
    std::error_code ec;
    bytes += std::filesystem::file_size(cc.image_file, ec);
    if (o.labels && !cc.label_file.empty()) bytes += std::filesystem::file_size(cc.label_file, ec);
  }
  const uint64_t limit = preload_limit(o);
  if (bytes <= limit) return true;
  log::warn("image set {}: the {} chosen cases hold {:.1f} MiB, more than the {:.1f} MiB that may be preloaded; each "
            "case is read from the cache when it is used (slower; MEDSSL_PRELOAD_LIMIT sets the limit)",
            cache.dir, chosen.size(), bytes / 1048576.0, limit / 1048576.0);
  return false;
}

}  // namespace

ImageSet ImageSet::from_cache(const cache::Cache& cache, const ImageSetOptions& options) {
  const auto& o = options;
  const int cache_dims = cache.spatial_dims();
  check(o.spatial_dims == 2 || o.spatial_dims == 3, "image set: spatial_dims must be 2 or 3, got {}", o.spatial_dims);
  check(!(o.spatial_dims == 3 && cache_dims == 2),
        "image set: cache {} holds 2D pictures, but 3D volumes were asked for (spatial_dims 3)", cache.dir);
  const bool slicing = o.spatial_dims == 2 && cache_dims == 3;
  if (slicing)
    check(o.slice_axis >= 1 && o.slice_axis <= 3, "image set: slice_axis must be 1 (D), 2 (H) or 3 (W), got {}",
          o.slice_axis);
  check(o.min_foreground >= 0.0 && o.min_foreground < 1.0, "image set: min_foreground must be in [0, 1), got {}",
        o.min_foreground);
  check(o.min_foreground == 0.0 || slicing,
        "image set: min_foreground selects slices of volumes; it does not apply to {} (spatial_dims {})",
        cache_dims == 2 ? "2D pictures" : "whole volumes", o.spatial_dims);
  check(o.threads >= 0, "image set: threads must be >= 0, got {}", o.threads);
  check(!o.splits.empty(), "image set: no cache splits selected (use some of: {})", join(kSplitNames));
  for (const auto& s : o.splits)
    check(std::find(kSplitNames.begin(), kSplitNames.end(), s) != kSplitNames.end(),
          "image set: unknown split '{}' (use: {})", s, join(kSplitNames));

  std::vector<int64_t> chosen;
  for (size_t c = 0; c < cache.cases.size(); ++c)
    if (std::find(o.splits.begin(), o.splits.end(), cache.cases[c].split) != o.splits.end())
      chosen.push_back(static_cast<int64_t>(c));
  check(!chosen.empty(), "image set: cache {} has no cases in the splits {}", cache.dir, join(o.splits));
  const bool preload = o.preload && fits_in_memory(cache, chosen, o);

  auto store = std::make_shared<Store>();
  store->dir = cache.dir;
  store->cases = cache.cases;
  store->preloaded = preload;
  store->with_labels = o.labels;

  ImageSet set;
  set.spatial_dims_ = o.spatial_dims;
  set.slice_axis_ = slicing ? o.slice_axis : 0;
  set.channels_ = cache.cases[static_cast<size_t>(chosen[0])].shape.at(0);
  for (int64_t c : chosen) {
    const auto& cc = cache.cases[static_cast<size_t>(c)];
    check(static_cast<int>(cc.shape.size()) == cache_dims + 1, "cache {}: case '{}' has shape rank {}, expected {}",
          cache.dir, cc.id, cc.shape.size(), cache_dims + 1);
    check(cc.shape[0] == set.channels_, "cache {}: case '{}' has {} channels, others {}", cache.dir, cc.id, cc.shape[0],
          set.channels_);
  }

  // Reading: everything when preloading; otherwise only to find foreground slices (the data is then dropped).
  const bool scan = slicing && o.min_foreground > 0.0;
  std::vector<std::vector<int64_t>> kept(chosen.size());
  if (preload || scan) {
    if (preload) {
      store->images.resize(cache.cases.size());
      if (o.labels) store->labels.resize(cache.cases.size());
    }
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
    Progress progress(fmt::format("{} {}", preload ? "loading" : "scanning", cache.dir),
                      static_cast<int64_t>(chosen.size()), "cases");
    std::mutex progress_mutex;
    parallel_cases(chosen.size(), threads, [&](size_t k) {
      const auto c = static_cast<size_t>(chosen[k]);
      const auto& cc = cache.cases[c];
      torch::Tensor image = read_checked(cc.image_file, cc.shape);
      if (scan) kept[k] = foreground_slices(image, o.slice_axis, o.min_foreground);
      if (preload) {
        store->images[c] = image;
        if (o.labels && !cc.label_file.empty()) store->labels[c] = read_label(cc);
      }
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.advance(1, cc.id);
    });
    progress.finish();
  }

  for (size_t k = 0; k < chosen.size(); ++k) {
    const auto& cc = cache.cases[static_cast<size_t>(chosen[k])];
    if (!slicing) {
      set.items_.push_back({chosen[k], -1});
      continue;
    }
    if (!scan) {
      kept[k].resize(static_cast<size_t>(cc.shape[static_cast<size_t>(o.slice_axis)]));
      std::iota(kept[k].begin(), kept[k].end(), int64_t{0});
    }
    for (int64_t s : kept[k]) set.items_.push_back({chosen[k], s});
  }
  check(!set.items_.empty(), "image set: no slice of cache {} has a foreground fraction above min_foreground {}",
        cache.dir, o.min_foreground);
  if (slicing)
    log::info("image set {}: {} slices along axis {} of {} volumes{}", cache.dir, set.items_.size(), o.slice_axis,
              chosen.size(), scan ? fmt::format(" (foreground fraction > {})", o.min_foreground) : "");
  set.store_ = std::move(store);
  set.find_common_shape();
  return set;
}

void ImageSet::find_common_shape() {
  common_shape_.clear();
  for (size_t k = 0; k < items_.size(); ++k) {
    const auto& full = store_->cases[static_cast<size_t>(items_[k].case_index)].shape;
    std::vector<int64_t> shape;
    for (size_t d = 1; d < full.size(); ++d)
      if (static_cast<int>(d) != slice_axis_) shape.push_back(full[d]);
    if (k == 0) {
      common_shape_ = shape;
    } else if (shape != common_shape_) {
      common_shape_.clear();
      return;
    }
  }
}

const ImageSet::Item& ImageSet::item(int64_t i) const {
  check(i >= 0 && i < size(), "image set {}: item {} is out of range (size {})", store_->dir, i, size());
  return items_[static_cast<size_t>(i)];
}

torch::Tensor ImageSet::stored_image(int64_t case_index) const {
  const auto& cc = store_->cases[static_cast<size_t>(case_index)];
  if (store_->preloaded) return store_->images[static_cast<size_t>(case_index)];
  return read_checked(cc.image_file, cc.shape);
}

torch::Tensor ImageSet::image(int64_t i) const {
  const Item& it = item(i);
  torch::Tensor t = stored_image(it.case_index);
  if (it.slice >= 0) t = t.select(slice_axis_, it.slice);
  // Always a fresh float32 copy: callers may augment in place without touching the preloaded data.
  auto out = torch::empty(t.sizes(), torch::kFloat32);
  out.copy_(t);
  return out;
}

torch::Tensor ImageSet::label(int64_t i) const {
  const Item& it = item(i);
  check(store_->with_labels, "image set {}: labels were not loaded (set ImageSetOptions::labels)", store_->dir);
  const auto& cc = store_->cases[static_cast<size_t>(it.case_index)];
  if (cc.label_file.empty()) return {};
  torch::Tensor t = store_->preloaded ? store_->labels[static_cast<size_t>(it.case_index)] : read_label(cc);
  if (it.slice >= 0) t = t.select(slice_axis_, it.slice);
  auto out = torch::empty(t.sizes(), torch::kInt64);
  out.copy_(t);
  return out;
}

int64_t ImageSet::case_of(int64_t i) const { return item(i).case_index; }

std::string ImageSet::id(int64_t i) const {
  const Item& it = item(i);
  const std::string& case_id = store_->cases[static_cast<size_t>(it.case_index)].id;
  return it.slice < 0 ? case_id : fmt::format("{}_slice{}", case_id, it.slice);
}

int ImageSet::grade(int64_t i) const { return store_->cases[static_cast<size_t>(item(i).case_index)].grade; }

int64_t ImageSet::slice_of(int64_t i) const { return item(i).slice; }

std::vector<int64_t> ImageSet::spatial_shape() const {
  check(!items_.empty(), "image set {}: empty, it has no shape", store_->dir);
  check(!common_shape_.empty(),
        "image set {}: the items have different spatial shapes (prepare the cache with a fixed size)", store_->dir);
  return common_shape_;
}

int64_t ImageSet::side() const {
  auto shape = spatial_shape();
  check(std::all_of(shape.begin(), shape.end(), [&](int64_t s) { return s == shape[0]; }),
        "image set {}: items of shape {} are not square/cubic, so they have no single side", store_->dir,
        fmt::join(shape, "x"));
  return shape[0];
}

const std::string& ImageSet::cache_dir() const { return store_->dir; }

ImageSet ImageSet::subset(const std::vector<int64_t>& indices) const {
  ImageSet out;
  out.store_ = store_;
  out.spatial_dims_ = spatial_dims_;
  out.slice_axis_ = slice_axis_;
  out.channels_ = channels_;
  out.items_.reserve(indices.size());
  for (int64_t i : indices) out.items_.push_back(item(i));
  out.find_common_shape();
  return out;
}

}  // namespace medssl::data
