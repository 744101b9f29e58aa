#include "medssl/metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A 1-D label vector as int64 values on the CPU (floats must be whole numbers).
std::vector<int64_t> labels_of(const torch::Tensor& t, const char* what, const char* which) {
  check(t.dim() == 1, "{}: {} must be a vector (N), got {} dimensions", what, which, t.dim());
  torch::Tensor l = t.detach().to(torch::kCPU);
  if (torch::isFloatingType(l.scalar_type())) {
    check((l == l.round()).all().item<bool>(), "{}: {} holds non-integer values", what, which);
  }
  l = l.to(torch::kLong).contiguous();
  const auto* p = l.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + l.numel());
}

std::vector<double> values_of(const torch::Tensor& t) {
  const auto v = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto* p = v.data_ptr<double>();
  return std::vector<double>(p, p + v.numel());
}

// Mann-Whitney AUC of scores for positives vs negatives, average ranks for ties.
double auc_of(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // mean of ranks i+1..j
    for (size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        positive_rank_sum += rank;
        ++positives;
      }
    }
    i = j;
  }
  const int64_t negatives = static_cast<int64_t>(n) - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const auto p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2.0) / (p * static_cast<double>(negatives));
}

}  // namespace

torch::Tensor confusion_matrix(const torch::Tensor& y_true, const torch::Tensor& y_pred, int64_t num_classes) {
  const char* what = "confusion matrix";
  check(num_classes >= 1, "{}: num_classes must be >= 1, got {}", what, num_classes);
  const auto t = labels_of(y_true, what, "y_true");
  const auto p = labels_of(y_pred, what, "y_pred");
  check(t.size() == p.size(), "{}: y_true has {} entries, y_pred {}", what, t.size(), p.size());
  auto m = torch::zeros({num_classes, num_classes}, torch::kLong);
  auto a = m.accessor<int64_t, 2>();
  for (size_t i = 0; i < t.size(); ++i) {
    check(t[i] >= 0 && t[i] < num_classes && p[i] >= 0 && p[i] < num_classes,
          "{}: labels must lie in [0, {}), found true {} / predicted {} at position {}", what, num_classes, t[i], p[i],
          i);
    ++a[t[i]][p[i]];
  }
  return m;
}

double accuracy(const torch::Tensor& y_true, const torch::Tensor& y_pred) {
  const auto t = labels_of(y_true, "accuracy", "y_true");
  const auto p = labels_of(y_pred, "accuracy", "y_pred");
  check(t.size() == p.size(), "accuracy: y_true has {} entries, y_pred {}", t.size(), p.size());
  if (t.empty()) return kNaN;
  int64_t equal = 0;
  for (size_t i = 0; i < t.size(); ++i) equal += t[i] == p[i] ? 1 : 0;
  return static_cast<double>(equal) / static_cast<double>(t.size());
}

ClassScores precision_recall_f1(const torch::Tensor& y_true, const torch::Tensor& y_pred, int64_t num_classes) {
  const auto m = confusion_matrix(y_true, y_pred, num_classes);
  auto a = m.accessor<int64_t, 2>();
  ClassScores s;
  for (int64_t c = 0; c < num_classes; ++c) {
    int64_t predicted = 0, actual = 0;
    for (int64_t k = 0; k < num_classes; ++k) {
      predicted += a[k][c];
      actual += a[c][k];
    }
    const auto tp = static_cast<double>(a[c][c]);
    const double precision = predicted > 0 ? tp / static_cast<double>(predicted) : 0.0;
    const double recall = actual > 0 ? tp / static_cast<double>(actual) : 0.0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    s.precision.push_back(precision);
    s.recall.push_back(recall);
    s.f1.push_back(f1);
    s.support.push_back(actual);
  }
  const auto mean = [](const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  s.macro_precision = mean(s.precision);
  s.macro_recall = mean(s.recall);
  s.macro_f1 = mean(s.f1);
  return s;
}

double roc_auc(const torch::Tensor& y_true, const torch::Tensor& scores) {
  const auto t = labels_of(y_true, "roc auc", "y_true");
  check(scores.dim() == 1 && scores.size(0) == static_cast<int64_t>(t.size()),
        "roc auc: scores must be a vector of {} entries", t.size());
  std::vector<bool> positive;
  for (int64_t v : t) positive.push_back(v != 0);
  return auc_of(values_of(scores), positive);
}

AucScores roc_auc_ovr_macro(const torch::Tensor& y_true, const torch::Tensor& scores) {
  const auto t = labels_of(y_true, "roc auc (one-vs-rest)", "y_true");
  check(scores.dim() == 2 && scores.size(0) == static_cast<int64_t>(t.size()),
        "roc auc (one-vs-rest): scores must be (N = {}, C), got {} dimensions", t.size(), scores.dim());
  const int64_t num_classes = scores.size(1);
  for (int64_t v : t) {
    check(v >= 0 && v < num_classes, "roc auc (one-vs-rest): labels must lie in [0, {}), found {}", num_classes, v);
  }
  AucScores s;
  double sum = 0;
  int64_t defined = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    std::vector<bool> positive;
    for (int64_t v : t) positive.push_back(v == c);
    const double auc = auc_of(values_of(scores.select(1, c)), positive);
    s.per_class.push_back(auc);
    if (!std::isnan(auc)) {
      sum += auc;
      ++defined;
    }
  }
  s.macro = defined > 0 ? sum / static_cast<double>(defined) : kNaN;
  return s;
}

}  // namespace medssl::metrics
