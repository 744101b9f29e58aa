#pragma once
// The expensive part of dataset validation (OpenOptions::check_headers): image and label geometry must agree and
// label maps may only hold values declared in the data set's labels. Internal to medssl_layouts.
#include <map>
#include <string>

#include "medssl/data/layouts/dataset_index.h"

namespace medssl::data::layout {

/// Relative tolerance for comparing affines of files belonging to one case: |a - b| <= tol * max(1, |a|, |b|).
constexpr double kAffineTolerance = 1e-3;

/// Checks one case: every image file (and the label, if any) readable, same spatial shape and (NIfTI) affine;
/// the image files together hold `expected_channels` channels (skipped if < 0); the label has one channel and only
/// values from `labels` (skipped if `labels` is empty). Throws medssl::Error naming the offending file.
void check_case_headers(const CaseRecord& record, int expected_channels, const std::map<int, std::string>& labels);

/// Applies check_case_headers to every case of the index (training with labels; test/unlabelled images only).
void check_index_headers(const DatasetIndex& index);

}  // namespace medssl::data::layout
