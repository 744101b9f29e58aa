#pragma once
// Hard overlap metrics of segmentations given as class maps (integer labels per voxel, e.g. argmax of the logits).
// Two families, named for what they average, because the literature mixes them up:
//
//  * Dataset-pooled (OverlapCounts): voxel counts of ALL cases are added up first, then one Dice/Jaccard per class.
//    ReferenceSegScores reproduces the Taleb et al. reference's test scores from these counts: "dice" and "jaccard"
//    are unweighted means over the classes present in truth or prediction, background INCLUDED (sklearn
//    jaccard_score on the flattened label arrays; Dice = 2J / (1 + J)).
//  * Per case (dice_per_case / jaccard_per_case): one value per case and class, MONAI's DiceMetric / MeanIoU
//    semantics, background EXCLUDED by default here (include_background = true gives MONAI's own default). A class
//    absent from the ground truth of a case is NaN (ignore_empty, MONAI's default) and left out of the averages;
//    mean_over_cases is MONAI's "mean" reduction (per case mean over valid classes, then mean over cases).
//
// The Dice of a class absent from both truth and prediction is undefined: NaN everywhere here (never 0 or 1).
#include <cstdint>
#include <limits>
#include <vector>

#include "medssl/core/torch_pch.h"

namespace medssl::metrics {

/// A (num_classes x num_classes) confusion matrix of voxels (rows: true class, columns: predicted class),
/// accumulated over any number of cases.
class OverlapCounts {
 public:
  explicit OverlapCounts(int64_t num_classes);

  /// Adds the voxels of `predicted` and `truth`: class maps of one shape (any layout, e.g. (B, D, H, W)), whole
  /// numbers in [0, num_classes). Throws medssl::Error otherwise.
  void add(const torch::Tensor& predicted, const torch::Tensor& truth);

  int64_t num_classes() const { return num_classes_; }
  int64_t count(int64_t true_class, int64_t predicted_class) const;
  int64_t true_positives(int64_t c) const;
  int64_t false_positives(int64_t c) const;  ///< predicted c, truly another class
  int64_t false_negatives(int64_t c) const;  ///< truly c, predicted another class
  /// c occurs in the truth or in the prediction.
  bool present(int64_t c) const;

  /// 2 TP / (2 TP + FP + FN) of class c; NaN if c is in neither truth nor prediction.
  double dice(int64_t c) const;
  /// TP / (TP + FP + FN) of class c; NaN if c is in neither truth nor prediction.
  double jaccard(int64_t c) const;
  std::vector<double> dice_per_class() const;
  std::vector<double> jaccard_per_class() const;
  /// Mean Dice over the classes present (from class 0, or from class 1 without background); NaN if none is.
  double mean_dice(bool include_background) const;

 private:
  void check_class(int64_t c) const;
  int64_t num_classes_;
  std::vector<int64_t> confusion_;  // row-major [true][predicted]
};

/// The reference's dataset-pooled test scores (sst/utils/metrics.py score_dice, score_jaccard, score_dice_class).
struct ReferenceSegScores {
  std::vector<int64_t> labels;         ///< classes present in truth or prediction, ascending
  std::vector<double> dice_per_label;  ///< one per entry of `labels`
  std::vector<double> jaccard_per_label;
  double dice = std::numeric_limits<double>::quiet_NaN();     ///< "dice": mean of dice_per_label
  double jaccard = std::numeric_limits<double>::quiet_NaN();  ///< "jaccard": mean of jaccard_per_label

  /// "dice_pancreas_k": the k-th entry of dice_per_label. QUIRK (replicated): k indexes the PRESENT labels, so when
  /// a class is absent from both truth and prediction the later classes shift down by one. NaN if k is out of range
  /// (the reference raises IndexError). For the Dice of class c itself use OverlapCounts::dice(c).
  double dice_at(int64_t k) const;
};

ReferenceSegScores reference_seg_scores(const OverlapCounts& counts);

struct CaseOverlapOptions {
  explicit CaseOverlapOptions(int64_t num_classes) : num_classes_(num_classes) {}
  TORCH_ARG(int64_t, num_classes);
  /// false: report classes 1..C-1 only.
  TORCH_ARG(bool, include_background) = false;
  /// true: a class absent from a case's truth gives NaN; false: 1 if it is absent from the prediction too, else 0.
  TORCH_ARG(bool, ignore_empty) = true;
};

/// predicted, truth: class maps (B, spatial...) (a channel axis of 1 may be present; everything after the batch axis
/// is one case). Returns (B, C') float64: C' = num_classes, or num_classes - 1 without background.
torch::Tensor dice_per_case(const torch::Tensor& predicted, const torch::Tensor& truth,
                            const CaseOverlapOptions& options);
torch::Tensor jaccard_per_case(const torch::Tensor& predicted, const torch::Tensor& truth,
                               const CaseOverlapOptions& options);

/// MONAI's "mean" reduction of a (B, C') table with NaNs: each case's mean over its non-NaN classes, then the mean
/// over cases that have at least one; 0 if no value is valid (MONAI returns 0 there too).
double mean_over_cases(const torch::Tensor& per_case);

/// MONAI's "mean_batch" reduction: per class, the mean over cases where it is not NaN; 0 where none is (C',).
torch::Tensor mean_per_class(const torch::Tensor& per_case);

}  // namespace medssl::metrics
