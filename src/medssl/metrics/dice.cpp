#include "medssl/metrics/dice.h"

#include <cmath>

#include <fmt/format.h>

#include "medssl/core/error.h"

namespace medssl::metrics {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The class map as int64 on the CPU, after checking it holds whole numbers in [0, num_classes).
torch::Tensor checked_labels(const torch::Tensor& labels, int64_t num_classes, const char* what, const char* which) {
  torch::Tensor l = labels.detach().to(torch::kCPU);
  if (torch::isFloatingType(l.scalar_type())) {
    check((l == l.round()).all().item<bool>(), "{}: the {} class map holds non-integer values", what, which);
  }
  l = l.to(torch::kLong);
  if (l.numel() > 0) {
    const int64_t lo = l.min().item<int64_t>(), hi = l.max().item<int64_t>();
    check(lo >= 0 && hi < num_classes, "{}: {} class map values must lie in [0, {}), found {}..{}", what, which,
          num_classes, lo, hi);
  }
  return l;
}

// Confusion counts of each case: (B, C, C) int64, [case][true][predicted].
torch::Tensor case_confusions(const torch::Tensor& predicted, const torch::Tensor& truth, int64_t num_classes,
                              const char* what) {
  check(predicted.sizes() == truth.sizes(), "{}: predicted [{}] and true [{}] class maps differ in shape", what,
        fmt::join(predicted.sizes(), ", "), fmt::join(truth.sizes(), ", "));
  check(predicted.dim() >= 2, "{}: class maps must be (B, spatial...), got {} dimensions", what, predicted.dim());
  const int64_t batch = predicted.size(0), cc = num_classes * num_classes;
  const auto p = checked_labels(predicted, num_classes, what, "predicted").reshape({batch, -1});
  const auto t = checked_labels(truth, num_classes, what, "true").reshape({batch, -1});
  const auto offset = torch::arange(batch, torch::kLong).unsqueeze(1) * cc;
  const auto index = (offset + t * num_classes + p).flatten();
  return torch::bincount(index, {}, batch * cc).reshape({batch, num_classes, num_classes});
}

enum class Overlap { dice, jaccard };

torch::Tensor per_case(Overlap kind, const torch::Tensor& predicted, const torch::Tensor& truth,
                       const CaseOverlapOptions& o) {
  const char* what = kind == Overlap::dice ? "dice per case" : "jaccard per case";
  check(o.num_classes() >= 1, "{}: num_classes must be >= 1", what);
  check(o.include_background() || o.num_classes() >= 2, "{}: without background there is no class left", what);
  const auto confusion = case_confusions(predicted, truth, o.num_classes(), what);
  const int64_t batch = confusion.size(0), first = o.include_background() ? 0 : 1;
  auto out = torch::empty({batch, o.num_classes() - first}, torch::kFloat64);
  auto acc = confusion.accessor<int64_t, 3>();
  auto res = out.accessor<double, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t c = first; c < o.num_classes(); ++c) {
      int64_t true_count = 0, predicted_count = 0;
      for (int64_t k = 0; k < o.num_classes(); ++k) {
        true_count += acc[b][c][k];
        predicted_count += acc[b][k][c];
      }
      const auto tp = static_cast<double>(acc[b][c][c]);
      const double union_count = static_cast<double>(true_count + predicted_count) - tp;
      double value;
      if (true_count > 0) {
        value = kind == Overlap::dice ? 2.0 * tp / static_cast<double>(true_count + predicted_count) : tp / union_count;
      } else if (o.ignore_empty()) {
        value = kNaN;
      } else {
        value = predicted_count == 0 ? 1.0 : 0.0;
      }
      res[b][c - first] = value;
    }
  }
  return out;
}

}  // namespace

OverlapCounts::OverlapCounts(int64_t num_classes)
    : num_classes_(num_classes), confusion_(static_cast<size_t>(std::max<int64_t>(num_classes, 0) * num_classes), 0) {
  check(num_classes >= 1, "overlap counts: num_classes must be >= 1, got {}", num_classes);
}

void OverlapCounts::add(const torch::Tensor& predicted, const torch::Tensor& truth) {
  const char* what = "overlap counts";
  check(predicted.sizes() == truth.sizes(), "{}: predicted [{}] and true [{}] class maps differ in shape", what,
        fmt::join(predicted.sizes(), ", "), fmt::join(truth.sizes(), ", "));
  const auto p = checked_labels(predicted, num_classes_, what, "predicted").flatten();
  const auto t = checked_labels(truth, num_classes_, what, "true").flatten();
  const auto counts = torch::bincount(t * num_classes_ + p, {}, num_classes_ * num_classes_);
  const auto* c = counts.data_ptr<int64_t>();
  for (size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += c[i];
}

void OverlapCounts::check_class(int64_t c) const {
  check(c >= 0 && c < num_classes_, "overlap counts: class {} is outside [0, {})", c, num_classes_);
}

int64_t OverlapCounts::count(int64_t true_class, int64_t predicted_class) const {
  check_class(true_class);
  check_class(predicted_class);
  return confusion_[static_cast<size_t>(true_class * num_classes_ + predicted_class)];
}

int64_t OverlapCounts::true_positives(int64_t c) const { return count(c, c); }

int64_t OverlapCounts::false_positives(int64_t c) const {
  int64_t n = 0;
  for (int64_t t = 0; t < num_classes_; ++t) n += t == c ? 0 : count(t, c);
  return n;
}

int64_t OverlapCounts::false_negatives(int64_t c) const {
  int64_t n = 0;
  for (int64_t p = 0; p < num_classes_; ++p) n += p == c ? 0 : count(c, p);
  return n;
}

bool OverlapCounts::present(int64_t c) const { return true_positives(c) + false_positives(c) + false_negatives(c) > 0; }

double OverlapCounts::dice(int64_t c) const {
  if (!present(c)) return kNaN;
  const auto tp = static_cast<double>(true_positives(c));
  return 2.0 * tp / (2.0 * tp + static_cast<double>(false_positives(c) + false_negatives(c)));
}

double OverlapCounts::jaccard(int64_t c) const {
  if (!present(c)) return kNaN;
  const auto tp = static_cast<double>(true_positives(c));
  return tp / (tp + static_cast<double>(false_positives(c) + false_negatives(c)));
}

std::vector<double> OverlapCounts::dice_per_class() const {
  std::vector<double> v;
  for (int64_t c = 0; c < num_classes_; ++c) v.push_back(dice(c));
  return v;
}

std::vector<double> OverlapCounts::jaccard_per_class() const {
  std::vector<double> v;
  for (int64_t c = 0; c < num_classes_; ++c) v.push_back(jaccard(c));
  return v;
}

double OverlapCounts::mean_dice(bool include_background) const {
  double sum = 0;
  int64_t n = 0;
  for (int64_t c = include_background ? 0 : 1; c < num_classes_; ++c) {
    if (!present(c)) continue;
    sum += dice(c);
    ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : kNaN;
}

double ReferenceSegScores::dice_at(int64_t k) const {
  if (k < 0 || k >= static_cast<int64_t>(dice_per_label.size())) return kNaN;
  return dice_per_label[static_cast<size_t>(k)];
}

ReferenceSegScores reference_seg_scores(const OverlapCounts& counts) {
  ReferenceSegScores s;
  double dice_sum = 0, jaccard_sum = 0;
  for (int64_t c = 0; c < counts.num_classes(); ++c) {
    if (!counts.present(c)) continue;
    // The reference computes Dice from sklearn's Jaccard as 2J / (1 + J), which is the Dice itself.
    const double j = counts.jaccard(c);
    s.labels.push_back(c);
    s.jaccard_per_label.push_back(j);
    s.dice_per_label.push_back(2.0 * j / (1.0 + j));
    dice_sum += s.dice_per_label.back();
    jaccard_sum += j;
  }
  if (!s.labels.empty()) {
    s.dice = dice_sum / static_cast<double>(s.labels.size());
    s.jaccard = jaccard_sum / static_cast<double>(s.labels.size());
  }
  return s;
}

torch::Tensor dice_per_case(const torch::Tensor& predicted, const torch::Tensor& truth,
                            const CaseOverlapOptions& options) {
  return per_case(Overlap::dice, predicted, truth, options);
}

torch::Tensor jaccard_per_case(const torch::Tensor& predicted, const torch::Tensor& truth,
                               const CaseOverlapOptions& options) {
  return per_case(Overlap::jaccard, predicted, truth, options);
}

double mean_over_cases(const torch::Tensor& per_case) {
  check(per_case.dim() == 2, "mean over cases: expected a (cases, classes) table, got {} dimensions", per_case.dim());
  const auto t = per_case.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  auto a = t.accessor<double, 2>();
  double sum = 0;
  int64_t valid_cases = 0;
  for (int64_t b = 0; b < t.size(0); ++b) {
    double case_sum = 0;
    int64_t n = 0;
    for (int64_t c = 0; c < t.size(1); ++c) {
      if (std::isnan(a[b][c])) continue;
      case_sum += a[b][c];
      ++n;
    }
    if (n == 0) continue;
    sum += case_sum / static_cast<double>(n);
    ++valid_cases;
  }
  return valid_cases > 0 ? sum / static_cast<double>(valid_cases) : 0.0;
}

torch::Tensor mean_per_class(const torch::Tensor& per_case) {
  check(per_case.dim() == 2, "mean per class: expected a (cases, classes) table, got {} dimensions", per_case.dim());
  const auto t = per_case.detach().to(torch::kCPU, torch::kFloat64);
  const auto valid = ~torch::isnan(t);
  const auto counts = valid.sum(0).to(torch::kFloat64);
  const auto sums = torch::where(valid, t, torch::zeros_like(t)).sum(0);
  return torch::where(counts > 0, sums / counts.clamp_min(1), torch::zeros_like(sums));
}

}  // namespace medssl::metrics
