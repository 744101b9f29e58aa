#include "medssl/finetune/predict_contract.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "medssl/core/log.h"
#include "medssl/weights/contract.h"
#include "medssl/weights/manifest.h"
#include "medssl/weights/weights_file.h"

namespace medssl::finetune {

using json = nlohmann::json;

namespace {

constexpr double kSpacingTolerance = 0.10;  // relative, per axis

}  // namespace

PredictContract::PredictContract(const std::string& model_dir, const ModelDescription& d, bool strict)
    : strict_(strict), where_(fmt::format("predict with {}", model_dir)) {
  const std::string weights_path = model_dir + "/model.pt";
  if (std::filesystem::exists(weights_path)) manifest_ = weights::read_weights_manifest(weights_path);
  if (!manifest_.is_object()) {  // models written before manifests: what model.json records
    manifest_ = weights::input_contract(d.spec.spatial_dims, d.spec.in_channels,
                                        d.patch_size > 0 ? d.patch_size : d.data_dim, d.preprocessing);
  }
  const json target = manifest_.value("target_spacing", json());
  log::info("{}: preprocessing from the model: spacing {}, window {}, normalize {}, size {}", where_,
            target.is_null() ? "not resampled" : target.dump(),
            manifest_.contains("intensity") ? manifest_["intensity"].value("window", json()).dump() : "null",
            manifest_.contains("intensity") ? manifest_["intensity"].value("normalize", json()).dump() : "null",
            d.preprocessing.value("size", json()).dump());
  const json run = {{"axis_convention", weights::kAxisConvention}};
  weights::enforce_contract(weights::compare_contract(manifest_, run), strict_, where_);
}

void PredictContract::check_volume(const std::string& case_id, const std::array<double, 3>& spacing) const {
  if (!manifest_.value("target_spacing", json()).is_null()) return;  // resampled like the training data
  const json trained =
      manifest_.contains("training_data") ? manifest_["training_data"].value("spacing", json()) : json();
  if (!trained.is_array() || trained.size() != 3) return;
  bool differs = false;
  for (size_t a = 0; a < 3; ++a) {
    const double t = trained[a].get<double>();
    differs = differs || std::fabs(spacing[a] - t) > kSpacingTolerance * std::max(t, 1e-9);
  }
  if (!differs) return;
  weights::ContractDifference d{"source_spacing", trained, json(spacing), ""};
  d.note = fmt::format("case {}: the model's preprocessing does not resample, and its training data had this median "
                       "spacing; set prepare.spacing when finetuning, or resample the input", case_id);
  weights::enforce_contract({d}, strict_, where_);
}

}  // namespace medssl::finetune
