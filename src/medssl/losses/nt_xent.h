#pragma once
// NT-Xent, SimCLR's normalised temperature-scaled cross-entropy (Chen et al. 2020), also MONAI's ContrastiveLoss:
// the 2N outputs of two views are L2-normalised, s_ij = cos(u_i, u_j) / T, and for every sample i its positive is
// the other view of the same image:
//   l_i = -log( exp(s_i,pos(i)) / sum_{k != i} exp(s_ik) ),   L = mean over the 2N samples
// Chance level log(2N - 1); accuracy = fraction of samples whose most similar other sample is their positive.
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

struct NtXentOutput {
  torch::Tensor loss;
  double accuracy = 0.0;
};

/// z1, z2: (N, D) outputs of view 1 and view 2 (row i of both from the same image), N >= 1; temperature > 0.
NtXentOutput nt_xent_loss(const torch::Tensor& z1, const torch::Tensor& z2, double temperature);

}  // namespace medssl::losses
