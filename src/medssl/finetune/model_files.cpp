#include "medssl/finetune/model_files.h"

#include <filesystem>

#include "medssl/config/config.h"
#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/weights/init_weights.h"
#include "medssl/weights/state_dict_io.h"
#include "medssl/weights/manifest.h"

namespace medssl::finetune {

namespace fs = std::filesystem;
using json = nlohmann::json;

json ModelDescription::to_json() const {
  return {{"format", "medssl-finetuned-model"},
          {"version", 1},
          {"model", spec.to_json()},
          {"preprocessing", preprocessing},
          {"data_dim", data_dim},
          {"slice_axis", slice_axis},
          {"patch_size", patch_size},
          {"sw_overlap", sw_overlap},
          {"num_classes", spec.num_outputs},
          {"test_cases", test_cases},
          {"run", extra}};
}

ModelDescription ModelDescription::from_json(const json& j, const std::string& source) {
  check(j.value("format", "") == "medssl-finetuned-model", "{}: not a medssl finetuned model description", source);
  ModelDescription d;
  d.spec = FinetuneModelSpec::from_json(j.at("model"), source);
  d.preprocessing = j.value("preprocessing", json());
  d.data_dim = j.value("data_dim", int64_t{0});
  d.slice_axis = j.value("slice_axis", 0);
  d.patch_size = j.value("patch_size", int64_t{0});
  d.sw_overlap = j.value("sw_overlap", 0.25);
  d.test_cases = j.value("test_cases", json::array());
  d.extra = j.value("run", json::object());
  return d;
}

void save_model(const FinetuneModel& model, const ModelDescription& description, const std::string& dir,
                const json& manifest) {
  make_dirs(dir);
  // The torch.save format that both Python (weights_only) and read_torch_save read back, with the manifest.
  weights::save_weights(weights::state_dict(*model.module), dir + "/model.pt", manifest);
  write_file_atomic(dir + "/model.json", description.to_json().dump(2) + "\n");
}

LoadedModel load_model(const std::string& dir) {
  const std::string json_path = dir + "/model.json", weights_path = dir + "/model.pt";
  check(fs::exists(json_path), "--model {}: no model.json (give the --out folder of a finished medssl finetune)", dir);
  check(fs::exists(weights_path), "--model {}: no model.pt", dir);
  LoadedModel loaded;
  loaded.description = ModelDescription::from_json(config::read_json_file(json_path), json_path);
  loaded.model = build_finetune_model(loaded.description.spec);
  weights::init_weights(*loaded.model.module, weights_path);
  return loaded;
}

}  // namespace medssl::finetune
