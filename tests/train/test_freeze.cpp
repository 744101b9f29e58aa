#include <gtest/gtest.h>

#include "medssl/core/error.h"
#include "medssl/train/freeze.h"
#include "medssl/train/trainer.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

using testing::TinyNet;

torch::Tensor encoder_state(TinyNet& net) { return testing::flat_state(*net->encoder).clone(); }

TEST(Freeze, FreezeUnfreezeAndBatchNormMode) {
  TinyNet net(0.5);
  EXPECT_EQ(freeze(*net, "encoder"), 4u);  // linear weight/bias, bn weight/bias
  for (auto& p : net->encoder->parameters()) EXPECT_FALSE(p.requires_grad());
  for (auto& p : net->head->parameters()) EXPECT_TRUE(p.requires_grad());
  net->train();
  EXPECT_EQ(apply_freeze_mode(*net), 1u);
  EXPECT_FALSE(net->encoder[1]->is_training());  // BatchNorm uses running statistics
  EXPECT_TRUE(net->encoder[3]->is_training());   // Dropout stays active
  EXPECT_TRUE(net->head->is_training());
  EXPECT_EQ(unfreeze(*net, "encoder"), 4u);
  net->train();
  EXPECT_EQ(apply_freeze_mode(*net), 0u);
  EXPECT_TRUE(net->encoder[1]->is_training());
  // Prefixes match whole name components.
  EXPECT_THROW(freeze(*net, "enc"), Error);
  EXPECT_EQ(freeze(*net, "encoder.1"), 2u);
}

TEST(Freeze, FrozenEncoderIsUntouchedByTrainingButDropoutRuns) {
  torch::manual_seed(4);
  TinyNet net(0.5);
  auto before = encoder_state(net);
  auto head_before = testing::flat_state(*net->head).clone();
  TensorBatchSource source(testing::regression_data(64, 1), 16);
  TrainerOptions o;
  o.epochs = 2;
  o.monitor = "";
  o.frozen_prefixes = {"encoder"};
  int64_t dropout_differs = 0, steps = 0;
  StepFn step = [&](const Batch& b, StepContext&) {
    EXPECT_FALSE(net->encoder[1]->is_training());
    EXPECT_TRUE(net->encoder[3]->is_training());
    auto x = b.at("x");
    auto a = net->encoder->forward(x);
    auto c = net->encoder->forward(x);
    dropout_differs += !torch::equal(a, c);
    ++steps;
    return StepOutput{torch::mse_loss(net->head->forward(a), b.at("y")), {}};
  };
  Trainer trainer(net.ptr(), source, step, nullptr, o);
  trainer.fit();
  EXPECT_EQ(steps, 8);
  EXPECT_EQ(dropout_differs, 8);
  EXPECT_TRUE(torch::equal(before, encoder_state(net)));  // weights and BN running stats
  EXPECT_FALSE(torch::equal(head_before, testing::flat_state(*net->head)));
  EXPECT_EQ(optimizer_parameters(trainer.optimizer()).size(), 2u);
}

TEST(Freeze, WarmupProtocolUnfreezesWithFreshOptimiser) {
  torch::manual_seed(5);
  TinyNet net(0.0);
  auto before = encoder_state(net);
  TensorBatchSource source(testing::regression_data(64, 1), 16);
  TrainerOptions o;
  o.epochs = 3;
  o.monitor = "";
  o.frozen_prefixes = {"encoder"};
  o.unfreeze_at_epoch = 2;
  std::vector<size_t> params_at_start;
  std::vector<bool> fresh_state;
  std::vector<torch::Tensor> encoder_at_start;
  Trainer trainer(net.ptr(), source, testing::mse_step(net), nullptr, o);
  trainer.on_epoch_start = [&](int64_t, Trainer& t) {
    params_at_start.push_back(optimizer_parameters(t.optimizer()).size());
    fresh_state.push_back(t.optimizer().state().empty());
    encoder_at_start.push_back(encoder_state(net));
  };
  trainer.fit();
  EXPECT_EQ(params_at_start, (std::vector<size_t>{2, 2, 6}));
  EXPECT_EQ(fresh_state, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(torch::equal(before, encoder_at_start[2]));       // frozen for epochs 1-2
  EXPECT_FALSE(torch::equal(before, encoder_state(net)));       // trained in epoch 3
  EXPECT_TRUE(net->encoder[1]->is_training());
}

}  // namespace
}  // namespace medssl::train
