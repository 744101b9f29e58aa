// Segmentation losses: MONAI-style Dice and Dice+CE (checked by hand and against MONAI's formulas written out in
// Python torch, MONAI itself not being installed) and the Taleb et al. reference losses (against the Keras code of
// sst/utils/metrics.py transcribed to torch, channels-last as in the reference).
#include <gtest/gtest.h>

#include <cmath>

#include "medssl/core/error.h"
#include "medssl/losses/dice.h"
#include "medssl/losses/dice_ce.h"
#include "medssl/losses/reference_seg_losses.h"
#include "python_peer.h"
#include "testkit/testkit.h"

namespace medssl::losses {
namespace {

using test::py_print;
using test::py_tensor;

// MONAI's DiceLoss.forward and DiceCELoss.forward (monai/losses/dice.py, compute_tp_fp_fn), transcribed.
const char* kPythonMonai = R"PY(
import torch
import torch.nn.functional as F
def monai_dice(inp, target, include_background=True, sigmoid=False, softmax=True, to_onehot_y=True,
               squared_pred=False, jaccard=False, smooth_nr=1e-5, smooth_dr=1e-5, batch=False, weight=None,
               reduction='mean'):
    if sigmoid:
        inp = torch.sigmoid(inp)
    n = inp.shape[1]
    if softmax:
        inp = torch.softmax(inp, 1)
    if to_onehot_y:
        target = F.one_hot(target[:, 0].long(), n).movedim(-1, 1).to(inp.dtype)
    if not include_background:
        target = target[:, 1:]
        inp = inp[:, 1:]
    axes = list(range(2, inp.dim()))
    if batch:
        axes = [0] + axes
    if not squared_pred:
        tp = torch.sum(inp * target, dim=axes)
        fp = torch.sum(inp, dim=axes) - tp
        fn = torch.sum(target, dim=axes) - tp
    else:
        po = torch.linalg.vector_norm(inp, 2, dim=axes) ** 2
        go = torch.linalg.vector_norm(target, 2, dim=axes) ** 2
        df = torch.linalg.vector_norm(inp - target, 2, dim=axes) ** 2
        tp = (po + go - df) / 2
        fp = po - tp
        fn = go - tp
    if not jaccard:
        fp = fp * 0.5
        fn = fn * 0.5
    f = 1 - (2 * tp + smooth_nr) / (2 * (tp + fp + fn) + smooth_dr)
    if weight is not None and target.shape[1] != 1:
        f = f * torch.tensor(weight, dtype=f.dtype)
    if reduction == 'mean':
        return f.mean()
    if reduction == 'sum':
        return f.sum()
    return f.view(list(f.shape[0:2]) + [1] * (len(inp.shape) - 2))
def monai_dice_ce(inp, target, weight=None, include_background=True, lambda_dice=1.0, lambda_ce=1.0,
                  label_smoothing=0.0, onehot_target=False):
    dice_weight = weight[1:] if (weight is not None and not include_background) else weight
    w = None if weight is None else torch.tensor(weight, dtype=inp.dtype)
    if inp.shape[1] == 1:
        d = monai_dice(inp, target, sigmoid=True, softmax=False, to_onehot_y=False, weight=dice_weight)
        ce = torch.nn.BCEWithLogitsLoss(pos_weight=w)(inp, target.to(inp.dtype))
    elif onehot_target:
        d = monai_dice(inp, target, to_onehot_y=False, include_background=include_background, weight=dice_weight)
        ce = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=label_smoothing)(inp, target.to(inp.dtype))
    else:
        d = monai_dice(inp, target, include_background=include_background, weight=dice_weight)
        ce = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=label_smoothing)(inp, target[:, 0].long())
    return lambda_dice * d + lambda_ce * ce
)PY";

torch::Tensor random_labels(std::vector<int64_t> shape, int64_t classes) {
  return torch::randint(0, classes, shape, torch::kLong);
}

TEST(DiceLoss, HandComputedTwoPixelCase) {
  // Probabilities given directly (activation none): channel 0 = (.8, .3), channel 1 = (.2, .7); labels (0, 1).
  const auto probs = torch::tensor({0.8, 0.3, 0.2, 0.7}, torch::kFloat64).reshape({1, 2, 2, 1});
  const auto labels = torch::tensor({0, 1}, torch::kLong).reshape({1, 2, 1});
  const double s = 1e-5;
  const double d0 = (2 * 0.8 + s) / (1.1 + 1.0 + s), d1 = (2 * 0.7 + s) / (0.9 + 1.0 + s);
  const auto loss = dice_loss(probs, labels, DiceLossOptions().activation(DiceActivation::none));
  EXPECT_NEAR(loss.item<double>(), 1 - (d0 + d1) / 2, 1e-15);
  const auto fg =
      dice_loss(probs, labels, DiceLossOptions().activation(DiceActivation::none).include_background(false));
  EXPECT_NEAR(fg.item<double>(), 1 - d1, 1e-15);
  // Jaccard: tp / union with the same smoothing (2 tp + s) / (2 union + s).
  const auto jac = dice_loss(probs, labels, DiceLossOptions().activation(DiceActivation::none).jaccard(true));
  const double j0 = (2 * 0.8 + s) / (2 * (1.1 + 1.0 - 0.8) + s), j1 = (2 * 0.7 + s) / (2 * (0.9 + 1.0 - 0.7) + s);
  EXPECT_NEAR(jac.item<double>(), 1 - (j0 + j1) / 2, 1e-15);
}

TEST(DiceLoss, PerfectAndWrongPredictions) {
  const auto labels = random_labels({2, 6, 7}, 3);
  const auto one_hot = torch::one_hot(labels, 3).permute({0, 3, 1, 2}).to(torch::kFloat32);
  EXPECT_LT(dice_loss(one_hot * 40, labels).item<double>(), 1e-6);
  EXPECT_GT(dice_loss((1 - one_hot) * 40, labels).item<double>(), 0.999);
}

TEST(DiceLoss, ClassMapFormsAndOneHotAgree) {
  const auto logits = torch::randn({2, 3, 5, 4});
  const auto labels = random_labels({2, 5, 4}, 3);
  const auto one_hot = torch::one_hot(labels, 3).permute({0, 3, 1, 2});
  const double a = dice_loss(logits, labels).item<double>();
  EXPECT_DOUBLE_EQ(dice_loss(logits, labels.unsqueeze(1)).item<double>(), a);
  EXPECT_DOUBLE_EQ(dice_loss(logits, labels.unsqueeze(1).to(torch::kFloat32)).item<double>(), a);
  EXPECT_NEAR(dice_loss(logits, one_hot).item<double>(), a, 1e-7);
}

TEST(DiceLoss, MatchesMonaiFormulaForEveryOption) {
  const auto logits = torch::randn({2, 3, 4, 5}, torch::kFloat64) * 2;
  const auto labels = random_labels({2, 1, 4, 5}, 3);
  const auto masks = torch::randint(0, 2, {2, 3, 4, 5}, torch::kFloat64);
  const auto logits3d = torch::randn({1, 2, 3, 4, 5}, torch::kFloat64);
  const auto labels3d = random_labels({1, 1, 3, 4, 5}, 2);
  std::string code = std::string(kPythonMonai) + "x = " + py_tensor(logits) + "\ny = " + py_tensor(labels) +
                     "\nm = " + py_tensor(masks) + "\nx3 = " + py_tensor(logits3d) + "\ny3 = " + py_tensor(labels3d) +
                     "\n";
  code += py_print("monai_dice(x, y)");
  code += py_print("monai_dice(x, y, include_background=False)");
  code += py_print("monai_dice(x, y, squared_pred=True)");
  code += py_print("monai_dice(x, y, batch=True)");
  code += py_print("monai_dice(x, y, jaccard=True, smooth_nr=0.1, smooth_dr=0.2)");
  code += py_print("monai_dice(x, y, weight=[0.5, 1.0, 2.0])");
  code += py_print("monai_dice(x, y, include_background=False, weight=[1.0, 3.0], reduction='sum')");
  code += py_print("monai_dice(x, y, reduction='none')");
  code += py_print("monai_dice(x, m, sigmoid=True, softmax=False, to_onehot_y=False)");
  code += py_print("monai_dice(x3, y3, batch=True, squared_pred=True)");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 10u);

  using O = DiceLossOptions;
  const std::vector<torch::Tensor> ours = {
      dice_loss(logits, labels),
      dice_loss(logits, labels, O().include_background(false)),
      dice_loss(logits, labels, O().squared_pred(true)),
      dice_loss(logits, labels, O().batch(true)),
      dice_loss(logits, labels, O().jaccard(true).smooth_nr(0.1).smooth_dr(0.2)),
      dice_loss(logits, labels, O().class_weights({0.5, 1.0, 2.0})),
      dice_loss(logits, labels, O().include_background(false).class_weights({1.0, 3.0}).reduction(LossReduction::sum)),
      dice_loss(logits, labels, O().reduction(LossReduction::none)),
      dice_loss(logits, masks, O().activation(DiceActivation::sigmoid)),
      dice_loss(logits3d, labels3d, O().batch(true).squared_pred(true)),
  };
  EXPECT_EQ(ours[7].sizes(), torch::IntArrayRef({2, 3, 1, 1}));
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i].flatten(), peer[i], 1e-12, 1e-12))
        << "case " << i << ": ours " << ours[i].flatten() << " MONAI formula " << peer[i];
  }
}

TEST(DiceLoss, TrainsLogitsTowardsTheLabels) {
  const auto labels = random_labels({2, 8, 8}, 3);
  auto logits = torch::zeros({2, 3, 8, 8}, torch::requires_grad());
  torch::optim::Adam adam({logits}, torch::optim::AdamOptions(0.1));
  const double first = dice_loss(logits, labels).item<double>();
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    auto loss = dice_loss(logits, labels, DiceLossOptions().include_background(false));
    loss.backward();
    adam.step();
  }
  const double last = dice_loss(logits, labels).item<double>();
  EXPECT_LT(last, first * 0.3) << "first " << first << " last " << last;
  EXPECT_GT((logits.argmax(1) == labels).to(torch::kFloat64).mean().item<double>(), 0.95);
}

TEST(DiceLoss, RejectsBadInputsWithClearMessages) {
  const auto logits = torch::randn({2, 3, 4, 4});
  EXPECT_NE(testkit::error_of([&] {
              dice_loss(logits, torch::full({2, 4, 4}, 3, torch::kLong));
            }).find("[0, 3)"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              dice_loss(logits, torch::zeros({2, 4, 5}, torch::kLong));
            }).find("target shape"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              dice_loss(logits, torch::full({2, 4, 4}, 0.5));
            }).find("non-integer"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              dice_loss(torch::randn({2, 1, 4, 4}), torch::zeros({2, 4, 4}));
            }).find("single output channel"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              dice_loss(logits, torch::zeros({2, 4, 4}, torch::kLong), DiceLossOptions().class_weights({1, 2}));
            }).find("class_weights"),
            std::string::npos);
  EXPECT_THROW(parse_dice_activation("tanh"), Error);
}

TEST(DiceCELoss, MatchesMonaiFormula) {
  const auto logits = torch::randn({2, 3, 4, 5}, torch::kFloat64) * 2;
  const auto labels = random_labels({2, 1, 4, 5}, 3);
  const auto soft = torch::softmax(torch::randn({2, 3, 4, 5}, torch::kFloat64), 1);
  const auto binary_logits = torch::randn({2, 1, 4, 5}, torch::kFloat64);
  const auto mask = torch::randint(0, 2, {2, 1, 4, 5}, torch::kFloat64);
  std::string code = std::string(kPythonMonai) + "x = " + py_tensor(logits) + "\ny = " + py_tensor(labels) +
                     "\ns = " + py_tensor(soft) + "\nb = " + py_tensor(binary_logits) + "\nm = " + py_tensor(mask) +
                     "\n";
  code += py_print("monai_dice_ce(x, y)");
  code += py_print("monai_dice_ce(x, y, weight=[1.0, 2.0, 3.0], include_background=False)");
  code += py_print("monai_dice_ce(x, y, lambda_dice=0.7, lambda_ce=1.3, label_smoothing=0.1)");
  code += py_print("monai_dice_ce(x, s, onehot_target=True, weight=[0.5, 1.0, 1.5])");
  code += py_print("monai_dice_ce(b, m, weight=[2.0])");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 5u);

  using O = DiceCELossOptions;
  const std::vector<torch::Tensor> ours = {
      dice_ce_loss(logits, labels),
      dice_ce_loss(logits, labels, O().class_weights({1, 2, 3}).dice(DiceLossOptions().include_background(false))),
      dice_ce_loss(logits, labels, O().lambda_dice(0.7).lambda_ce(1.3).label_smoothing(0.1)),
      dice_ce_loss(logits, soft, O().class_weights({0.5, 1.0, 1.5})),
      dice_ce_loss(binary_logits, mask,
                   O().class_weights({2.0}).dice(DiceLossOptions().activation(DiceActivation::sigmoid))),
  };
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i].flatten(), peer[i], 1e-12, 1e-12))
        << "case " << i << ": ours " << ours[i].item<double>() << " MONAI formula " << peer[i];
  }
}

TEST(DiceCELoss, TermsAddUpAndOptionsAreChecked) {
  const auto logits = torch::randn({2, 3, 4, 4});
  const auto labels = random_labels({2, 4, 4}, 3);
  const auto terms = dice_ce_terms(logits, labels, DiceCELossOptions().lambda_dice(2).lambda_ce(0.5));
  EXPECT_NEAR(terms.total.item<double>(), 2 * terms.dice.item<double>() + 0.5 * terms.ce.item<double>(), 1e-6);
  EXPECT_NEAR(terms.dice.item<double>(), dice_loss(logits, labels).item<double>(), 1e-7);
  EXPECT_NEAR(terms.ce.item<double>(), torch::cross_entropy_loss(logits, labels).item<double>(), 1e-7);
  EXPECT_NE(testkit::error_of([&] {
              dice_ce_loss(logits, labels, DiceCELossOptions().dice(DiceLossOptions().class_weights({1, 1, 1})));
            }).find("serve both terms"),
            std::string::npos);
  EXPECT_THROW(dice_ce_loss(logits, labels, DiceCELossOptions().reduction(LossReduction::none)), Error);
  EXPECT_THROW(dice_ce_loss(logits, labels, DiceCELossOptions().lambda_ce(-1)), Error);
}

// sst/utils/metrics.py, channels-last, with torch standing in for keras.backend.
const char* kPythonReference = R"PY(
import torch
s, eps = 1e-5, 1e-7
def wdc(y, p):
    ax = tuple(range(p.dim() - 1))
    return torch.mean(2. * ((y * p).sum(ax) + s / 2) / (y.sum(ax) + p.sum(ax) + s))
def wdc_per_class(y, p):
    ax = tuple(range(p.dim() - 1))
    return 2. * ((y * p).sum(ax) + s / 2) / (y.sum(ax) + p.sum(ax) + s)
def jaccard_distance(y, p):
    ax = tuple(range(p.dim() - 1))
    inter = torch.abs(y * p).sum(ax)
    sm = (torch.abs(y) + torch.abs(p)).sum(ax)
    jac = (inter + s) / (sm - inter + s + eps)
    return (1 - torch.mean(jac)) * s
def wcce(y, p, w=(1, 5, 10)):
    w = torch.tensor(w, dtype=p.dtype)
    ya = p / (p.sum(-1, keepdim=True) + eps)
    yb = torch.clamp(ya, eps, 1 - eps)
    return torch.mean(-torch.sum(y * torch.log(yb) * w, -1))
)PY";

TEST(ReferenceSegLoss, MatchesTheKerasCode) {
  const auto logits = torch::randn({2, 3, 4, 3, 5}, torch::kFloat64) * 2;
  const auto labels = random_labels({2, 4, 3, 5}, 3);
  std::string code = std::string(kPythonReference) + "x = " + py_tensor(logits) + "\nl = " + py_tensor(labels) +
                     "\np = torch.softmax(x, 1).movedim(1, -1)\n"
                     "y = torch.nn.functional.one_hot(l, 3).to(torch.float64)\n";
  code += py_print("-wdc(y, p)") + py_print("wdc_per_class(y, p)") + py_print("jaccard_distance(y, p)") +
          py_print("wcce(y, p)") + py_print("0.5 * jaccard_distance(y, p) + 0.5 * wcce(y, p)");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 5u);

  const auto probs = torch::softmax(logits, 1);
  const auto one_hot = segmentation_target_as_one_hot(labels, logits, "test");
  const std::vector<torch::Tensor> ours = {
      reference::seg_loss(reference::SegLoss::weighted_dice_loss, logits, labels),
      reference::dice_coefficient_per_class(probs, one_hot),
      reference::seg_loss(reference::SegLoss::jaccard_distance, logits, labels),
      reference::weighted_categorical_crossentropy(probs, one_hot),
      reference::seg_loss(reference::SegLoss::weighted_sum_loss, logits, labels),
  };
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i].flatten(), peer[i], 1e-12, 1e-15))
        << "case " << i << ": ours " << ours[i].flatten() << " reference " << peer[i];
  }
}

TEST(ReferenceSegLoss, QuirksAreVisible) {
  const auto logits = torch::randn({2, 3, 6, 6}, torch::kFloat64);
  const auto labels = random_labels({2, 6, 6}, 3);
  const auto probs = torch::softmax(logits, 1);
  const auto one_hot = segmentation_target_as_one_hot(labels, logits, "test");
  // jaccard_distance is the plain distance times 1e-5.
  const double scaled = reference::jaccard_distance(probs, one_hot).item<double>();
  const double plain = reference::jaccard_distance(probs, one_hot, reference::kSmooth, false).item<double>();
  EXPECT_GT(plain, 0.3);
  EXPECT_NEAR(scaled, plain * 1e-5, 1e-18);
  // So weighted_sum_loss is half the weighted cross-entropy up to ~1e-5.
  const double sum = reference::weighted_sum_loss(probs, one_hot).item<double>();
  const double wcce = reference::weighted_categorical_crossentropy(probs, one_hot).item<double>();
  EXPECT_NEAR(sum, 0.5 * wcce, 1e-5);
  // The "weighted" dice uses no weights: it equals 1 - MONAI-style batch Dice up to the smoothing terms.
  const double ref = reference::weighted_dice_loss(probs, one_hot).item<double>();
  const double batch_dice = dice_loss(logits, labels, DiceLossOptions().batch(true)).item<double>();
  EXPECT_NEAR(ref, batch_dice - 1, 1e-9);
}

TEST(ReferenceSegLoss, NamesAndChecks) {
  EXPECT_EQ(reference::parse_seg_loss("weighted_dice_loss"), reference::SegLoss::weighted_dice_loss);
  EXPECT_EQ(reference::parse_seg_loss("weighted_dice_coefficient_loss"), reference::SegLoss::weighted_dice_loss);
  EXPECT_EQ(reference::parse_seg_loss("jaccard_distance"), reference::SegLoss::jaccard_distance);
  EXPECT_EQ(reference::parse_seg_loss("weighted_sum_loss"), reference::SegLoss::weighted_sum_loss);
  EXPECT_NE(testkit::error_of([] { reference::parse_seg_loss("dice"); }).find("'dice'"), std::string::npos);
  // The (1, 5, 10) class weights are for three classes.
  const auto logits = torch::randn({1, 4, 3, 3});
  EXPECT_NE(testkit::error_of([&] {
              reference::seg_loss(reference::SegLoss::weighted_sum_loss, logits, torch::zeros({1, 3, 3}, torch::kLong));
            }).find("3 classes"),
            std::string::npos);
}

}  // namespace
}  // namespace medssl::losses
