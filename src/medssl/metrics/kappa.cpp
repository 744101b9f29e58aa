#include "medssl/metrics/kappa.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "medssl/core/error.h"
#include "medssl/metrics/classification.h"

namespace medssl::metrics {

namespace {

std::vector<int64_t> labels_of(const torch::Tensor& t, const char* which) {
  check(t.dim() == 1, "cohen kappa: {} must be a vector (N), got {} dimensions", which, t.dim());
  torch::Tensor l = t.detach().to(torch::kCPU);
  if (torch::isFloatingType(l.scalar_type())) {
    check((l == l.round()).all().item<bool>(), "cohen kappa: {} holds non-integer values", which);
  }
  l = l.to(torch::kLong).contiguous();
  const auto* p = l.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + l.numel());
}

void check_outputs(const torch::Tensor& outputs, const char* what) {
  check(outputs.dim() == 2 && outputs.size(1) >= 1, "{}: outputs must be (N, K), got {} dimensions", what,
        outputs.dim());
}

}  // namespace

KappaWeights parse_kappa_weights(const std::string& name) {
  if (name == "none") return KappaWeights::none;
  if (name == "linear") return KappaWeights::linear;
  if (name == "quadratic") return KappaWeights::quadratic;
  fail("kappa weights '{}' are not supported (choose none, linear or quadratic)", name);
}

double cohen_kappa(const torch::Tensor& y_true, const torch::Tensor& y_pred, KappaWeights weights,
                   const std::vector<int64_t>& labels) {
  const auto t = labels_of(y_true, "y_true");
  const auto p = labels_of(y_pred, "y_pred");
  check(t.size() == p.size(), "cohen kappa: y_true has {} entries, y_pred {}", t.size(), p.size());

  std::vector<int64_t> label_list = labels;
  if (label_list.empty()) {
    std::set<int64_t> all(t.begin(), t.end());
    all.insert(p.begin(), p.end());
    label_list.assign(all.begin(), all.end());
  }
  std::map<int64_t, size_t> position;
  for (size_t i = 0; i < label_list.size(); ++i) {
    check(position.emplace(label_list[i], i).second, "cohen kappa: label {} is listed twice", label_list[i]);
  }
  const size_t n = label_list.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();

  // Observed counts over the listed labels; samples with an unlisted true or predicted value are dropped.
  std::vector<double> observed(n * n, 0.0);
  for (size_t i = 0; i < t.size(); ++i) {
    const auto ti = position.find(t[i]), pi = position.find(p[i]);
    if (ti == position.end() || pi == position.end()) continue;
    observed[ti->second * n + pi->second] += 1;
  }
  std::vector<double> column_sums(n, 0.0), row_sums(n, 0.0);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      row_sums[i] += observed[i * n + j];
      column_sums[j] += observed[i * n + j];
      total += observed[i * n + j];
    }
  }
  double weighted_observed = 0, weighted_expected = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const double d = static_cast<double>(i) - static_cast<double>(j);
      double w = 0;
      switch (weights) {
        case KappaWeights::none: w = i == j ? 0.0 : 1.0; break;
        case KappaWeights::linear: w = d < 0 ? -d : d; break;
        case KappaWeights::quadratic: w = d * d; break;
      }
      // sklearn: expected = outer(sum0, sum1) / sum(sum0), sum0 = column sums, sum1 = row sums.
      weighted_observed += w * observed[i * n + j];
      weighted_expected += w * (column_sums[i] * row_sums[j] / total);
    }
  }
  return 1.0 - weighted_observed / weighted_expected;  // 0/0 -> NaN, as in sklearn
}

torch::Tensor decode_ordinal(const torch::Tensor& outputs, OrdinalDecoding decoding, double threshold) {
  check_outputs(outputs, "ordinal decoding");
  const auto above = (outputs.detach().to(torch::kCPU) > threshold).to(torch::kLong);
  if (decoding == OrdinalDecoding::reference_count) return above.sum(1) - 1;
  // The length of the leading run of ones: the cumulative product stays 1 until the first output at or below the
  // threshold.
  const auto leading = above.cumprod(1).sum(1);
  return (leading - 1).clamp_min(0);
}

double ordinal_qw_kappa(const torch::Tensor& true_outputs, const torch::Tensor& predicted_outputs, double threshold) {
  check_outputs(true_outputs, "ordinal kappa");
  std::vector<int64_t> labels;
  for (int64_t g = 0; g < true_outputs.size(1); ++g) labels.push_back(g);
  return quadratic_weighted_kappa(decode_ordinal(true_outputs, OrdinalDecoding::leading_run, threshold),
                                  decode_ordinal(predicted_outputs, OrdinalDecoding::leading_run, threshold), labels);
}

double reference_qw_kappa_kaggle(const torch::Tensor& true_outputs, const torch::Tensor& predicted_outputs,
                                 double threshold) {
  return quadratic_weighted_kappa(decode_ordinal(true_outputs, OrdinalDecoding::reference_count, threshold),
                                  decode_ordinal(predicted_outputs, OrdinalDecoding::reference_count, threshold),
                                  {0, 1, 2, 3, 4});
}

double reference_cat_acc_kaggle(const torch::Tensor& true_outputs, const torch::Tensor& predicted_outputs,
                                double threshold) {
  return accuracy(decode_ordinal(true_outputs, OrdinalDecoding::reference_count, threshold),
                  decode_ordinal(predicted_outputs, OrdinalDecoding::reference_count, threshold));
}

}  // namespace medssl::metrics
