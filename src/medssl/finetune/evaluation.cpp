#include "medssl/finetune/evaluation.h"

#include <cmath>
#include <map>

#include "medssl/core/error.h"
#include "medssl/finetune/data_protocol.h"
#include "medssl/finetune/inference.h"
#include "medssl/losses/classification.h"
#include "medssl/metrics/classification.h"
#include "medssl/metrics/dice.h"
#include "medssl/metrics/hausdorff.h"
#include "medssl/metrics/kappa.h"

namespace medssl::finetune {

using json = nlohmann::json;

json json_number(double value) { return std::isfinite(value) ? json(value) : json(); }

std::string primary_metric(const std::string& task) { return task == "classification" ? "qw_kappa" : "mean_dice"; }

namespace {

json row_to_json(const torch::Tensor& row) {
  json out = json::array();
  auto a = row.to(torch::kFloat64).contiguous();
  for (int64_t i = 0; i < a.numel(); ++i) out.push_back(json_number(a[i].item<double>()));
  return out;
}

double nan_mean(const torch::Tensor& values) {
  double sum = 0;
  int64_t n = 0;
  auto a = values.to(torch::kFloat64).flatten();
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double v = a[i].item<double>();
    if (std::isfinite(v)) sum += v, ++n;
  }
  return n ? sum / static_cast<double>(n) : std::nan("");
}

// Class map of one item: (spatial...) int64 on the CPU.
torch::Tensor predict_item(const FinetuneModel& model, const torch::Tensor& image, const EvaluationOptions& o) {
  InferenceOptions inference;
  inference.patch_size = o.patch_size;
  inference.overlap = o.overlap;
  inference.batch_size = o.batch_size;
  return segmentation_logits(model, image, inference).argmax(0).to(torch::kInt64);
}

json evaluate_segmentation(const FinetuneModel& model, const data::ImageSet& set, const std::vector<int64_t>& cases,
                           const EvaluationOptions& o) {
  const int64_t k = model.spec.num_outputs;
  metrics::OverlapCounts pooled(k);
  std::vector<torch::Tensor> dice_rows, dice_bg_rows, jaccard_rows, hd_rows;
  json per_case = json::array();
  for (int64_t c : cases) {
    const auto items = items_of_cases(set, {c});
    if (items.empty()) continue;
    std::vector<torch::Tensor> predicted, truth;
    for (int64_t item : items) {
      predicted.push_back(predict_item(model, set.image(item), o));
      torch::Tensor label = set.label(item);
      check(label.defined(), "evaluate: case {} has no label map", set.id(item));
      truth.push_back(label.squeeze(0).to(torch::kInt64));
    }
    // One case = one volume: a whole volume, or its slices stacked back together.
    torch::Tensor p = items.size() == 1 ? predicted[0] : torch::stack(predicted);
    torch::Tensor t = items.size() == 1 ? truth[0] : torch::stack(truth);
    check(t.max().item<int64_t>() < k, "evaluate: case {} has label {} but the model has {} classes", set.id(items[0]),
          t.max().item<int64_t>(), k);
    pooled.add(p, t);
    p = p.unsqueeze(0);
    t = t.unsqueeze(0);
    auto dice = metrics::dice_per_case(p, t, metrics::CaseOverlapOptions(k));
    auto dice_bg = metrics::dice_per_case(p, t, metrics::CaseOverlapOptions(k).include_background(true));
    auto jaccard = metrics::jaccard_per_case(p, t, metrics::CaseOverlapOptions(k));
    dice_rows.push_back(dice);
    dice_bg_rows.push_back(dice_bg);
    jaccard_rows.push_back(jaccard);
    std::string id = set.id(items[0]);
    if (items.size() > 1 || set.slice_of(items[0]) >= 0) id = id.substr(0, id.rfind("_slice"));
    json row = {{"id", id},
                {"dice", json_number(nan_mean(dice))},
                {"dice_per_class", row_to_json(dice[0])},
                {"dice_with_background", json_number(nan_mean(dice_bg))},
                {"jaccard", json_number(nan_mean(jaccard))},
                {"jaccard_per_class", row_to_json(jaccard[0])}};
    if (o.hd95) {
      auto hd = metrics::hausdorff_per_case(p, t, k);
      hd_rows.push_back(hd);
      row["hd95_per_class"] = row_to_json(hd[0]);
    }
    per_case.push_back(row);
  }
  check(!per_case.empty(), "evaluate: none of the {} requested cases has items in {}", cases.size(), set.cache_dir());
  auto dice = torch::cat(dice_rows);
  auto dice_bg = torch::cat(dice_bg_rows);
  auto jaccard = torch::cat(jaccard_rows);
  const auto reference = metrics::reference_seg_scores(pooled);
  json pooled_dice = json::array();
  for (int64_t c = 0; c < k; ++c) pooled_dice.push_back(json_number(pooled.dice(c)));
  json summary = {{"cases", per_case.size()},
                  {"mean_dice", json_number(metrics::mean_over_cases(dice))},
                  {"dice_per_class", row_to_json(metrics::mean_per_class(dice))},
                  {"mean_dice_with_background", json_number(metrics::mean_over_cases(dice_bg))},
                  {"mean_jaccard", json_number(metrics::mean_over_cases(jaccard))},
                  {"jaccard_per_class", row_to_json(metrics::mean_per_class(jaccard))},
                  {"pooled_dice_per_class", pooled_dice},
                  {"reference_dice", json_number(reference.dice)},
                  {"reference_jaccard", json_number(reference.jaccard)},
                  {"reference_labels", reference.labels},
                  {"reference_dice_per_label", [&] {
                     json a = json::array();
                     for (double v : reference.dice_per_label) a.push_back(json_number(v));
                     return a;
                   }()}};
  if (o.hd95) {
    auto hd = torch::cat(hd_rows);
    json means = json::array(), infinite = json::array();
    for (int64_t c = 0; c < hd.size(1); ++c) {
      auto column = hd.select(1, c);
      means.push_back(json_number(nan_mean(column)));
      infinite.push_back(column.isinf().sum().item<int64_t>());
    }
    summary["hd95_per_class"] = means;
    summary["hd95_infinite_cases_per_class"] = infinite;
  }
  return {{"task", "segmentation"}, {"per_case", per_case}, {"summary", summary}};
}

json evaluate_classification(const FinetuneModel& model, const data::ImageSet& set, const std::vector<int64_t>& cases,
                             const EvaluationOptions& o, const torch::Device& device) {
  const int64_t k = model.spec.num_outputs;
  const auto items = items_of_cases(set, cases);
  check(!items.empty(), "evaluate: none of the {} requested cases has images in {}", cases.size(), set.cache_dir());
  std::vector<torch::Tensor> outputs;
  std::vector<int64_t> grades;
  const int64_t step = std::max<int64_t>(1, o.batch_size);
  for (size_t begin = 0; begin < items.size(); begin += static_cast<size_t>(step)) {
    std::vector<torch::Tensor> images;
    for (size_t i = begin; i < std::min(items.size(), begin + static_cast<size_t>(step)); ++i) {
      images.push_back(set.image(items[i]));
      const int grade = set.grade(items[i]);
      check(grade >= 0, "evaluate: image {} has no grade", set.id(items[i]));
      check(grade < k, "evaluate: image {} has grade {} but the model has {} grades", set.id(items[i]), grade, k);
      grades.push_back(grade);
    }
    outputs.push_back(model.forward(torch::stack(images).to(device)).to(torch::kCPU, torch::kFloat32));
  }
  torch::Tensor logits = torch::cat(outputs);
  torch::Tensor truth = torch::tensor(grades, torch::kInt64);
  torch::Tensor predicted = model.spec.multilabel ? metrics::decode_ordinal(torch::sigmoid(logits))
                                                  : logits.argmax(1);
  std::vector<int64_t> labels;
  for (int64_t g = 0; g < k; ++g) labels.push_back(g);
  json per_case = json::array();
  for (size_t i = 0; i < items.size(); ++i)
    per_case.push_back({{"id", set.id(items[i])}, {"grade", grades[i]},
                        {"predicted", predicted[static_cast<int64_t>(i)].item<int64_t>()}});
  auto confusion = metrics::confusion_matrix(truth, predicted, k);
  json matrix = json::array();
  for (int64_t r = 0; r < k; ++r) {
    json row = json::array();
    for (int64_t c = 0; c < k; ++c) row.push_back(confusion[r][c].item<int64_t>());
    matrix.push_back(row);
  }
  json summary = {{"cases", items.size()},
                  {"qw_kappa", json_number(metrics::quadratic_weighted_kappa(truth, predicted, labels))},
                  {"accuracy", json_number(metrics::accuracy(truth, predicted))},
                  {"confusion_matrix", matrix}};
  if (model.spec.multilabel) {
    auto encoded = losses::ordinal_encode(truth, k);
    auto probabilities = torch::sigmoid(logits);
    summary["reference_qw_kappa_kaggle"] = json_number(metrics::reference_qw_kappa_kaggle(encoded, probabilities));
    summary["reference_cat_acc_kaggle"] = json_number(metrics::reference_cat_acc_kaggle(encoded, probabilities));
  }
  return {{"task", "classification"}, {"per_case", per_case}, {"summary", summary}};
}

}  // namespace

json evaluate_cases(const FinetuneModel& model, const data::ImageSet& set, const std::vector<int64_t>& cases,
                    const EvaluationOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.module->is_training();
  model.module->eval();
  const torch::Device device = model_device(*model.module);
  json result = model.spec.task == "classification" ? evaluate_classification(model, set, cases, options, device)
                                                    : evaluate_segmentation(model, set, cases, options);
  if (was_training) model.module->train();
  return result;
}

}  // namespace medssl::finetune
