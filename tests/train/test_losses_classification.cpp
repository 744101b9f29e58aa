// Classification losses against torch (Python) and the reference's ordinal (multilabel) encoding of APTOS grades.
#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/losses/classification.h"
#include "python_peer.h"
#include "testkit/testkit.h"

namespace medssl::losses {
namespace {

using test::py_print;
using test::py_tensor;

TEST(ClassificationLoss, CrossEntropyMatchesTorch) {
  const auto logits = torch::randn({7, 4}, torch::kFloat64) * 2;
  const auto labels = torch::randint(0, 4, {7}, torch::kLong);
  const auto soft = torch::softmax(torch::randn({7, 4}, torch::kFloat64), 1);
  const auto seg_logits = torch::randn({2, 3, 4, 5}, torch::kFloat64);
  const auto seg_labels = torch::randint(0, 3, {2, 4, 5}, torch::kLong);
  std::string code = "import torch\nimport torch.nn.functional as F\nx = " + py_tensor(logits) +
                     "\ny = " + py_tensor(labels) + "\ns = " + py_tensor(soft) + "\nsx = " + py_tensor(seg_logits) +
                     "\nsy = " + py_tensor(seg_labels) +
                     "\nw = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)\n";
  code += py_print("F.cross_entropy(x, y)");
  code += py_print("F.cross_entropy(x, y, weight=w)");
  code += py_print("F.cross_entropy(x, y, weight=w, label_smoothing=0.2)");
  code += py_print("F.cross_entropy(x, s, weight=w, label_smoothing=0.1)");
  code += py_print("F.cross_entropy(x, y, reduction='none')");
  code += py_print("F.cross_entropy(sx, sy, weight=w[:3], reduction='sum')");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 6u);

  const std::vector<double> w{0.5, 1.0, 2.0, 4.0};
  using O = CrossEntropyOptions;
  const std::vector<torch::Tensor> ours = {
      softmax_cross_entropy(logits, labels),
      softmax_cross_entropy(logits, labels, O().class_weights(w)),
      softmax_cross_entropy(logits, labels, O().class_weights(w).label_smoothing(0.2)),
      softmax_cross_entropy(logits, soft, O().class_weights(w).label_smoothing(0.1)),
      softmax_cross_entropy(logits, labels, O().reduction(LossReduction::none)),
      softmax_cross_entropy(seg_logits, seg_labels, O().class_weights({0.5, 1.0, 2.0}).reduction(LossReduction::sum)),
  };
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i].flatten(), peer[i], 1e-12, 1e-12)) << "case " << i;
  }
}

TEST(ClassificationLoss, CrossEntropyChecksTargets) {
  const auto logits = torch::randn({3, 4});
  EXPECT_NE(testkit::error_of([&] {
              softmax_cross_entropy(logits, torch::tensor({0, 4, 1}));
            }).find("[0, 4)"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] {
              softmax_cross_entropy(logits, torch::tensor({0.0, 1.0, 1.0}));
            }).find("integer"),
            std::string::npos);
  EXPECT_THROW(softmax_cross_entropy(logits, torch::tensor({0, 1})), Error);
  EXPECT_THROW(softmax_cross_entropy(logits, torch::tensor({0, 1, 2}), CrossEntropyOptions().class_weights({1, 2})),
               Error);
  // ignore_index entries are skipped, not range-checked.
  const auto ignored = softmax_cross_entropy(logits, torch::tensor({0, -100, 1}));
  EXPECT_NEAR(ignored.item<double>(),
              softmax_cross_entropy(logits.index({torch::tensor({0, 2})}), torch::tensor({0, 1})).item<double>(), 1e-6);
}

TEST(ClassificationLoss, MseMatchesDefinition) {
  const auto a = torch::tensor({1.0, 2.0, 4.0}), b = torch::tensor({0.0, 2.0, 1.0});
  EXPECT_NEAR(mean_squared_error(a, b).item<double>(), (1.0 + 0.0 + 9.0) / 3, 1e-7);
  EXPECT_NEAR(mean_squared_error(a, b, LossReduction::sum).item<double>(), 10.0, 1e-6);
  EXPECT_THROW(mean_squared_error(a, b.unsqueeze(1)), Error);  // no silent broadcasting
}

TEST(ClassificationLoss, OrdinalEncodingIsTheReferenceTable) {
  const auto encoded = ordinal_encode(torch::tensor({0, 1, 2, 3, 4}));
  const auto expected =
      torch::tensor({1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1}, torch::kFloat32)
          .reshape({5, 5});
  EXPECT_TRUE(torch::equal(encoded, expected)) << encoded;
  EXPECT_THROW(ordinal_encode(torch::tensor({5})), Error);
  EXPECT_THROW(ordinal_encode(torch::tensor({-1})), Error);
  EXPECT_THROW(ordinal_encode(torch::tensor({0.5})), Error);
}

TEST(ClassificationLoss, OrdinalBceIsKerasBinaryCrossentropyOnLogits) {
  const auto logits = torch::randn({6, 5}, torch::kFloat64) * 3;
  const auto grades = torch::tensor({0, 4, 2, 1, 3, 2});
  std::string code = "import torch\nx = " + py_tensor(logits) +
                     "\ny = torch.tensor([[1,0,0,0,0],[1,1,1,1,1],[1,1,1,0,0],[1,1,0,0,0],[1,1,1,1,0],[1,1,1,0,0]],"
                     " dtype=torch.float64)\n" +
                     py_print("torch.nn.functional.binary_cross_entropy_with_logits(x, y)");
  MEDSSL_RUN_PEER(run, code);
  const auto& peer = run.lines;
  ASSERT_EQ(peer.size(), 1u);
  EXPECT_NEAR(ordinal_bce_loss(logits, grades).item<double>(), peer[0][0].item<double>(), 1e-12);
  EXPECT_NEAR(ordinal_bce_loss(logits, ordinal_encode(grades)).item<double>(), peer[0][0].item<double>(), 1e-12);
}

TEST(ClassificationLoss, OrdinalBceLearnsGrades) {
  // A linear head on one informative feature learns to separate the five grades.
  auto gen = at::detail::createCPUGenerator(7);
  const auto grades = torch::randint(0, 5, {200}, gen, torch::kLong);
  const auto x = grades.to(torch::kFloat32).unsqueeze(1) + 0.2 * torch::randn({200, 1}, gen);
  torch::nn::Linear head(1, 5);
  torch::optim::Adam adam(head->parameters(), torch::optim::AdamOptions(0.05));
  const double first = ordinal_bce_loss(head->forward(x), grades).item<double>();
  for (int step = 0; step < 300; ++step) {
    adam.zero_grad();
    auto loss = ordinal_bce_loss(head->forward(x), grades);
    loss.backward();
    adam.step();
  }
  const double last = ordinal_bce_loss(head->forward(x), grades).item<double>();
  EXPECT_LT(last, first * 0.5) << first << " -> " << last;
  const auto count = (torch::sigmoid(head->forward(x)) > 0.5).sum(1) - 1;
  EXPECT_GT((count == grades).to(torch::kFloat32).mean().item<double>(), 0.8);
}

}  // namespace
}  // namespace medssl::losses
