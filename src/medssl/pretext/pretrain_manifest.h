#pragma once
// The manifest (weights/manifest.h) of a pretraining run: stored in its checkpoints and checkpoints/last.json, and,
// with the final metrics, in RUN/encoder.pt, encoder_best.pt and snapshots (embedded, and as STEM.manifest.json).
// It keeps the keys `medssl finetune --pretrained RUN` has always read (algorithm, spatial_dims, in_channels, data_dim,
// encoder, encoder_options, preprocessing) and adds the common ones: architecture (= the encoder, whose tensors are
// named "encoder.*" in the files), patch_size, target spacing, intensity, axis convention, the pretext method with the
// run's config, the training data, the seed, versions.
#include <nlohmann/json.hpp>

#include "medssl/config/config.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

/// The run's manifest without final metrics (final_metrics null). `training_images` counts the images trained on.
nlohmann::json pretrain_manifest(const config::Config& c, const TaskSpec& spec, const cache::Cache& cache,
                                 int64_t training_images);

}  // namespace medssl::pretext
