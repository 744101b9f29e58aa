#pragma once
// The images of a prepared cache as a list of training items: whole volumes / pictures, or the 2D slices of 3D
// volumes when the consumer works in 2D (the reference's pancreas2d: slices of the 128^3 volumes).
//
// Slicing: a (C, D, H, W) volume cut along `slice_axis` gives (C, *the two other axes) items. Our volumes are RAS+ with
// D = NIfTI k, H = j, W = i (docs/design.md, "Axis convention"). The reference cut its (i, j, k) nibabel arrays along
// array axis 2 = k, which is our D (axis 1), so the default slice_axis 1 gives the reference's axial slices (for
// axially acquired scans k is the slice axis both before and after reorientation to RAS+).
//
// Memory: `preload` reads every case once (several threads, a progress line) and keeps it in its stored type (float16
// caches stay half size in RAM); image() converts to float32. Without preload image() reads the case file on every
// call (for a slice, the whole volume), which saves RAM at the price of I/O; a cache too large for the memory
// available streams that way automatically (ImageSetOptions::preload_limit_bytes).
//
// Thread safety: after construction every accessor is const and may be called from several threads at once (the
// batch-building workers of a ThreadedBatchSource). Subsets share the loaded data.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/data/cache/prepare.h"

namespace medssl::data {

struct ImageSetOptions {
  int spatial_dims = 3;  ///< what the consumer wants: 3 (volumes of a 3D cache) or 2 (pictures, or slices of volumes)
  std::vector<std::string> splits{"training", "test", "unlabelled"};  ///< cache splits to use (names as in cache.json)
  int slice_axis = 1;  ///< axis of (C, D, H, W) cut into slices for spatial_dims 2 over a 3D cache: 1 = D (reference)
  /// Slices only: keep a slice when the fraction of its voxels above 5 % of the volume's intensity range
  /// (min + 0.05 * (max - min), = 0.05 * max for the reference's min-max normalised volumes; any channel counts)
  /// exceeds this. 0 keeps every slice.
  double min_foreground = 0.0;
  /// Load everything into RAM at construction, if it fits: when the chosen cases' files hold more than
  /// `preload_limit_bytes`, the set reads each case from the cache when it is used instead (a warning says so), so a
  /// data set larger than RAM trains, at the price of I/O.
  bool preload = true;
  /// 0 = automatic: the environment variable MEDSSL_PRELOAD_LIMIT ("2G", ...) if set, else half the memory
  /// available to the process (core/memory_info.h).
  uint64_t preload_limit_bytes = 0;
  int threads = 0;      ///< reader threads for preload / foreground scan; 0 = hardware threads (at most 8)
  bool labels = false;  ///< also provide label maps (label()); preloaded with the images when `preload`
};

class ImageSet {
 public:
  /// The items of `cache` in cache order (cases in cache.json order, slices in increasing index).
  static ImageSet from_cache(const cache::Cache& cache, const ImageSetOptions& options = {});

  int64_t size() const { return static_cast<int64_t>(items_.size()); }
  /// Item `i` as (C, *spatial) float32, contiguous, owning its memory (safe to modify).
  torch::Tensor image(int64_t i) const;
  /// Item `i`'s label map as int64 (1, *spatial) (stored like the image, see Cache::load_label; sliced like it), or
  /// an undefined tensor for an unlabelled case. Needs ImageSetOptions::labels.
  torch::Tensor label(int64_t i) const;
  /// Index of the cache case item `i` comes from; all slices of one volume share it.
  int64_t case_of(int64_t i) const;
  /// The case id, with "_slice<k>" appended for a slice.
  std::string id(int64_t i) const;
  /// The case's classification grade (APTOS diagnosis), -1 if none.
  int grade(int64_t i) const;
  /// Slice index along the slice axis, -1 for a whole volume / picture.
  int64_t slice_of(int64_t i) const;

  int spatial_dims() const { return spatial_dims_; }
  int64_t channels() const { return channels_; }
  /// Spatial shape shared by all items; medssl::Error if the items differ (cache prepared without `size`).
  std::vector<int64_t> spatial_shape() const;
  /// The side of the square / cubic items; medssl::Error if they are not all the same square or cube.
  int64_t side() const;
  /// Axis of (C, D, H, W) the items were cut along, 0 when they are not slices.
  int slice_axis() const { return slice_axis_; }
  const std::string& cache_dir() const;

  /// The items at `indices` (in that order; repeats allowed), sharing this set's loaded data.
  ImageSet subset(const std::vector<int64_t>& indices) const;

 private:
  ImageSet() = default;  // from_cache() or subset()
  struct Store;
  struct Item {
    int64_t case_index = 0;  ///< into the cache's case list
    int64_t slice = -1;      ///< -1: the whole case
  };
  const Item& item(int64_t i) const;
  torch::Tensor stored_image(int64_t case_index) const;  // the case's (C, *spatial) tensor in its stored type

  std::shared_ptr<const Store> store_;
  std::vector<Item> items_;
  int spatial_dims_ = 3;
  int slice_axis_ = 0;
  int64_t channels_ = 0;
  std::vector<int64_t> common_shape_;  // empty when the items' spatial shapes differ
  void find_common_shape();
};

}  // namespace medssl::data
