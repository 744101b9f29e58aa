#pragma once
// `medssl predict` and the preprocessing contract of the model it applies (weights/contract.h): new images are
// preprocessed exactly as the training data was (the model's recorded `prepare` settings), so what can still differ
// is the images themselves. Checked here:
//   - the model's manifest (OUT/model.pt, or for models of older medssl versions one rebuilt from model.json) must
//     use medssl's axis convention (RAS+, C-D-H-W); a foreign one is a difference;
//   - when the preprocessing does not resample (no target spacing), each volume's voxel spacing is compared with the
//     median spacing of the training data: more than 10 % apart on an axis is a difference (the network then sees
//     structures at another scale than it was trained on).
// Each difference is a warning naming the case, or with strict (--strict-contract) an error.
#include <array>
#include <nlohmann/json.hpp>
#include <string>

#include "medssl/finetune/model_files.h"

namespace medssl::finetune {

class PredictContract {
 public:
  /// Reads the manifest of DIR/model.pt; checks the model-wide part.
  PredictContract(const std::string& model_dir, const ModelDescription& description, bool strict);

  /// Checks one volume's voxel spacing (mm, D-H-W) before it is predicted.
  void check_volume(const std::string& case_id, const std::array<double, 3>& spacing) const;

  const nlohmann::json& manifest() const { return manifest_; }

 private:
  nlohmann::json manifest_;
  bool strict_ = false;
  std::string where_;
};

}  // namespace medssl::finetune
