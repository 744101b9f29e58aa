#pragma once
// Exemplar pretext task (Dosovitskiy et al. 2014 as adapted by Taleb et al. 2020; healthml `exemplar.py`,
// `preprocess_exemplar.py`, `metrics.triplet_loss`): a triplet (augment(x), x, negative) per image, a shared encoder,
// and a triplet margin loss that pulls the augmented view towards the un-augmented image and away from another image.
//
// Batch: "input" (B, 3, C, *S) = [anchor = augment_exemplar(x), positive = x, negative]; Batch::size = B.
// Negatives (`sample_neg_examples_from`):
//   "dataset" (default, every reference config): Sample::negative, another image of the data set drawn by the loader
//             (needs_negative() is true), never the same index; not augmented.
//   "batch":  another image of the same batch by a Sattolo derangement (a random single cycle, so never itself);
//             a batch of one image is an error (the reference silently used the image as its own negative).
// Model and loss, two modes (TaskSpec::faithful):
//   faithful  encoder -> flatten -> THREE separate Dense(code_size) + sigmoid heads (anchor_head, positive_head,
//             negative_head), d = mean squared difference over the code, margin ("margin" or "alpha") 1.0.
//   default   encoder -> flatten -> ONE shared Dense(code_size) ("projection") -> L2 normalisation, d = squared
//             Euclidean distance, margin 0.5. Why: see docs/pretext-tasks.md (separate heads measure the three slots
//             in different spaces; sigmoid + mean distance + margin 1 keeps the hinge always active).
// Metrics "triplet_acc": fraction of triplets with d(anchor, positive) < d(anchor, negative); "pos_dist", "neg_dist":
// the mean d(anchor, positive), d(anchor, negative) (both near 0 = the codes collapsed onto one point, where the loss
// is the margin and has no gradient). Monitor val_loss (min).
// Params: code_size (1024), sample_neg_examples_from ("dataset" | "batch"), margin / alpha (1.0 faithful, 0.5 default).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/pretext/task.h"

namespace medssl::pretext {

struct ExemplarOptions {
  int64_t code_size = 1024;
  bool negatives_from_batch = false;  ///< sample_neg_examples_from == "batch"
  double margin = 0.5;
  bool faithful = false;

  /// Reads spec.params (missing or null keys take the defaults above; margin defaults to 1.0 when faithful).
  static ExemplarOptions from_spec(const TaskSpec& spec);
};

/// A random permutation of 0..n-1 that is a single n-cycle (Sattolo's algorithm): perm[i] != i for every i.
/// Throws medssl::Error for n < 2.
std::vector<int64_t> sattolo_derangement(int64_t n, Rng& rng);

class ExemplarModelImpl : public PretextModelImpl {
 public:
  ExemplarModelImpl(const TaskSpec& spec, const ExemplarOptions& options);
  /// (B, 3, C, *S) triplets -> (B, 3, code_size) codes (faithful: sigmoid outputs; default: unit vectors).
  torch::Tensor forward(const torch::Tensor& triplets);

  /// The projection used for triplet slot 0, 1, 2 (the same module three times unless faithful).
  torch::nn::Linear head(int64_t slot) const;

 private:
  bool separate_heads_;
  std::vector<torch::nn::Linear> heads_;
};

class ExemplarTask : public PretextTask {
 public:
  ExemplarTask(TaskSpec spec, ExemplarOptions options);

  std::string name() const override { return "exemplar"; }
  std::shared_ptr<PretextModelImpl> build_model() const override;
  train::Batch make_batch(const std::vector<Sample>& samples, Rng& rng, bool training) const override;
  train::StepOutput step(PretextModelImpl& model, const train::Batch& batch) const override;
  bool needs_negative() const override { return !options_.negatives_from_batch; }

  const ExemplarOptions& options() const { return options_; }

 private:
  TaskSpec spec_;
  ExemplarOptions options_;
};

}  // namespace medssl::pretext
