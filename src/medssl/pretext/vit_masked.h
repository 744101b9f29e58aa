#pragma once
// Masked reconstruction with a ViT autoencoder (algorithm `vit_masked`): the MONAI self-supervised tutorial
// (Project-MONAI/tutorials self_supervised_pretraining/vit_unetr_ssl; spec: design/reference/iou_and_monai_ssl.md
// B.2-B.5). What the task (vit_masked.cpp) and the pretrain manifest (pretrain.cpp) share.
//
// Loss (B.4, B.5), for reconstructions r1 = model(view1), r2 = model(view2) of two corruptions of the SAME clean crop x
// (B samples, flattened to (B, F)):
//   l1  = mean_voxels |r1 - x|                                    (only view 1 is reconstructed)
//   cl  = MONAI ContrastiveLoss(temperature T) on (flat r1, flat r2)
//       = 1/(2B) sum_a -log( exp(s_a,pos(a) / T) / sum_{b != a} exp(s_ab / T) ),  s = cosine similarity over the 2B
//         rows of [r1; r2], pos(a) = a + B for a < B and a - B otherwise (losses/nt_xent.h computes exactly this)
//   total = l1 + cl * l1                                          (l1 is the contrastive term's weight; no detach, the
//                                                                  gradient flows through both factors)
// T = `temperature`, default 0.05 (the tutorial's code; its README's 0.005 is a typo, B.4).
#include <cstdint>

#include <nlohmann/json.hpp>

#include "medssl/core/torch_pch.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

struct MaskedReconstructionLoss {
  torch::Tensor total;        ///< l1 + contrastive * l1
  torch::Tensor l1;           ///< mean |recon1 - target1|
  torch::Tensor contrastive;  ///< NT-Xent of the flattened reconstructions
};

/// recon1, recon2, target1: (B, C, spatial...) of equal shape, B >= 1; temperature > 0.
MaskedReconstructionLoss masked_reconstruction_loss(const torch::Tensor& recon1, const torch::Tensor& recon2,
                                                    const torch::Tensor& target1, double temperature);

/// The task's crop side: `crop_size`, default data_dim when it is smaller than 96, else 96 (the tutorial's roi).
int64_t vit_masked_crop_size(const TaskSpec& spec);

/// The ViTAutoEnc options the pretrain manifest records as encoder_options (hidden_size, mlp_dim, num_heads,
/// num_layers, patch_size and img_size per spatial axis, qkv_bias false, out_channels, deconv_chns), so that
/// `medssl finetune` with prediction_architecture unetr builds a matching ViT. Validates the keys (errors name them).
nlohmann::json vit_masked_encoder_options(const TaskSpec& spec);

}  // namespace medssl::pretext
