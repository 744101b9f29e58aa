// ThreadedBatchSource: batches are a pure function of (epoch, index, seed), handed out in index order whatever the
// number of workers; prefetch bound, error propagation, restart, restore, shutdown, and training through the Trainer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>

#include "medssl/core/error.h"
#include "medssl/core/rng.h"
#include "medssl/train/threaded_batch_source.h"
#include "medssl/train/trainer.h"
#include "testkit/testkit.h"
#include "train_testing.h"

namespace medssl::train {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A batch that records its arguments and carries seeded random content; building it takes a few milliseconds that
/// vary with the index, so with several workers batches finish out of order.
Batch recording_batch(int64_t epoch, int64_t index, uint64_t seed) {
  std::this_thread::sleep_for(std::chrono::milliseconds((index * 7) % 5));
  Rng rng = Rng::derive(seed, "content", static_cast<uint64_t>(index));
  auto gen = at::detail::createCPUGenerator(rng.next_u64());
  Batch b;
  b.size = 4;
  b.tensors["x"] = torch::randn({4, 3}, gen);
  b.tensors["epoch"] = torch::tensor(epoch);
  b.tensors["index"] = torch::tensor(index);
  b.tensors["seed"] = torch::tensor(static_cast<int64_t>(seed & 0x7fffffffffffffffULL));
  return b;
}

std::vector<Batch> take(BatchSource& source, int64_t n) {
  std::vector<Batch> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(source.next());
  return out;
}

void expect_same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (const auto& name : {"x", "epoch", "index", "seed"})
      EXPECT_TRUE(torch::equal(a[i].at(name), b[i].at(name))) << "batch " << i << " tensor " << name;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// Polls `done` for up to 10 s (other builds may load the machine), then lets the workers settle a little longer so
/// that a check afterwards would also see work that should not have happened.
template <typename Pred>
void wait_for(Pred done) {
  for (auto t0 = Clock::now(); !done() && seconds_since(t0) < 10.0;) std::this_thread::sleep_for(2ms);
  std::this_thread::sleep_for(50ms);
}

TEST(ThreadedBatchSource, SameOrderAndContentForAnyWorkerCount) {
  std::vector<std::vector<Batch>> runs;
  for (int workers : {0, 1, 3}) {
    ThreadedBatchSource source(9, recording_batch, workers, 4);
    EXPECT_EQ(source.size(), 9);
    EXPECT_EQ(source.workers(), workers);
    std::vector<Batch> all;
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      uint64_t seed = 1000 + static_cast<uint64_t>(epoch);
      source.start_epoch(epoch, seed);
      auto batches = take(source, 9);
      for (int64_t i = 0; i < 9; ++i) {  // make() saw exactly (epoch, index, seed), in index order
        EXPECT_EQ(batches[i].at("epoch").item<int64_t>(), epoch);
        EXPECT_EQ(batches[i].at("index").item<int64_t>(), i);
        EXPECT_EQ(batches[i].at("seed").item<int64_t>(), static_cast<int64_t>(seed));
      }
      EXPECT_THROW(source.next(), Error);  // the epoch is exhausted
      all.insert(all.end(), batches.begin(), batches.end());
    }
    runs.push_back(std::move(all));
  }
  expect_same_batches(runs[0], runs[1]);
  expect_same_batches(runs[0], runs[2]);
  EXPECT_FALSE(torch::equal(runs[0][0].at("x"), runs[0][9].at("x")));  // another epoch seed, other content
}

TEST(ThreadedBatchSource, PrefetchBoundIsRespected) {
  std::atomic<int> started{0}, in_flight{0}, max_in_flight{0};
  auto make = [&](int64_t epoch, int64_t index, uint64_t seed) {
    ++started;
    int now = ++in_flight;
    for (int seen = max_in_flight.load(); now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(3ms);
    --in_flight;
    return recording_batch(epoch, index, seed);
  };
  const int prefetch = 2;
  ThreadedBatchSource source(12, make, /*workers=*/3, prefetch);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(started.load(), 0) << "nothing may be built before start_epoch";
  source.start_epoch(0, 5);
  wait_for([&] { return started.load() >= prefetch && in_flight.load() == 0; });  // the consumer idles
  EXPECT_EQ(started.load(), prefetch);
  take(source, 3);  // consuming batch 2 now: batches 3 and 4 may be buffered
  wait_for([&] { return started.load() >= 3 + prefetch && in_flight.load() == 0; });
  EXPECT_EQ(started.load(), 3 + prefetch);
  take(source, 9);
  EXPECT_EQ(started.load(), 12) << "no index beyond the epoch is built";
  EXPECT_LE(max_in_flight.load(), prefetch);
  EXPECT_GE(max_in_flight.load(), 1);
}

TEST(ThreadedBatchSource, ExceptionInMakeIsRethrownNamingTheIndex) {
  for (int workers : {0, 2}) {
    SCOPED_TRACE(workers);
    auto make = [](int64_t epoch, int64_t index, uint64_t seed) {
      if (epoch == 0 && index == 3) throw std::runtime_error("disk on fire");
      if (epoch == 0 && index == 5) throw 42;  // not even an exception class
      return recording_batch(epoch, index, seed);
    };
    ThreadedBatchSource source(8, make, workers, 3);
    source.start_epoch(0, 1);
    take(source, 3);
    std::string msg = testkit::error_of([&] { source.next(); });
    EXPECT_NE(msg.find("batch 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("epoch 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("disk on fire"), std::string::npos) << msg;
    EXPECT_EQ(testkit::error_of([&] { source.next(); }), msg) << "the failure is sticky";

    source.restore(R"({"epoch": 0, "seed": 1, "position": 4})");
    EXPECT_EQ(source.next().at("index").item<int64_t>(), 4);
    msg = testkit::error_of([&] { source.next(); });
    EXPECT_NE(msg.find("batch 5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown exception"), std::string::npos) << msg;

    source.start_epoch(1, 2);  // a restart clears the failure
    auto batches = take(source, 8);
    EXPECT_EQ(batches[3].at("index").item<int64_t>(), 3);
  }
}

TEST(ThreadedBatchSource, RestoreMidEpochGivesTheSameRemainingBatches) {
  std::string state;
  std::vector<Batch> rest_a;
  {
    ThreadedBatchSource a(10, recording_batch, 2, 3);
    a.start_epoch(3, 77);
    take(a, 4);
    state = a.state();
    rest_a = take(a, 6);
  }
  auto j = nlohmann::json::parse(state);
  EXPECT_EQ(j.at("epoch").get<int64_t>(), 3);
  EXPECT_EQ(j.at("seed").get<uint64_t>(), 77u);
  EXPECT_EQ(j.at("position").get<int64_t>(), 4);
  for (int workers : {0, 1, 3}) {
    ThreadedBatchSource b(10, recording_batch, workers, 2);
    b.start_epoch(0, 1);  // a different epoch in progress is abandoned by restore
    take(b, 2);
    b.restore(state);
    EXPECT_EQ(b.state(), state);
    expect_same_batches(rest_a, take(b, 6));
    EXPECT_THROW(b.next(), Error);
  }
  ThreadedBatchSource c(10, recording_batch, 1, 2);
  EXPECT_NE(testkit::error_of([&] { c.restore("{\"epoch\": 1}"); }).find("cannot restore"), std::string::npos);
  EXPECT_NE(testkit::error_of([&] { c.restore(R"({"epoch":0,"seed":1,"position":11})"); }).find("position 11"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] { c.next(); }).find("before start_epoch"), std::string::npos);
}

TEST(ThreadedBatchSource, StartEpochWhileWorkersAreBusy) {
  auto slow = [](int64_t epoch, int64_t index, uint64_t seed) {
    std::this_thread::sleep_for(20ms);
    return recording_batch(epoch, index, seed);
  };
  ThreadedBatchSource source(6, slow, 3, 3);
  source.start_epoch(0, 10);
  source.next();
  source.start_epoch(1, 11);  // three make() calls of epoch 0 are in flight now
  auto batches = take(source, 6);
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(batches[i].at("epoch").item<int64_t>(), 1);
    EXPECT_EQ(batches[i].at("index").item<int64_t>(), i);
  }
  ThreadedBatchSource reference(6, recording_batch, 0, 1);
  reference.start_epoch(1, 11);
  expect_same_batches(batches, take(reference, 6));
}

TEST(ThreadedBatchSource, DestructionWhileBusyJoinsAllThreads) {
  std::atomic<int> calls{0};
  auto slow = [&](int64_t epoch, int64_t index, uint64_t seed) {
    ++calls;
    std::this_thread::sleep_for(100ms);
    return recording_batch(epoch, index, seed);
  };
  Clock::time_point t0;
  {
    ThreadedBatchSource source(100, slow, 3, 3);
    source.start_epoch(0, 1);
    for (auto t = Clock::now(); calls.load() < 3 && seconds_since(t) < 10.0;) std::this_thread::sleep_for(1ms);
    t0 = Clock::now();  // all three workers are inside make()
  }
  EXPECT_LT(seconds_since(t0), 2.0) << "the destructor waits for the make() calls in progress only";
  EXPECT_EQ(calls.load(), 3);
  {
    ThreadedBatchSource source(100, recording_batch, 2, 2);
    source.start_epoch(0, 1);
    std::this_thread::sleep_for(50ms);  // the window fills: the workers wait for the consumer
  }
  { ThreadedBatchSource never_started(5, recording_batch, 4, 1); }
}

TEST(ThreadedBatchSource, WorkersRunTorchOpsOnOneIntraOpThreadWithoutDeadlock) {
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  std::atomic<int> max_threads_in_workers{0};
  const auto consumer = std::this_thread::get_id();
  auto make = [&](int64_t, int64_t index, uint64_t seed) {
    if (std::this_thread::get_id() != consumer)
      for (int seen = max_threads_in_workers.load(), now = at::get_num_threads();
           now > seen && !max_threads_in_workers.compare_exchange_weak(seen, now);) {
      }
    auto gen = at::detail::createCPUGenerator(Rng::derive(seed, "conv", static_cast<uint64_t>(index)).next_u64());
    auto x = torch::randn({2, 3, 48, 48}, gen);
    auto w = torch::randn({8, 3, 3, 3}, gen);
    auto y = torch::conv2d(x, w, {}, 1, 1).relu();
    auto m = torch::randn({96, 96}, gen);
    Batch b;
    b.size = 2;
    b.tensors["y"] = y;
    b.tensors["m"] = m.matmul(m).sum();
    return b;
  };
  std::vector<Batch> threaded, sync;
  {
    ThreadedBatchSource source(16, make, 3, 2);
    source.start_epoch(0, 9);
    for (int i = 0; i < 16; ++i) {
      threaded.push_back(source.next());
      auto z = torch::randn({128, 128});  // the trainer's own kernels run meanwhile
      (void)z.matmul(z).sum().item<float>();
    }
  }
  ThreadedBatchSource reference(16, make, 0, 1);
  reference.start_epoch(0, 9);
  for (int i = 0; i < 16; ++i) sync.push_back(reference.next());
  for (int i = 0; i < 16; ++i) {
    EXPECT_TRUE(torch::allclose(threaded[i].at("y"), sync[i].at("y"), 1e-5, 1e-5)) << i;
    EXPECT_TRUE(torch::allclose(threaded[i].at("m"), sync[i].at("m"), 1e-4, 1e-4)) << i;
  }
  EXPECT_EQ(max_threads_in_workers.load(), 1) << "workers use one intra-op thread each";
  EXPECT_EQ(at::get_num_threads(), 2) << "the consumer's thread count is untouched";
  int fresh_thread_count = 0;
  std::thread([&] { fresh_thread_count = at::get_num_threads(); }).join();
  EXPECT_EQ(fresh_thread_count, 2) << "the process-wide default is untouched";
  at::set_num_threads(saved);
}

// ---------------------------------------------------------------------------------------------- through the Trainer

using testing::TinyNet;

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

/// Shuffled mini-batches of the regression data plus seeded input noise, as a make() function: the permutation
/// comes from the epoch seed, the noise from (epoch seed, index); nothing is shared between calls.
MakeBatchFn regression_batches(std::map<std::string, torch::Tensor> data, int64_t batch_size) {
  return [data, batch_size](int64_t, int64_t index, uint64_t seed) {
    const int64_t n = data.at("x").size(0);
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    Rng order_rng = Rng::derive(seed, "order");
    order_rng.shuffle(order);
    const int64_t begin = index * batch_size, end = std::min(begin + batch_size, n);
    auto rows = torch::tensor(std::vector<int64_t>(order.begin() + begin, order.begin() + end), torch::kLong);
    auto gen = at::detail::createCPUGenerator(Rng::derive(seed, "noise", static_cast<uint64_t>(index)).next_u64());
    auto x = data.at("x").index_select(0, rows);
    Batch b;
    b.size = end - begin;
    b.tensors["x"] = x + 0.01 * torch::randn(x.sizes(), gen);
    b.tensors["y"] = data.at("y").index_select(0, rows);
    return b;
  };
}

/// A run that depends on data order, per-batch noise, dropout, Adam state and a warm-up cosine schedule.
struct ThreadedScenario {
  TinyNet net;
  std::unique_ptr<ThreadedBatchSource> source;
  TrainerOptions options;
  StepFn step;

  ThreadedScenario(const std::string& run_dir, uint64_t init_seed, int workers, int64_t throw_at_global_step = -1) {
    torch::manual_seed(init_seed);  // a different initialisation each time: a resume must overwrite it
    net = TinyNet(0.2);
    // 72 samples in batches of 16: 5 batches per epoch, the last one short.
    source = std::make_unique<ThreadedBatchSource>(5, regression_batches(testing::regression_data(72, 11), 16), workers,
                                                   2);
    options.epochs = 6;
    options.seed = 31;
    options.run_dir = run_dir;
    options.checkpoint_every_steps = 3;
    options.monitor = "train_loss";
    options.optimizer = OptimizerOptions::keras_adam(0.1);
    options.schedule.type = "warmup_cosine";
    options.schedule.warmup_steps = 3;
    TinyNet model = net;
    step = [model, throw_at_global_step](const Batch& b, StepContext& ctx) mutable {
      if (ctx.global_step == throw_at_global_step) throw Interrupted();
      return StepOutput{torch::mse_loss(model->forward(b.at("x")), b.at("y")), {}};
    };
  }
  Trainer trainer() { return Trainer(net.ptr(), *source, step, nullptr, options); }
};

TEST(ThreadedBatchSourceTraining, SameFinalWeightsWithZeroAndTwoWorkers) {
  testkit::TempDir dir0, dir2;
  ThreadedScenario sync(dir0.path(), 1, 0), threaded(dir2.path(), 1, 2);
  auto t0 = sync.trainer();
  t0.fit();
  auto t2 = threaded.trainer();
  t2.fit();
  auto a = testing::flat_state(*sync.net), b = testing::flat_state(*threaded.net);
  EXPECT_TRUE(torch::equal(a, b)) << "max difference " << (a - b).abs().max().item<double>();
  const auto& rows = t2.metrics_log().rows();
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_LT(rows.back()["train_loss"].get<double>(), 0.5 * rows.front()["train_loss"].get<double>())
      << "the model learns";
}

TEST(ThreadedBatchSourceTraining, ResumeFromMidEpochCheckpointEqualsUninterruptedRun) {
  testkit::TempDir dir_a, dir_b;
  ThreadedScenario uninterrupted(dir_a.path(), 1, 2);
  uninterrupted.trainer().fit();

  // Epoch 2 (0-based 1) covers global steps 5..9; last.pt is written after global step 6 (1 step into epoch 2).
  ThreadedScenario interrupted(dir_b.path(), 1, 2, /*throw_at_global_step=*/8);
  {
    auto t = interrupted.trainer();
    EXPECT_THROW(t.fit(), Interrupted);
  }
  auto ck = read_checkpoint_state(dir_b.file("checkpoints/last.pt"));
  EXPECT_EQ(ck.state.epoch, 1);
  EXPECT_EQ(ck.state.step_in_epoch, 1);
  EXPECT_EQ(nlohmann::json::parse(ck.state.data_state).at("position").get<int64_t>(), 1);

  ThreadedScenario resumed(dir_b.path(), 99, 1);  // another worker count, too
  auto t = resumed.trainer();
  auto result = t.resume(dir_b.file("checkpoints/last.pt"));
  EXPECT_EQ(result.global_step, 30);
  auto a = testing::flat_state(*uninterrupted.net), b = testing::flat_state(*resumed.net);
  EXPECT_TRUE(torch::equal(a, b)) << "max difference " << (a - b).abs().max().item<double>();
}

}  // namespace
}  // namespace medssl::train
