#pragma once
// Channels-last training: the convolution weights in channels-last memory format (N, [D,] H, W, C order in memory)
// so that oneDNN / cuDNN run their convolutions without reordering each activation to and from their preferred
// layout. Only the weights are converted: the first convolution then returns a channels-last activation, and every
// later layer follows it, so batches from the data loader need no change (and no step function sees other strides).
// Values never change; only how they are laid out (every op in the networks is stride-agnostic).
#include <string>

#include "medssl/core/torch_pch.h"

namespace medssl::train {

/// The training key `memory_format`: "auto" | "contiguous" | "channels_last"; throws medssl::Error (naming the key)
/// otherwise. auto chooses channels-last where it was measured faster (bench/RESULTS.md, "DenseNet-121 2D with
/// channels-last weights"):
///  - CPU: networks with a 2D DenseNet (DenseNet-121 2D at 224^2 batch 4 on 2 cores: a median 0.79x the PyTorch
///    step, against 0.99x contiguous in the full-size run; its 1x1 convolutions and concatenations run on NHWC
///    without reorders); not the UNets, whose 3D and 2D steps were 6 % slower;
///  - CUDA: every network with a convolution (2D and 3D, the layout cuDNN's tensor-core kernels want under AMP).
bool use_channels_last(const std::string& setting, torch::nn::Module& model, const torch::Device& device);

/// Converts every 4-D / 5-D floating parameter and buffer of `model` to channels-last (in place: the same Parameter
/// objects, so an optimiser built before keeps working).
void convert_to_channels_last(torch::nn::Module& model);

}  // namespace medssl::train
