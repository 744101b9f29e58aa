#pragma once
// Where a finetuning run's initial weights come from, and what they say about the input they expect:
//   --pretrained RUN       a `medssl pretrain` run folder: RUN/encoder_best.pt (or encoder.pt, pretrained_checkpoint)
//                          with the run's manifest (the encoder file's embedded one, else RUN/checkpoints/last.json)
//   --init-weights FILE    any weights file (weights_file.h): a medssl checkpoint or export, an encoder.pt, a
//                          Python torch.save state dict; its manifest if it has one
// The manifest decides the model (encoder architecture and options) when it describes one, and the preprocessing
// of a raw data set by default: the config's `prepare` keys it does not set are taken from the weights.
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/config/config.h"

namespace medssl::finetune {

struct WeightsSource {
  std::string kind = "none";  ///< none | pretrain_run | file
  std::string file;           ///< the weights file transferred into the model ("" for none)
  std::string label;          ///< "--pretrained RUN" / "--init-weights" (messages, transfer.json)
  nlohmann::json manifest;    ///< the weights' manifest, null if none

  bool empty() const { return kind == "none"; }
  /// True when the manifest says which encoder it holds ("encoder" and "spatial_dims"), so the model follows it.
  bool describes_encoder() const;
};

/// The source named by --pretrained (a run folder or "none") and --init-weights (a file or ""); medssl::Error for
/// both at once, a missing run folder or file, a run without checkpoints/last.json or encoder.pt.
/// `which` = pretrained_checkpoint (best | last).
WeightsSource find_weights_source(const std::string& pretrained, const std::string& init_weights,
                                  const std::string& which);

/// The `prepare` keys that follow the weights when the config does not set them.
const std::vector<std::string>& inherited_prepare_keys();

/// The config's `prepare` object completed from the manifest's preprocessing for inherited_prepare_keys() it does
/// not set (each one logged); unchanged without a manifest.
nlohmann::json prepare_settings_for(const nlohmann::json& config_prepare, const nlohmann::json& manifest);

}  // namespace medssl::finetune
