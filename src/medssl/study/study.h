#pragma once
// `medssl study`: the data-efficiency experiment end to end (issue 7; the experiment of Taleb et al. Figures 3/4,
// the IoU-positives table, the MONAI ViT tutorial table).
//
//   stage 1  prepare: the pretraining and finetuning data are prepared once into DIR/cache/{pretrain,finetune}
//   stage 2  pretrain every method once        -> DIR/pretrain/<method>/          (medssl pretrain)
//   stage 3  finetune every (method, fraction, repetition), "baseline" from random initialisation
//                                               -> DIR/finetune/<method>/f<fraction>_r<repetition>/ (medssl finetune)
//   stage 4  results: DIR/results.csv (final-model test scores on the held-out test cases, plus, under their own
//            names, the best-validation checkpoint's test scores and the learning-curve means), summary.csv,
//            report.md, efficiency.png / efficiency.svg (+ efficiency.gp / .dat to restyle)
//
// Resumable: a finished run (pretrain.json / finetune.json present) is skipped, a half-finished one resumes from its
// checkpoints/last.pt, and results.csv is rebuilt from the finished runs' summaries, so a killed and restarted
// study writes the same results.csv as an uninterrupted one. Timings of earlier invocations are kept in
// DIR/timings.json.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "medssl/config/config.h"

namespace medssl::study {

struct StudyRequest {
  config::Config config;  ///< validated against study_schema()
  std::string out_dir;
  /// Subset to run, e.g. {"method=rotation,baseline", "fraction=10"}: a cell runs if it matches every filter.
  std::vector<std::string> only;
  bool plot = true;  ///< draw efficiency.png/svg (needs gnuplot)
};

/// Runs (or resumes) the study; returns {"results": path, "summary": path, "report": path, "plot": path or "",
/// "cells": n, "cells_run": n}.
nlohmann::json run_study(const StudyRequest& request);

/// The folder name of a finetuning cell: "f10_r0", "f12.5_r1".
std::string cell_dir_name(double fraction, int repetition);

}  // namespace medssl::study
