// Metrics against their Python peers: kappa, confusion matrix, precision/recall/F1 and AUC against scikit-learn;
// pooled Dice/Jaccard against sklearn's jaccard_score as the reference uses it; HD95 against MONAI's algorithm
// written with scipy (binary_erosion + distance_transform_edt); per-case Dice by hand (MONAI semantics).
#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/metrics/classification.h"
#include "medssl/metrics/dice.h"
#include "medssl/metrics/hausdorff.h"
#include "medssl/metrics/kappa.h"
#include "python_peer.h"
#include "testkit/testkit.h"

namespace medssl::metrics {
namespace {

using test::py_array;
using test::py_print;

const char* kSklearn = "import numpy as np\nfrom sklearn import metrics as M\n";

TEST(Kappa, MatchesSklearnOnRandomLabels) {
  std::vector<torch::Tensor> truths, preds;
  std::string code = kSklearn;
  for (int i = 0; i < 3; ++i) {
    truths.push_back(torch::randint(0, 5, {150}, torch::kLong));
    // Predictions correlated with the truth, with some noise.
    preds.push_back((truths.back() + torch::randint(-1, 2, {150}, torch::kLong)).clamp(0, 4));
    code += fmt::format("t{0} = {1}\np{0} = {2}\n", i, py_array(truths.back()), py_array(preds.back()));
    code += py_print(fmt::format("M.cohen_kappa_score(t{0}, p{0}, weights='quadratic')", i));
    code += py_print(fmt::format("M.cohen_kappa_score(t{0}, p{0}, weights='linear')", i));
    code += py_print(fmt::format("M.cohen_kappa_score(t{0}, p{0})", i));
    code += py_print(fmt::format("M.cohen_kappa_score(t{0}, p{0}, labels=[0, 1, 2], weights='quadratic')", i));
    code += py_print(fmt::format("M.cohen_kappa_score(t{0}, p{0}, labels=[3, 0, 4, 1, 2], weights='quadratic')", i));
  }
  // Labels that skip a value: weights follow list positions, not values.
  const auto sparse_t = torch::randint(0, 3, {80}, torch::kLong) * 3,
             sparse_p = torch::randint(0, 3, {80}, torch::kLong) * 3;
  code += "st = " + py_array(sparse_t) + "\nsp = " + py_array(sparse_p) + "\n" +
          py_print("M.cohen_kappa_score(st, sp, weights='quadratic')");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 16u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& t = truths[i];
    const auto& p = preds[i];
    EXPECT_NEAR(quadratic_weighted_kappa(t, p), peer[5 * i][0].item<double>(), 1e-12);
    EXPECT_NEAR(cohen_kappa(t, p, KappaWeights::linear), peer[5 * i + 1][0].item<double>(), 1e-12);
    EXPECT_NEAR(cohen_kappa(t, p, KappaWeights::none), peer[5 * i + 2][0].item<double>(), 1e-12);
    EXPECT_NEAR(quadratic_weighted_kappa(t, p, {0, 1, 2}), peer[5 * i + 3][0].item<double>(), 1e-12);
    EXPECT_NEAR(quadratic_weighted_kappa(t, p, {3, 0, 4, 1, 2}), peer[5 * i + 4][0].item<double>(), 1e-12);
  }
  EXPECT_NEAR(quadratic_weighted_kappa(sparse_t, sparse_p), peer[15][0].item<double>(), 1e-12);
}

TEST(Kappa, EdgeCases) {
  const auto y = torch::tensor({0, 1, 2, 3, 4, 2});
  EXPECT_DOUBLE_EQ(quadratic_weighted_kappa(y, y), 1.0);
  // Reversed grades disagree maximally.
  EXPECT_LT(quadratic_weighted_kappa(torch::tensor({0, 4}), torch::tensor({4, 0})), -0.99);
  // One class only: 0/0, NaN as in sklearn.
  EXPECT_TRUE(std::isnan(quadratic_weighted_kappa(torch::tensor({2, 2}), torch::tensor({2, 2}))));
  EXPECT_THROW(quadratic_weighted_kappa(torch::tensor({1, 2}), torch::tensor({1})), Error);
  EXPECT_THROW(quadratic_weighted_kappa(y, y, {0, 1, 1}), Error);
  EXPECT_EQ(parse_kappa_weights("quadratic"), KappaWeights::quadratic);
  EXPECT_THROW(parse_kappa_weights("cubic"), Error);
}

TEST(Kappa, OrdinalDecodings) {
  const auto outputs = torch::tensor({0.9, 0.8, 0.1, 0.0, 0.0,   // grade 1 either way
                                      0.9, 0.2, 0.7, 0.0, 0.0,   // non-monotone: leading run 0, reference count 1
                                      0.3, 0.2, 0.1, 0.0, 0.0,   // nothing above .5: 0 vs the reference's -1
                                      0.9, 0.9, 0.9, 0.9, 0.9,   // grade 4
                                      0.4, 0.9, 0.9, 0.0, 0.0})  // leading run 0 (clamped), reference 1
                           .reshape({5, 5});
  EXPECT_TRUE(torch::equal(decode_ordinal(outputs), torch::tensor({1, 0, 0, 4, 0})));
  EXPECT_TRUE(torch::equal(decode_ordinal(outputs, OrdinalDecoding::reference_count), torch::tensor({1, 1, -1, 4, 1})));
  EXPECT_TRUE(
      torch::equal(decode_ordinal(outputs, OrdinalDecoding::leading_run, 0.85), torch::tensor({0, 0, 0, 4, 0})));
}

TEST(Kappa, ReferenceKaggleScoresMatchTheReferencePipeline) {
  // True multilabel vectors from grades; predictions are noisy probabilities (some rows end up with grade -1).
  const auto grades = torch::randint(0, 5, {120}, torch::kLong);
  const auto truth = (torch::arange(5).unsqueeze(0) <= grades.unsqueeze(1)).to(torch::kFloat64);
  // True entries land in [.45, .95), false ones below .5: about one grade-0 row in ten decodes to -1.
  const auto predicted = truth * 0.45 + torch::rand({120, 5}, torch::kFloat64) * 0.5;
  std::string code = std::string(kSklearn) + "y = " + py_array(truth) + "\np = " + py_array(predicted) +
                     "\n"
                     "def t(v):\n    return (v > 0.5).astype(int).sum(axis=1) - 1\n" +
                     py_print("M.cohen_kappa_score(t(y), t(p), labels=[0, 1, 2, 3, 4], weights='quadratic')") +
                     py_print("M.accuracy_score(t(y), t(p))") + py_print("(t(p) == -1).sum()");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 3u);
  EXPECT_GT(peer[2][0].item<double>(), 0) << "the sample should contain dropped (-1) predictions";
  EXPECT_NEAR(reference_qw_kappa_kaggle(truth, predicted), peer[0][0].item<double>(), 1e-12);
  EXPECT_NEAR(reference_cat_acc_kaggle(truth, predicted), peer[1][0].item<double>(), 1e-12);
  // The fixed decoding keeps every sample, so it generally differs.
  const double fixed = ordinal_qw_kappa(truth, predicted);
  EXPECT_TRUE(std::isfinite(fixed));
}

TEST(ClassificationMetrics, MatchSklearn) {
  const auto y = torch::randint(0, 4, {90}, torch::kLong);
  // Class 3 is never predicted (precision 0/0 -> 0).
  const auto p = torch::where(torch::rand({90}) < 0.6, y, torch::randint(0, 3, {90}, torch::kLong)).clamp(0, 2);
  const auto probabilities = torch::softmax(torch::randn({90, 4}, torch::kFloat64) + 1.5 * torch::one_hot(y, 4), 1);
  const auto tied = (probabilities * 10).round() / 10;  // many ties
  std::string code =
      std::string(kSklearn) + "y = " + py_array(y) + "\np = " + py_array(p) + "\ns = " + py_array(probabilities) +
      "\nr = " + py_array(tied) + "\n" + py_print("M.confusion_matrix(y, p, labels=[0, 1, 2, 3])") +
      py_print("M.accuracy_score(y, p)") +
      "pr, rc, f1, sup = M.precision_recall_fscore_support(y, p, labels=[0, 1, 2, 3], zero_division=0)\n" +
      py_print("pr") + py_print("rc") + py_print("f1") + py_print("sup") +
      py_print("M.roc_auc_score(y, s, multi_class='ovr', average='macro')") +
      py_print("[M.roc_auc_score(y == c, r[:, c]) for c in range(4)]");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 8u);
  EXPECT_TRUE(torch::equal(confusion_matrix(y, p, 4).flatten().to(torch::kFloat64), peer[0]));
  EXPECT_NEAR(accuracy(y, p), peer[1][0].item<double>(), 1e-15);
  const auto scores = precision_recall_f1(y, p, 4);
  EXPECT_TRUE(torch::allclose(torch::tensor(scores.precision, torch::kFloat64), peer[2], 1e-14, 1e-15));
  EXPECT_TRUE(torch::allclose(torch::tensor(scores.recall, torch::kFloat64), peer[3], 1e-14, 1e-15));
  EXPECT_TRUE(torch::allclose(torch::tensor(scores.f1, torch::kFloat64), peer[4], 1e-14, 1e-15));
  EXPECT_TRUE(torch::equal(torch::tensor(scores.support, torch::kLong).to(torch::kFloat64), peer[5]));
  EXPECT_NEAR(scores.macro_f1, peer[4].mean().item<double>(), 1e-14);
  EXPECT_NEAR(roc_auc_ovr_macro(y, probabilities).macro, peer[6][0].item<double>(), 1e-12);
  const auto tied_auc = roc_auc_ovr_macro(y, tied);
  EXPECT_TRUE(torch::allclose(torch::tensor(tied_auc.per_class, torch::kFloat64), peer[7], 1e-12, 1e-12));
}

TEST(ClassificationMetrics, AucEdgeCases) {
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0, 0, 1, 1}), torch::tensor({0.1, 0.2, 0.3, 0.4})), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(torch::tensor({0, 1}), torch::tensor({0.5, 0.5})), 0.5);
  EXPECT_TRUE(std::isnan(roc_auc(torch::tensor({1, 1}), torch::tensor({0.2, 0.4}))));
  // A class missing from y_true is NaN and left out of the macro mean.
  const auto auc = roc_auc_ovr_macro(
      torch::tensor({0, 0, 1, 1}),
      torch::tensor({0.9, 0.1, 0.0, 0.8, 0.2, 0.0, 0.3, 0.7, 0.0, 0.1, 0.9, 0.0}, torch::kFloat64).reshape({4, 3}));
  EXPECT_DOUBLE_EQ(auc.per_class[0], 1.0);
  EXPECT_DOUBLE_EQ(auc.per_class[1], 1.0);
  EXPECT_TRUE(std::isnan(auc.per_class[2]));
  EXPECT_DOUBLE_EQ(auc.macro, 1.0);
  EXPECT_THROW(confusion_matrix(torch::tensor({0, 3}), torch::tensor({0, 1}), 3), Error);
}

TEST(SegmentationMetrics, PooledScoresMatchTheReferenceSklearnPipeline) {
  // Three "cases"; class 3 of 4 never occurs in truth or prediction (the reference's index-shift situation).
  const auto truth = torch::randint(0, 3, {3, 6, 7, 5}, torch::kLong);
  const auto predicted =
      torch::where(torch::rand({3, 6, 7, 5}) < 0.7, truth, torch::randint(0, 3, {3, 6, 7, 5}, torch::kLong));
  std::string code = std::string(kSklearn) + "y = " + py_array(truth) + ".flatten()\np = " + py_array(predicted) +
                     ".flatten()\n" + "j = M.jaccard_score(y, p, average=None)\n" +
                     py_print("np.average([2 * x / (1 + x) for x in j])") +
                     py_print("M.jaccard_score(y, p, average='macro')") + py_print("[2 * x / (1 + x) for x in j]");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 3u);
  OverlapCounts counts(4);
  for (int64_t b = 0; b < 3; ++b) counts.add(predicted[b], truth[b]);  // case by case == all at once
  const auto scores = reference_seg_scores(counts);
  EXPECT_NEAR(scores.dice, peer[0][0].item<double>(), 1e-12);
  EXPECT_NEAR(scores.jaccard, peer[1][0].item<double>(), 1e-12);
  ASSERT_EQ(scores.labels, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(torch::allclose(torch::tensor(scores.dice_per_label, torch::kFloat64), peer[2], 1e-12, 1e-12));
  EXPECT_TRUE(std::isnan(counts.dice(3)));
  EXPECT_TRUE(std::isnan(scores.dice_at(3)));
  EXPECT_NEAR(counts.dice(2), scores.dice_at(2), 1e-12);
}

TEST(SegmentationMetrics, PresentLabelIndexShiftQuirk) {
  // Class 1 absent everywhere: the reference's dice_pancreas_1 is then class 2's Dice.
  const auto truth = torch::tensor({0, 0, 2, 2, 2, 0});
  const auto predicted = torch::tensor({0, 2, 2, 2, 0, 0});
  OverlapCounts counts(3);
  counts.add(predicted, truth);
  EXPECT_TRUE(std::isnan(counts.dice(1)));
  EXPECT_DOUBLE_EQ(counts.dice(2), 2.0 * 2 / (3 + 3));
  EXPECT_DOUBLE_EQ(counts.dice(0), 2.0 * 2 / (3 + 3));
  const auto scores = reference_seg_scores(counts);
  EXPECT_NEAR(scores.dice_at(1), counts.dice(2), 1e-15);  // the shift
  EXPECT_NEAR(scores.dice, (counts.dice(0) + counts.dice(2)) / 2, 1e-15);
  EXPECT_NEAR(counts.mean_dice(false), counts.dice(2), 1e-15);
  EXPECT_EQ(counts.true_positives(2), 2);
  EXPECT_EQ(counts.false_positives(2), 1);
  EXPECT_EQ(counts.false_negatives(2), 1);
  EXPECT_THROW(counts.add(torch::tensor({3}), torch::tensor({0})), Error);
  EXPECT_THROW(counts.add(torch::tensor({1, 2}), torch::tensor({0})), Error);
}

TEST(SegmentationMetrics, PerCaseDiceFollowsMonai) {
  // Case 0: class 1 perfect, class 2 predicted but absent from the truth. Case 1: no foreground at all.
  const auto truth = torch::tensor({0, 1, 1, 0, 0, 0, 0, 0}).reshape({2, 4});
  const auto predicted = torch::tensor({2, 1, 1, 0, 0, 0, 0, 0}).reshape({2, 4});
  const auto d = dice_per_case(predicted, truth, CaseOverlapOptions(3));
  ASSERT_EQ(d.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_DOUBLE_EQ(d[0][0].item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(d[0][1].item<double>()));  // ignore_empty
  EXPECT_TRUE(std::isnan(d[1][0].item<double>()));
  EXPECT_TRUE(std::isnan(d[1][1].item<double>()));
  EXPECT_DOUBLE_EQ(mean_over_cases(d), 1.0);  // case 1 has no valid class and does not count
  const auto per_class = mean_per_class(d);
  EXPECT_DOUBLE_EQ(per_class[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(per_class[1].item<double>(), 0.0);  // no valid value: 0, as MONAI

  const auto strict = dice_per_case(predicted, truth, CaseOverlapOptions(3).ignore_empty(false));
  EXPECT_DOUBLE_EQ(strict[0][1].item<double>(), 0.0);  // predicted where nothing is
  EXPECT_DOUBLE_EQ(strict[1][0].item<double>(), 1.0);  // both empty
  EXPECT_DOUBLE_EQ(mean_over_cases(strict), 0.75);

  const auto with_bg = dice_per_case(predicted, truth, CaseOverlapOptions(3).include_background(true));
  EXPECT_DOUBLE_EQ(with_bg[0][0].item<double>(), 2.0 * 1 / (2 + 1));
  EXPECT_DOUBLE_EQ(with_bg[1][0].item<double>(), 1.0);
  const auto iou = jaccard_per_case(predicted, truth, CaseOverlapOptions(3).include_background(true));
  EXPECT_DOUBLE_EQ(iou[0][0].item<double>(), 0.5);
  // A channel axis of 1 changes nothing.
  EXPECT_TRUE(torch::allclose(dice_per_case(predicted.unsqueeze(1), truth.unsqueeze(1), CaseOverlapOptions(3)), d, 0, 0,
                              /*equal_nan=*/true));
}

TEST(Hausdorff, MatchesMonaiAlgorithmWithScipy) {
  // Smooth random blobs, 2D and 3D.
  const auto blob = [](std::vector<int64_t> shape, double level) {
    auto noise = torch::randn(shape, torch::kFloat64).unsqueeze(0).unsqueeze(0);
    const auto dims = static_cast<int64_t>(shape.size());
    noise = dims == 2 ? torch::avg_pool2d(noise, 5, 1, 2) : torch::avg_pool3d(noise, 3, 1, 1);
    return (noise.squeeze(0).squeeze(0) > level);
  };
  const auto a2 = blob({20, 24}, 0.0), b2 = blob({20, 24}, 0.05);
  const auto a3 = blob({10, 12, 9}, 0.0), b3 = blob({10, 12, 9}, 0.1);
  std::string code =
      std::string("import numpy as np\nfrom scipy.ndimage import binary_erosion, distance_transform_edt\n") +
      "def hd(p, g, q=95, spacing=None, directed=False):\n"
      "    ep = binary_erosion(p) ^ p\n    eg = binary_erosion(g) ^ g\n"
      "    d1 = np.quantile(distance_transform_edt(~eg, sampling=spacing)[ep], q / 100)\n"
      "    if directed:\n        return d1\n"
      "    return max(d1, np.quantile(distance_transform_edt(~ep, sampling=spacing)[eg], q / 100))\n"
      "a2 = " +
      py_array(a2) + ".astype(bool)\nb2 = " + py_array(b2) + ".astype(bool)\na3 = " + py_array(a3) +
      ".astype(bool)\nb3 = " + py_array(b3) + ".astype(bool)\n" + py_print("hd(a2, b2)") +
      py_print("hd(a2, b2, q=100)") + py_print("hd(a2, b2, directed=True)") + py_print("hd(a3, b3)") +
      py_print("hd(a3, b3, spacing=(1.5, 0.8, 2.0))");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 5u);
  EXPECT_NEAR(hausdorff_distance(a2, b2), peer[0][0].item<double>(), 1e-9);
  EXPECT_NEAR(hausdorff_distance(a2, b2, HausdorffOptions().percentile(100)), peer[1][0].item<double>(), 1e-9);
  EXPECT_NEAR(hausdorff_distance(a2, b2, HausdorffOptions().directed(true)), peer[2][0].item<double>(), 1e-9);
  EXPECT_NEAR(hausdorff_distance(a3, b3), peer[3][0].item<double>(), 1e-9);
  EXPECT_NEAR(hausdorff_distance(a3, b3, HausdorffOptions().spacing({1.5, 0.8, 2.0})), peer[4][0].item<double>(), 1e-9);
}

TEST(Hausdorff, EmptyMasksAndClassMaps) {
  const auto empty = torch::zeros({6, 6}, torch::kBool);
  auto square = torch::zeros({6, 6}, torch::kBool);
  square.slice(0, 1, 4).slice(1, 1, 4).fill_(true);
  EXPECT_TRUE(std::isnan(hausdorff_distance(empty, empty)));
  EXPECT_TRUE(std::isinf(hausdorff_distance(square, empty)));
  EXPECT_TRUE(std::isinf(hausdorff_distance(empty, square)));
  EXPECT_DOUBLE_EQ(hausdorff_distance(square, square), 0.0);
  // A square shifted by 2 columns: every edge point is at most 2 away.
  const auto shifted = torch::roll(square, 2, 1);
  EXPECT_DOUBLE_EQ(hausdorff_distance(square, shifted, HausdorffOptions().percentile(100)), 2.0);
  const auto labels = torch::stack({square.to(torch::kLong), shifted.to(torch::kLong) * 2});
  const auto per_case = hausdorff_per_case(labels, labels, 3);
  ASSERT_EQ(per_case.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_DOUBLE_EQ(per_case[0][0].item<double>(), 0.0);
  EXPECT_TRUE(std::isnan(per_case[0][1].item<double>()));
  EXPECT_TRUE(std::isnan(per_case[1][0].item<double>()));
}

}  // namespace
}  // namespace medssl::metrics
