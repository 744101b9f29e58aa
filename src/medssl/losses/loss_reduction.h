#pragma once
// How a loss turns its per-element values (per voxel, per sample, or per sample-and-class for Dice) into its result:
// the same three choices torch.nn and MONAI losses offer, with the same names.
#include <string>

#include "medssl/core/error.h"
#include "medssl/core/torch_pch.h"

namespace medssl::losses {

enum class LossReduction { mean, sum, none };

/// "mean" | "sum" | "none"; throws medssl::Error otherwise.
inline LossReduction parse_loss_reduction(const std::string& name) {
  if (name == "mean") return LossReduction::mean;
  if (name == "sum") return LossReduction::sum;
  if (name == "none") return LossReduction::none;
  fail("loss reduction '{}' is not supported (choose mean, sum or none)", name);
}

inline std::string to_string(LossReduction reduction) {
  switch (reduction) {
    case LossReduction::mean: return "mean";
    case LossReduction::sum: return "sum";
    case LossReduction::none: return "none";
  }
  return "?";
}

/// torch.nn's reduction enum (for at:: loss kernels that take one).
inline int64_t to_at_reduction(LossReduction reduction) {
  switch (reduction) {
    case LossReduction::mean: return at::Reduction::Mean;
    case LossReduction::sum: return at::Reduction::Sum;
    case LossReduction::none: return at::Reduction::None;
  }
  return at::Reduction::Mean;
}

}  // namespace medssl::losses
