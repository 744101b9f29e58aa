#pragma once
// SimSiam's symmetric negative cosine similarity with stop-gradient (Chen & He 2021; lightly 1.4.13
// NegativeCosineSimilarity, eps 1e-8, as dittohed/exploring-ssl-for-ct uses it):
//   D(p, z) = -mean_batch cos(p, sg(z)),   cos(a, b) = a.b / max(|a| |b|, eps)
//   L = 0.5 * D(p1, z2) + 0.5 * D(p2, z1)
// sg = stop-gradient: z1, z2 are detached here, so gradients reach the encoder only through the predictor outputs.
// Range [-1, 1]; -1 when every prediction points along the other view's projection.
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

/// -mean over the batch of cos(p, z.detach()); p, z (N, D).
torch::Tensor negative_cosine(const torch::Tensor& p, const torch::Tensor& z, double eps = 1e-8);

/// The symmetric SimSiam loss of two views' predictions p1, p2 and projections z1, z2 (all (N, D)).
torch::Tensor simsiam_loss(const torch::Tensor& p1, const torch::Tensor& p2, const torch::Tensor& z1,
                           const torch::Tensor& z2);

/// Collapse monitor of the reference: max(0, 1 - sqrt(D) * mean over channels of the std over the batch of the
/// L2-normalised outputs): 0 for well-spread outputs, 1 when every sample maps to the same direction.
double collapse_level(const torch::Tensor& outputs);

}  // namespace medssl::losses
