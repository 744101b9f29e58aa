#include "medssl/train/threaded_batch_source.h"

#include <dlfcn.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "medssl/core/error.h"

namespace medssl::train {

namespace {

/// Limits the LibTorch intra-op parallelism of the calling thread (a worker) to one thread.
///
/// Why not at::set_num_threads(1): with LibTorch 1.13's OpenMP backend (Debian's build) it also stores the process-wide
/// default that every thread adopts when it first runs a parallel kernel. Measured: after a worker thread called it,
/// threads that had already run kernels kept their count, but a thread starting later reported 1, so a worker calling
/// it could silently make the trainer single-threaded if the trainer had not run a kernel yet.
/// The OpenMP team size, on the other hand, is a per-thread setting (the nthreads-var ICV of libgomp), so setting it
/// here limits this worker only. ATen initialises it lazily per thread from the process default on the first parallel
/// kernel, which would overwrite ours, so that initialisation is forced first (at::get_num_threads()).
/// omp_set_num_threads is looked up at run time because LibTorch's CMake interface does not put libgomp on our link
/// line (it is loaded as a dependency of libtorch_cpu). In a build without OpenMP it is absent and nothing is needed:
/// the native backend's intra-op pool is one shared, bounded pool.
void use_one_intra_op_thread() {
  (void)at::get_num_threads();
  using SetNumThreads = void (*)(int);
  static const auto omp_set_num_threads =
      reinterpret_cast<SetNumThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (omp_set_num_threads != nullptr) omp_set_num_threads(1);
}

}  // namespace

ThreadedBatchSource::ThreadedBatchSource(int64_t batches_per_epoch, MakeBatchFn make, int workers, int prefetch)
    : batches_per_epoch_(batches_per_epoch), make_(std::move(make)), prefetch_(prefetch) {
  check(static_cast<bool>(make_), "ThreadedBatchSource needs a make-batch function");
  check(workers >= 0, "ThreadedBatchSource: workers must be >= 0, got {}", workers);
  check(workers == 0 || prefetch >= 1,
        "ThreadedBatchSource: prefetch must be >= 1 with {} worker(s), got {} (use workers 0 to build in next())",
        workers, prefetch);
  threads_.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { worker_loop(); });
}

ThreadedBatchSource::~ThreadedBatchSource() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

int64_t ThreadedBatchSource::end() const {
  return batches_per_epoch_ > 0 ? batches_per_epoch_ : std::numeric_limits<int64_t>::max();
}

bool ThreadedBatchSource::can_claim() const {
  return started_ && next_claim_ < end() && next_claim_ - position_ < prefetch_;
}

ThreadedBatchSource::Built ThreadedBatchSource::build(int64_t epoch, int64_t index, uint64_t seed) const {
  Built out;
  try {
    torch::NoGradGuard no_grad;
    out.batch = make_(epoch, index, seed);
  } catch (const std::exception& e) {
    out.error = fmt::format("could not build batch {} (0-based) of epoch {}: {}", index, epoch + 1, e.what());
  } catch (...) {
    out.error = fmt::format("could not build batch {} (0-based) of epoch {}: unknown exception", index, epoch + 1);
  }
  return out;
}

void ThreadedBatchSource::worker_loop() {
  use_one_intra_op_thread();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait(lock, [this] { return stop_ || can_claim(); });
    if (stop_) return;
    const int64_t index = next_claim_++;
    const int64_t epoch = epoch_;
    const uint64_t seed = seed_, generation = generation_;
    ++in_flight_;
    lock.unlock();
    Built built = build(epoch, index, seed);
    lock.lock();
    --in_flight_;
    if (generation == generation_) {
      ready_.emplace(index, std::move(built));
      ready_cv_.notify_all();
    }
    if (in_flight_ == 0) idle_cv_.notify_all();
  }
}

void ThreadedBatchSource::begin(int64_t epoch, uint64_t seed, int64_t position) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    started_ = false;  // no new claims; what is in flight finishes and is dropped (older generation)
    ++generation_;
    ready_.clear();
    idle_cv_.wait(lock, [this] { return in_flight_ == 0; });
    epoch_ = epoch;
    seed_ = seed;
    position_ = position;
    next_claim_ = position;
    started_ = true;
  }
  work_cv_.notify_all();
}

void ThreadedBatchSource::start_epoch(int64_t epoch, uint64_t seed) { begin(epoch, seed, 0); }

Batch ThreadedBatchSource::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  check(started_, "ThreadedBatchSource: next() was called before start_epoch() or restore()");
  check(position_ < end(), "ThreadedBatchSource: epoch {} has only {} batches", epoch_ + 1, batches_per_epoch_);
  auto it = ready_.find(position_);
  if (threads_.empty()) {
    if (it == ready_.end()) it = ready_.emplace(position_, build(epoch_, position_, seed_)).first;
  } else {
    ready_cv_.wait(lock, [this] { return ready_.count(position_) > 0; });
    it = ready_.find(position_);
  }
  if (!it->second.batch) throw Error(it->second.error);  // sticky: stays in ready_ until the next restart
  Batch batch = std::move(*it->second.batch);
  ready_.erase(it);
  ++position_;
  lock.unlock();
  work_cv_.notify_all();  // the window moved: one more index may be claimed
  return batch;
}

std::string ThreadedBatchSource::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return nlohmann::json{{"epoch", epoch_}, {"seed", seed_}, {"position", position_}}.dump();
}

void ThreadedBatchSource::restore(const std::string& state) {
  int64_t epoch = 0, position = 0;
  uint64_t seed = 0;
  try {
    auto j = nlohmann::json::parse(state);
    epoch = j.at("epoch").get<int64_t>();
    seed = j.at("seed").get<uint64_t>();
    position = j.at("position").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail("ThreadedBatchSource: cannot restore from state '{}': {}", state, e.what());
  }
  check(epoch >= 0, "ThreadedBatchSource: restored epoch {} is negative", epoch);
  check(position >= 0 && position <= end(), "ThreadedBatchSource: restored position {} is outside 0..{}", position,
        batches_per_epoch_);
  begin(epoch, seed, position);
}

}  // namespace medssl::train
