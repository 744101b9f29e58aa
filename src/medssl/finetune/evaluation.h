#pragma once
// Scoring a finetuned model on whole cases (used per epoch on the validation cases, at the end on the test cases, and
// by `medssl evaluate`). Inference runs on the full image: directly when it fits the patch size, else by sliding-window
// inference (train/sliding_window.h) with windows of patch_size. Cases made of 2D slices are predicted slice by slice
// and scored as the stacked volume.
//
// Segmentation, per case: Dice and Jaccard per foreground class (MONAI semantics, NaN where the class is absent from
// the case's truth), their mean ("dice" = mean foreground Dice), the mean with background, and HD95 per class
// (optional; +inf when only one of truth / prediction has the class, written as null). Summary: "mean_dice" (mean
// over cases of the per-case foreground mean; THE validation metric val_dice), "mean_dice_with_background",
// per-class means, "mean_jaccard", HD95 means over the finite cases, and the reference's dataset-POOLED scores
// ("reference_dice" / "reference_jaccard": all voxels of all cases together, background included; healthml.md 7.2).
// Classification: per case true and predicted grade; summary "qw_kappa" (quadratic weighted kappa over grades
// 0..K-1; the validation metric val_qw_kappa), "accuracy", "confusion_matrix" (rows true), and for multilabel models
// the reference's qw_kappa_kaggle / cat_acc_kaggle.
// JSON numbers that are NaN or infinite are written as null.
#include <nlohmann/json.hpp>
#include <vector>

#include "medssl/data/loader/image_set.h"
#include "medssl/finetune/finetune_model.h"

namespace medssl::finetune {

struct EvaluationOptions {
  int64_t patch_size = 0;  ///< sliding-window roi side; 0 or >= the image side = whole-image inference
  double overlap = 0.25;
  bool hd95 = false;
  int64_t batch_size = 4;  ///< images per forward pass (classification, slices)
};

/// Scores `model` on the cases `cases` (case indices of `set`'s cache) -> {"per_case": [...], "summary": {...}}.
/// Puts the model in eval mode and runs without gradients.
nlohmann::json evaluate_cases(const FinetuneModel& model, const data::ImageSet& set, const std::vector<int64_t>& cases,
                              const EvaluationOptions& options);

/// The validation metric's name in a summary: "mean_dice" (segmentation) or "qw_kappa" (classification).
std::string primary_metric(const std::string& task);

/// A number for JSON: null when NaN or infinite.
nlohmann::json json_number(double value);

}  // namespace medssl::finetune
