#pragma once
// The training-data part of a manifest (manifest.h): which data set the weights were trained on and how it looked
// before preprocessing, so that a later user can tell whether their data resembles it (predict compares the voxel
// spacing of new images with it when the weights' preprocessing does not resample).
#include <nlohmann/json.hpp>

#include "medssl/data/cache/prepare.h"

namespace medssl::weights {

/// {"name", "layout", "root", "spatial_dims", "cases", "cases_used", "spacing"}: the cache's data set, its number of
/// cases, how many of them the run trained on, and the per-axis median of the cases' original spacing (null for
/// pictures or when the cache does not record it).
nlohmann::json training_data_provenance(const cache::Cache& cache, int64_t cases_used);

}  // namespace medssl::weights
