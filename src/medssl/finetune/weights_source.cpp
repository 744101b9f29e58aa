#include "medssl/finetune/weights_source.h"

#include <filesystem>

#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/weights/weights_file.h"

namespace medssl::finetune {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string pretrained_encoder_file(const std::string& pretrained, const std::string& which) {
  const std::string best = pretrained + "/encoder_best.pt", last = pretrained + "/encoder.pt";
  if (which == "best" && fs::exists(best)) return best;
  if (which == "best") log::warn("--pretrained {}: no encoder_best.pt, using encoder.pt", pretrained);
  check(fs::exists(last), "--pretrained {}: no encoder.pt (did the pretraining finish?)", pretrained);
  return last;
}

bool describes(const json& m) { return m.is_object() && m.contains("encoder") && m.contains("spatial_dims"); }

}  // namespace

bool WeightsSource::describes_encoder() const { return describes(manifest); }

WeightsSource find_weights_source(const std::string& pretrained, const std::string& init_weights,
                                  const std::string& which) {
  WeightsSource s;
  const bool run = !pretrained.empty() && pretrained != "none";
  check(!(run && !init_weights.empty()), "finetune: give --pretrained RUN_DIR or --init-weights FILE, not both");
  if (run) {
    check(fs::is_directory(pretrained),
          "--pretrained {}: no such directory (give a `medssl pretrain` run folder or none)", pretrained);
    const std::string path = pretrained + "/checkpoints/last.json";
    check(fs::exists(path), "--pretrained {}: not a medssl pretrain run (no checkpoints/last.json)", pretrained);
    json last = config::read_json_file(path);
    json run_manifest = last.contains("manifest") ? last.at("manifest") : last;
    check(describes(run_manifest), "--pretrained {}: {} describes no pretrained encoder (no \"encoder\" / "
          "\"spatial_dims\")", pretrained, path);
    s.kind = "pretrain_run";
    s.label = "--pretrained " + pretrained;
    s.file = pretrained_encoder_file(pretrained, which);
    // The encoder file's own manifest carries the final metrics; runs of older medssl versions have only last.json.
    json own = weights::read_weights_manifest(s.file);
    s.manifest = describes(own) ? own : run_manifest;
    return s;
  }
  if (!init_weights.empty()) {
    s.kind = "file";
    s.label = "--init-weights";
    s.file = init_weights;
    check(fs::is_regular_file(init_weights), "--init-weights {}: no such file", init_weights);
    s.manifest = weights::read_weights_manifest(init_weights);
  }
  return s;
}

const std::vector<std::string>& inherited_prepare_keys() {
  static const std::vector<std::string> keys = {"spacing", "window", "normalize", "crop_foreground", "resize_mode"};
  return keys;
}

json prepare_settings_for(const json& config_prepare, const json& manifest) {
  json settings = config_prepare.is_object() ? config_prepare : json::object();
  if (!manifest.is_object() || !manifest.contains("preprocessing") || !manifest.at("preprocessing").is_object())
    return settings;
  const json& weights = manifest.at("preprocessing");
  for (const auto& key : inherited_prepare_keys()) {
    if (settings.contains(key) || !weights.contains(key) || weights.at(key).is_null()) continue;
    settings[key] = weights.at(key);
    log::info("finetune: prepare.{} = {} from the weights' manifest (set prepare.{} in the config to override)", key,
              weights.at(key).dump(), key);
  }
  return settings;
}

}  // namespace medssl::finetune
