#pragma once
// Shape adaptation of the weights transfer (transfer.h): a file tensor whose shape differs from the model's is
// reshaped by one of two documented rules, or not at all.
//
//  2D -> 3D kernels (I3D-style inflation): a k x k kernel [O, I, kh, kw] for a kd x kh x kw kernel
//    [O, I, kd, kh, kw] is copied kd times along depth and divided by kd. On a volume that is constant along depth the
//    3D layer then gives exactly the 2D layer's response on one slice. Convolutional networks (DenseNet, UNet) inflate
//    completely; transformers do not (their position embeddings and relative-position tables have other sizes, which
//    the transfer reports as unadaptable).
//  Input channels of the first layer: a kernel [O, Cfile, k...] for a model that takes Cmodel channels
//    ([O, Cmodel, k...], dimension 1 equal to the model's input channels) becomes, for every model channel, the sum of
//    the file's channel kernels divided by Cmodel. So 1 -> N replicates the kernel and rescales it by 1/N, N -> 1 sums
//    the kernels, and in every case an image whose channels are all equal gives exactly the response of the original
//    layer on one such channel.
// Both rules apply to floating-point tensors of at least 3 dimensions (convolution and patch-embedding kernels).
#include <optional>
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::weights {

struct Adaptation {
  torch::Tensor tensor;  ///< in the model's shape
  std::string how;       ///< e.g. "input channels 1 -> 2: channel kernels summed, divided by 2"
};

/// `source` in `target_shape` by the rules above (inflation first, then channels), or nullopt when they do not
/// apply. `model_in_channels` < 0 disables the channel rule.
std::optional<Adaptation> adapt_tensor(const torch::Tensor& source, c10::IntArrayRef target_shape,
                                       int64_t model_in_channels);

}  // namespace medssl::weights
