#pragma once
// The manifest (weights/manifest.h) of a finetuning run: stored in its checkpoints and checkpoints/last.json, and, with
// the final test metrics, in OUT/model.pt and OUT/model.manifest.json. Beside the common fields it names the
// finetuned network (architecture = the FinetuneModelSpec's, also under the legacy key "model"), its encoder in the
// registry's terms (so that a later finetune can start from model.pt with --init-weights), the task and mode, and
// where the initial weights came from (initial_weights, with the pretext method of their manifest).
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/data/cache/prepare.h"
#include "medssl/finetune/finetune_model.h"
#include "medssl/finetune/weights_source.h"

namespace medssl::finetune {

/// "unet_encoder", "densenet121", "swin_encoder" or "vit": the encoder of a finetuning architecture.
std::string encoder_architecture(const FinetuneModelSpec& spec);

struct FinetuneManifestInputs {
  const FinetuneModelSpec* spec = nullptr;
  std::string encoder_prefix;          ///< FinetuneModel::encoder_prefix()
  std::string mode;                    ///< initialized | frozen | random
  int64_t patch_side = 0;              ///< the input side trained on (patch_size, or the image side)
  nlohmann::json preprocessing;        ///< the cache's prepare settings
  const cache::Cache* cache = nullptr;
  int64_t cases_used = 0;              ///< training cases
  uint64_t seed = 0;                   ///< the run seed
  const WeightsSource* source = nullptr;
  nlohmann::json config;               ///< the resolved finetune config
};

nlohmann::json finetune_manifest(const FinetuneManifestInputs& in);

}  // namespace medssl::finetune
