#include "medssl/probe/linear_probe.h"

#include "medssl/core/error.h"

namespace medssl::probe {

torch::Tensor LinearProbe::logits(const torch::Tensor& features) const {
  check(weight.defined(), "linear probe: logits() before fit");
  check(features.dim() == 2 && features.size(1) == weight.size(1),
        "linear probe: features must be (N, {}), got {} dims with width {}", weight.size(1), features.dim(),
        features.dim() == 2 ? features.size(1) : -1);
  const torch::Tensor x = (features.to(torch::kFloat64) - mean) / scale;
  return torch::addmm(bias, x, weight.t());
}

torch::Tensor LinearProbe::predict(const torch::Tensor& features) const { return logits(features).argmax(1); }

LinearProbe fit_logistic_regression(const torch::Tensor& features, const torch::Tensor& labels, int64_t num_classes,
                                    const LogisticRegressionOptions& options) {
  check(features.dim() == 2 && features.size(0) > 0 && features.size(1) > 0,
        "linear probe: features must be a non-empty (N, F) matrix");
  check(labels.dim() == 1 && labels.size(0) == features.size(0), "linear probe: {} labels for {} feature rows",
        labels.numel(), features.size(0));
  check(num_classes >= 2, "linear probe: needs at least 2 classes, got {}", num_classes);
  check(options.iterations > 0 && options.l2 >= 0, "linear probe: iterations must be > 0 and l2 >= 0");
  const torch::Tensor y = labels.to(torch::kInt64);
  check(y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < num_classes,
        "linear probe: labels must lie in [0, {}), got [{}, {}]", num_classes, y.min().item<int64_t>(),
        y.max().item<int64_t>());

  // float64: the fit is small (F up to a few thousand) and L-BFGS' curvature pairs are better conditioned in double.
  torch::NoGradGuard outer_no_grad;
  const torch::Tensor raw = features.to(torch::kFloat64);
  LinearProbe probe;
  probe.mean = raw.mean(0);
  const torch::Tensor sd = raw.std(0, /*unbiased=*/false);
  // A constant feature carries nothing: scale 1 maps it to 0 instead of dividing by ~0.
  probe.scale = torch::where(sd > 1e-8, sd, torch::ones_like(sd));
  const torch::Tensor x = (raw - probe.mean) / probe.scale;

  torch::Tensor w = torch::zeros({num_classes, x.size(1)}, torch::kFloat64).requires_grad_(true);
  torch::Tensor b = torch::zeros({num_classes}, torch::kFloat64).requires_grad_(true);
  torch::optim::LBFGS optimizer({w, b}, torch::optim::LBFGSOptions(1.0)
                                            .max_iter(options.iterations)
                                            .history_size(20)
                                            .tolerance_grad(1e-9)
                                            .tolerance_change(1e-12)
                                            .line_search_fn("strong_wolfe"));
  auto objective = [&] {
    torch::AutoGradMode enable(true);
    optimizer.zero_grad();
    torch::Tensor loss = torch::cross_entropy_loss(torch::addmm(b, x, w.t()), y) + 0.5 * options.l2 * w.pow(2).sum();
    loss.backward();
    return loss;
  };
  {
    torch::AutoGradMode enable(true);
    optimizer.step(objective);  // one step = up to `iterations` L-BFGS iterations on the full batch
  }
  probe.weight = w.detach();
  probe.bias = b.detach();
  probe.final_loss = objective().item<double>();
  return probe;
}

int64_t majority_class(const torch::Tensor& labels, int64_t num_classes) {
  check(labels.numel() > 0, "linear probe: majority class of no labels");
  return torch::bincount(labels.to(torch::kInt64).flatten(), {}, num_classes).argmax().item<int64_t>();
}

ProbeMetrics probe_metrics(const torch::Tensor& predicted, const torch::Tensor& labels, int64_t num_classes,
                           int64_t majority) {
  check(predicted.numel() == labels.numel() && labels.numel() > 0, "linear probe: {} predictions for {} labels",
        predicted.numel(), labels.numel());
  const torch::Tensor p = predicted.to(torch::kInt64).flatten().contiguous();
  const torch::Tensor t = labels.to(torch::kInt64).flatten().contiguous();
  ProbeMetrics m;
  m.majority_class = majority;
  m.confusion.assign(static_cast<size_t>(num_classes), std::vector<int64_t>(static_cast<size_t>(num_classes), 0));
  m.counts.assign(static_cast<size_t>(num_classes), 0);
  const int64_t* pp = p.data_ptr<int64_t>();
  const int64_t* tp = t.data_ptr<int64_t>();
  int64_t correct = 0, majority_hits = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    check(tp[i] >= 0 && tp[i] < num_classes && pp[i] >= 0 && pp[i] < num_classes,
          "linear probe: class out of range [0, {})", num_classes);
    ++m.confusion[static_cast<size_t>(tp[i])][static_cast<size_t>(pp[i])];
    ++m.counts[static_cast<size_t>(tp[i])];
    correct += tp[i] == pp[i];
    majority_hits += tp[i] == majority;
  }
  const double n = static_cast<double>(t.numel());
  m.accuracy = static_cast<double>(correct) / n;
  m.majority_rate = static_cast<double>(majority_hits) / n;
  double recall_sum = 0.0;
  int present = 0;
  for (int64_t k = 0; k < num_classes; ++k) {
    const auto ku = static_cast<size_t>(k);
    if (m.counts[ku] == 0) continue;
    recall_sum += static_cast<double>(m.confusion[ku][ku]) / static_cast<double>(m.counts[ku]);
    ++present;
  }
  m.balanced_accuracy = recall_sum / present;
  return m;
}

nlohmann::json ProbeMetrics::to_json() const {
  return {{"accuracy", accuracy},           {"balanced_accuracy", balanced_accuracy},
          {"majority_class", majority_class}, {"majority_rate", majority_rate},
          {"confusion", confusion},         {"counts", counts}};
}

}  // namespace medssl::probe
