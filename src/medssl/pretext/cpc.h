#pragma once
// Contrastive predictive coding pretext task (van den Oord et al. 2018 as adapted by Taleb et al. 2020; healthml
// `cpc.py`, `preprocess_cpc.py`): cut the image into a grid of patches, summarise the upper rows of each column
// ("context", cpc_grid.h) with a GRU, and predict the codes of the lower patches of that column ("targets").
//
// Pre-processing per image (the reference's "training" path, used for validation too; `training` is ignored):
//   1. random crop to crop_size per axis, zero-pad (centred) back to the image side;
//   2. PatchGrid (patch_grid.h) with patches_per_side p and jitter 2D: -(side / (p + 1)) (overlapping cells, e.g.
//      128 px, p 5 -> 42 px patches at stride 21), 3D: 0 - derived as in the reference, whose CPC configs never set
//      patch_jitter; an explicit patch_jitter overrides it;
//   3. per patch (augment_patches): 3D: flip along axis 0 with p 0.5; random crop to p*7/8 (3D) / p*11/12 (2D) and
//      centred zero pad back;
//   4. per column: context and targets by cpc_layout (2D: zero patches off the grid; 3D: mirrored).
// Batch: "context" (S, T, C, *patch), "target" (S, K, C, *patch); S = columns per image * images (2D: p, 3D: p^2).
//   faithful: additionally one negative per positive (same context, the targets of another (image, column) of the
//   batch, uniform), interleaved positive/negative, and "label" (S,) float 1/0; S doubles. Batch::size = S.
// Model: g = encoder -> flatten -> Linear(code_size) ("projection"), shared by context and targets; GRU(256)
//   ("gru", batch_first, Keras init) over the context codes; one Linear(code_size) per target ("predictors.k") on the
//   final hidden state.
// Loss: faithful -> losses::cpc_binary_loss (sigmoid of the mean dot product, BCE); default -> losses::info_nce_loss
//   (softmax over the batch's targets of the same position). Metric "acc" (binary accuracy / top-1 in the batch).
// Params: crop_size (int(0.95 * data_dim)), patches_per_side (7; reference configs: 5 in 2D, 4 in 3D),
//   code_size (1024), patch_jitter (derived, see 2).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medssl/pretext/cpc_grid.h"
#include "medssl/pretext/patch_grid.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

struct CpcOptions {
  int64_t crop_size = 0;  ///< whole-image crop per axis
  int64_t patches_per_side = 7;
  int64_t patch_jitter = 0;  ///< default derived: 2D -(side / (p + 1)), 3D 0
  int64_t code_size = 1024;
  int64_t context_units = 256;  ///< GRU width (fixed in the reference)
  bool augment_patches = true;  ///< per-patch flip/crop/pad (step 3); tests switch it off to see the raw grid
  bool faithful = false;

  static CpcOptions from_spec(const TaskSpec& spec);
};

class CpcModelImpl : public PretextModelImpl {
 public:
  CpcModelImpl(const TaskSpec& spec, const CpcOptions& options, int64_t patch_side, int64_t num_targets);

  /// g: (N, C, *patch) -> (N, code_size).
  torch::Tensor encode(const torch::Tensor& patches);

  struct Output {
    torch::Tensor predictions;   ///< (S, K, code_size) from the context
    torch::Tensor target_codes;  ///< (S, K, code_size) = g(targets)
  };
  /// context (S, T, C, *patch), target (S, K, C, *patch).
  Output forward(const torch::Tensor& context, const torch::Tensor& target);

 private:
  torch::nn::Linear projection_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::ModuleList predictors_{nullptr};
};

class CpcTask : public PretextTask {
 public:
  CpcTask(TaskSpec spec, CpcOptions options);

  std::string name() const override { return "cpc"; }
  std::shared_ptr<PretextModelImpl> build_model() const override;
  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool training) const override;
  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override;

  const CpcOptions& options() const { return options_; }
  const CpcLayout& layout() const { return layout_; }
  const PatchGrid& grid() const { return grid_; }
  int64_t patch_side() const { return patch_side_; }

 private:
  /// Steps 1-3 for one image: its patches in raster order.
  std::vector<torch::Tensor> patches_of(const torch::Tensor& image, Rng& rng) const;

  TaskSpec spec_;
  CpcOptions options_;
  PatchGrid grid_;
  CpcLayout layout_;
  int64_t patch_side_ = 0;
};

}  // namespace medssl::pretext
