#pragma once
// Transfer of pretrained transformer weights by parameter name, as the MONAI SSL tutorial does when it fine-tunes
// UNETR from a ViTAutoEnc checkpoint (design/reference/iou_and_monai_ssl.md B.6): keep the source entries whose names
// exist in model.vit's state_dict (patch_embedding.*, blocks.*, norm.* - ViT and ViTAutoEnc share these attribute
// names), drop the rest (conv3d_transpose*), load them into the ViT; the UNETR decoder keeps its initialisation.
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/models/unetr.h"
#include "medssl/models/vit_autoenc.h"

namespace medssl::models {

struct WeightTransferReport {
  std::vector<std::string> copied;   ///< source names copied into the target (same name in both)
  std::vector<std::string> skipped;  ///< source names the target does not have (left out)
  std::vector<std::string> missing;  ///< target names no source entry provided (left as they were)
};

/// Copies every parameter and buffer of `source` into the equally named one of `target` (no autograd). A name present
/// in both with different shapes throws medssl::Error naming the entry and both shapes; nothing is copied then.
WeightTransferReport transfer_matching_weights(const torch::nn::Module& source, torch::nn::Module& target);

/// The tutorial's ViTAutoEnc -> UNETR.vit transfer (names reported without the "vit." prefix).
WeightTransferReport load_vit_into_unetr(const ViTAutoEnc& source, UNETR& target);

}  // namespace medssl::models
