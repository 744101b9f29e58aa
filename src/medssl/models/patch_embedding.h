#pragma once
// MONAI's PatchEmbeddingBlock with proj_type "conv" and pos_embed_type "learnable"
// (monai/networks/blocks/patchembedding.py):
//   Conv{2,3}d(in, hidden, kernel = stride = patch) -> flatten the patch grid to tokens (row-major over the spatial
//   axes, (B, n_patches, hidden)) -> + position_embeddings (1, n_patches, hidden) -> dropout.
// Parameter names as in MONAI: `patch_embeddings.weight/bias` (the conv itself, no wrapper) and
// `position_embeddings`. position_embeddings ~ trunc_normal(mean 0, std .02, cut at the ABSOLUTE bounds [-2, 2]),
// which at std .02 is in effect an untruncated normal. The conv keeps PyTorch's default initialisation (MONAI's
// _init_weights touches only Linear/LayerNorm layers, of which this block has none).
#include <cstdint>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::models {

/// MONAI's ensure_tuple_rep: a single value is repeated `spatial_dims` times; otherwise the size must match.
/// Every value must be positive. `what` names the option in the error message.
std::vector<int64_t> expand_spatial(const std::vector<int64_t>& values, int spatial_dims, const std::string& what);

/// Conv{2,3}d or ConvTranspose{2,3}d with kernel = stride = `kernel` per axis, no padding, with bias (PyTorch default
/// initialisation). Used for patchifying and for ViTAutoEnc's un-patchifying deconvolutions.
torch::nn::AnyModule make_patch_conv(int spatial_dims, int64_t in_channels, int64_t out_channels,
                                     const std::vector<int64_t>& kernel, bool transposed);

/// In-place truncated normal with absolute bounds [a, b] (torch.nn.init.trunc_normal_ semantics), no autograd.
void trunc_normal_absolute_(torch::Tensor tensor, double mean, double std, double a, double b);

struct PatchEmbeddingOptions {
  PatchEmbeddingOptions(int64_t in_channels, std::vector<int64_t> img_size, std::vector<int64_t> patch_size,
                        int64_t hidden_size)
      : in_channels_(in_channels),
        img_size_(std::move(img_size)),
        patch_size_(std::move(patch_size)),
        hidden_size_(hidden_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(std::vector<int64_t>, img_size);    ///< one value (isotropic) or spatial_dims values
  TORCH_ARG(std::vector<int64_t>, patch_size);  ///< one value (isotropic) or spatial_dims values
  TORCH_ARG(int64_t, hidden_size);
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(int, spatial_dims) = 3;
};

class PatchEmbeddingBlockImpl : public torch::nn::Module {
 public:
  explicit PatchEmbeddingBlockImpl(PatchEmbeddingOptions options);
  /// x: (B, in_channels, img_size...) -> tokens (B, n_patches, hidden_size). The spatial size must equal img_size.
  torch::Tensor forward(const torch::Tensor& x);

  const PatchEmbeddingOptions& options() const { return options_; }
  /// Patch grid (img_size / patch_size per axis) and its product.
  const std::vector<int64_t>& grid() const { return grid_; }
  int64_t n_patches() const { return n_patches_; }

 private:
  PatchEmbeddingOptions options_;
  std::vector<int64_t> grid_;
  int64_t n_patches_ = 0;
  torch::nn::AnyModule patch_embeddings_;
  torch::Tensor position_embeddings_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(PatchEmbeddingBlock);

}  // namespace medssl::models
