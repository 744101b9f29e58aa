#pragma once
// A finetuned model on disk: DIR/model.pt (state dict, loadable from Python with torch.load) and DIR/model.json
// (everything needed to rebuild and apply it: the FinetuneModelSpec, the cache's preprocessing settings, image side,
// slice axis for 2D models of volumes, sliding-window settings, the ids of the cases it was tested on, and the run's
// mode / fraction / repetition for reference).
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/finetune/finetune_model.h"

namespace medssl::finetune {

struct ModelDescription {
  FinetuneModelSpec spec;
  nlohmann::json preprocessing;  ///< the `prepare` settings of the cache it was trained on
  int64_t data_dim = 0;          ///< image side
  int slice_axis = 0;            ///< > 0: a 2D model applied to slices of volumes along this axis of (C, D, H, W)
  int64_t patch_size = 0;
  double sw_overlap = 0.25;
  nlohmann::json test_cases = nlohmann::json::array();  ///< case ids finetune tested on
  nlohmann::json extra = nlohmann::json::object();      ///< mode, fraction, repetition, pretrained, ...

  nlohmann::json to_json() const;
  static ModelDescription from_json(const nlohmann::json& j, const std::string& source);
};

/// Writes DIR/model.pt (with `manifest` embedded, and as DIR/model.manifest.json; weights/manifest.h) and
/// DIR/model.json.
void save_model(const FinetuneModel& model, const ModelDescription& description, const std::string& dir,
                const nlohmann::json& manifest);

struct LoadedModel {
  FinetuneModel model;
  ModelDescription description;
};

/// Rebuilds the model of DIR/model.json and loads DIR/model.pt strictly.
LoadedModel load_model(const std::string& dir);

}  // namespace medssl::finetune
