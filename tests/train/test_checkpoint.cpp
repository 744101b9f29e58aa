#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/train/checkpoint.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

using testing::TinyNet;

using testkit::error_of;

/// A net with a few Adam steps behind it, so optimiser state and BN buffers are non-trivial.
std::unique_ptr<torch::optim::Optimizer> trained(TinyNet& net) {
  auto built = build_optimizer(*net, OptimizerOptions::keras_adam(0.01));
  auto data = testing::regression_data(32, 1);
  for (int i = 0; i < 3; ++i) {
    built.optimizer->zero_grad();
    torch::mse_loss(net->forward(data["x"]), data["y"]).backward();
    built.optimizer->step();
  }
  return std::move(built.optimizer);
}

TEST(Checkpoint, RoundTripRestoresEverything) {
  testkit::TempDir dir;
  torch::manual_seed(3);
  TinyNet a;
  auto opt_a = trained(a);
  TrainingState st;
  st.epoch = 2;
  st.step_in_epoch = 5;
  st.global_step = 17;
  st.schedule_step = 17;
  st.best_metric = 0.25;
  st.best_epoch = 1;
  st.skipped_steps = 1;
  Rng rng(42);
  rng.next_u64();
  st.rng_state = rng_state_string(rng);
  st.data_state = R"({"position":5})";
  st.config_json = R"({"lr":0.01})";
  st.manifest_json = R"({"method":"test"})";
  torch::randn({3});  // move the generator somewhere
  auto torch_state = capture_torch_rng();
  std::string path = dir.file("ck.pt");
  save_checkpoint(path, *a, opt_a.get(), st);

  torch::manual_seed(99);
  TinyNet b;
  auto opt_b = build_optimizer(*b, OptimizerOptions::keras_adam(0.01)).optimizer;
  ASSERT_FALSE(torch::equal(testing::flat_state(*a), testing::flat_state(*b)));
  Checkpoint ck = load_checkpoint(path, *b, opt_b.get());
  EXPECT_TRUE(torch::equal(testing::flat_state(*a), testing::flat_state(*b)));
  EXPECT_EQ(ck.state.epoch, 2);
  EXPECT_EQ(ck.state.step_in_epoch, 5);
  EXPECT_EQ(ck.state.global_step, 17);
  EXPECT_EQ(ck.state.schedule_step, 17);
  EXPECT_DOUBLE_EQ(ck.state.best_metric, 0.25);
  EXPECT_EQ(ck.state.data_state, st.data_state);
  EXPECT_EQ(ck.state.config_json, st.config_json);
  EXPECT_EQ(ck.state.manifest_json, st.manifest_json);

  // Optimiser state: one more identical step from both gives identical parameters.
  auto data = testing::regression_data(16, 5);
  for (auto [net, opt] : {std::pair{a, opt_a.get()}, std::pair{b, opt_b.get()}}) {
    net->eval();
    opt->zero_grad();
    torch::mse_loss(net->forward(data["x"]), data["y"]).backward();
    opt->step();
  }
  EXPECT_TRUE(torch::equal(testing::flat_state(*a), testing::flat_state(*b)));

  // RNGs.
  Rng restored(0);
  restore_rng_state(restored, ck.state.rng_state);
  EXPECT_EQ(restored.next_u64(), rng.next_u64());
  torch::manual_seed(1234);
  restore_torch_rng(ck.torch_cpu_rng_state);
  auto x = torch::rand({4});
  restore_torch_rng(torch_state);
  EXPECT_TRUE(torch::equal(x, torch::rand({4})));
}

TEST(Checkpoint, FailedWriteKeepsOldFileAndNamesPath) {
  testkit::TempDir dir;
  TinyNet net;
  std::string path = dir.file("last.pt");
  save_checkpoint(path, *net, nullptr, TrainingState{});
  std::string before = read_file(path);

  // Make every write beyond 1 KiB fail (works as root too, unlike a read-only directory).
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  TrainingState st;
  st.config_json = std::string(4096, 'x');  // a different, larger checkpoint
  std::string msg = error_of([&] { save_checkpoint(path, *net, nullptr, st); });
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(load_checkpoint(path, *net, nullptr).state.config_json, "");
  // No temporary files are left behind.
  size_t files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);

  // A directory that cannot exist (its parent is a file).
  testkit::write_text(dir.file("plain"), "x");
  std::string bad = dir.file("plain/last.pt");
  msg = error_of([&] { save_checkpoint(bad, *net, nullptr, TrainingState{}); });
  EXPECT_NE(msg.find(bad), std::string::npos) << msg;
}

TEST(Checkpoint, MissingTruncatedCorruptAreClearErrors) {
  testkit::TempDir dir;
  TinyNet net;
  std::string missing = dir.file("nope.pt");
  std::string msg = error_of([&] { load_checkpoint(missing, *net, nullptr); });
  EXPECT_NE(msg.find(missing), std::string::npos);
  EXPECT_NE(msg.find("does not exist"), std::string::npos);

  std::string good = dir.file("good.pt");
  save_checkpoint(good, *net, nullptr, TrainingState{});
  std::string bytes = read_file(good);
  std::string truncated = dir.file("truncated.pt");
  write_file_atomic(truncated, bytes.substr(0, bytes.size() / 2));
  msg = error_of([&] { load_checkpoint(truncated, *net, nullptr); });
  EXPECT_NE(msg.find(truncated), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;

  std::string garbage = dir.file("garbage.pt");
  write_file_atomic(garbage, std::string(1000, '\x42'));
  msg = error_of([&] { load_checkpoint(garbage, *net, nullptr); });
  EXPECT_NE(msg.find(garbage), std::string::npos) << msg;

  std::string empty = dir.file("empty.pt");
  write_file_atomic(empty, "");
  msg = error_of([&] { read_checkpoint_state(empty); });
  EXPECT_NE(msg.find(empty), std::string::npos) << msg;
}

struct OtherNetImpl : torch::nn::Module {
  OtherNetImpl() {
    encoder = register_module("encoder", torch::nn::Sequential(torch::nn::Linear(4, 8), torch::nn::BatchNorm1d(8)));
    extra = register_module("extra", torch::nn::Linear(8, 2));
  }
  torch::nn::Sequential encoder{nullptr};
  torch::nn::Linear extra{nullptr};
};
TORCH_MODULE(OtherNet);

TEST(Checkpoint, ModelMismatchListsKeys) {
  testkit::TempDir dir;
  TinyNet net;
  std::string path = dir.file("ck.pt");
  save_checkpoint(path, *net, nullptr, TrainingState{});
  OtherNet other;
  auto before = testing::flat_state(*other);
  std::string msg = error_of([&] { load_checkpoint(path, *other, nullptr); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing keys: extra.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys: head.bias, head.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("encoder.0.weight (checkpoint [16, 4], model [8, 4])"), std::string::npos) << msg;
  EXPECT_TRUE(torch::equal(before, testing::flat_state(*other)));  // nothing was half-loaded

  // Optimiser of a different shape.
  TinyNet same;
  auto adam = build_optimizer(*same, OptimizerOptions{}).optimizer;
  msg = error_of([&] { load_checkpoint(path, *same, adam.get()); });
  EXPECT_NE(msg.find("no optimizer state"), std::string::npos) << msg;
}

}  // namespace
}  // namespace medssl::train
