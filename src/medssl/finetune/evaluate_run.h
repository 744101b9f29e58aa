#pragma once
// `medssl evaluate`: apply a finetuned model (DIR/model.json + model.pt) to the cases of a data set and score them.
// A raw data set is first prepared with the model's own preprocessing settings (into `cache_dir`, default a fresh
// temporary folder removed afterwards); a prepare cache is used as it is when its settings equal the model's.
//   split: finetune_test (the cases the finetune run tested on, by id; the default) | test (the data set's own test
//   split) | training | all.
#include <nlohmann/json.hpp>
#include <string>

namespace medssl::finetune {

struct EvaluateRequest {
  std::string model_dir;
  std::string dataset;
  std::string split = "finetune_test";
  std::string cache_dir;  ///< where to prepare a raw data set ("" = temporary)
  bool hd95 = true;
};

/// Returns {"model", "dataset", "split", "task", "per_case": [...], "summary": {...}} (evaluation.h).
nlohmann::json run_evaluation(const EvaluateRequest& request);

}  // namespace medssl::finetune
