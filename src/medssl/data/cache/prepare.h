#pragma once
// `medssl prepare`: preprocess a data set once into a cache that training reads fast.
//
// The cache is a folder (format documented in docs/cache-format.md):
//   cache.json            index: format name + version, the data set, the preprocessing settings, one entry per case
//   cases/<id>.image.bin  preprocessed image, (C, D, H, W) or (C, H, W), float16/float32 (tensor_file.h format)
//   cases/<id>.label.bin  label map, uint8, same spatial shape (labelled cases only)
//   cases/<id>.json       the case's entry; written last, so its presence means the case is complete
// Every file is written atomically; a killed `prepare` resumes where it stopped (finished cases are skipped).
// Staleness: each case records its source files' size and modification time, and the cache records the settings; a
// consumer asking for other settings, or finding a changed source file, gets an error telling it to re-prepare.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/config/config.h"
#include "medssl/core/torch_pch.h"
#include "medssl/data/layouts/dataset_index.h"

namespace medssl::cache {

using json = nlohmann::json;

/// The preprocessing keys (validated like every config; `medssl prepare --config F --set k=v` or flags).
const config::Schema& prepare_schema();

/// Preprocesses `dataset` (any layout open_dataset reads) into `out` with validated settings `settings`.
/// Returns the index (cache.json content).
json prepare_cache(const std::string& dataset, const std::string& out, const config::Config& settings);

/// One case of an opened cache.
struct CachedCase {
  std::string id;
  std::string split;       ///< "training", "test" or "unlabelled"
  std::string image_file;  ///< absolute
  std::string label_file;  ///< absolute, "" if unlabelled
  int grade = -1;
  std::vector<int64_t> shape;  ///< (C, *spatial)
};

struct Cache {
  std::string dir;
  json index;
  std::vector<CachedCase> cases;

  int spatial_dims() const { return index.at("dataset").at("spatial_dims").get<int>(); }
  int num_classes() const;
  /// Reads a case's image (float32) and label (int64, or undefined tensor) with checksum verification.
  torch::Tensor load_image(size_t i) const;
  torch::Tensor load_label(size_t i) const;
};

/// Opens a cache. Errors (naming the file) for a missing/corrupt/foreign cache.json, an old format version, and — when
/// `check_sources` — a source file whose size or modification time changed since `prepare` (stale cache).
Cache open_cache(const std::string& dir, bool check_sources = true);

/// True if `dir` holds a cache.json.
bool is_cache_dir(const std::string& dir);

/// What training commands do with their `data_dir`: open it if it is a cache, else prepare it into `cache_dir`
/// (resuming or reusing an earlier preparation there) with the prepare keys in `settings`, whose `size` defaults to
/// `default_size`, and open that. Errors name `data_dir` if it does not exist.
Cache open_or_prepare_cache(const std::string& data_dir, const std::string& cache_dir, json settings,
                            int64_t default_size);

}  // namespace medssl::cache
