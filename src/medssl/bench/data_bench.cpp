#include "medssl/bench/data_bench.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "medssl/bench/bench_network.h"
#include "medssl/bench/bench_stats.h"
#include "medssl/core/error.h"
#include "medssl/core/log.h"
#include "medssl/core/rng.h"
#include "medssl/data/cache/prepare.h"
#include "medssl/data/loader/image_set.h"
#include "medssl/data/synth/synth.h"
#include "medssl/pretext/task.h"
#include "medssl/train/threaded_batch_source.h"

namespace medssl::bench {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// A folder for the synthetic data and the cache: work_dir, or a fresh temporary one removed by the destructor.
class WorkDir {
 public:
  explicit WorkDir(const std::string& requested) {
    if (!requested.empty()) {
      path_ = requested;
      fs::create_directories(path_);
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "medssl-bench-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr, "bench data: cannot create a temporary folder under {}",
          fs::temp_directory_path().string());
    path_ = pattern;
    owned_ = true;
  }
  ~WorkDir() {
    std::error_code ignored;
    if (owned_) fs::remove_all(path_, ignored);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool owned_ = false;
};

// Batch `index` of an endless epoch: the images of a seeded shuffled order, wrapping around, with negatives drawn
// from the other images when the task wants them (as pretrain's loader does).
train::Batch make_task_batch(const pretext::PretextTask& task, const data::ImageSet& set, int64_t images_per_batch,
                             int64_t epoch, int64_t index, uint64_t seed) {
  const int64_t n = set.size();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) order[static_cast<size_t>(k)] = k;
  Rng order_rng = Rng::derive(seed, "bench-data-order", static_cast<uint64_t>(epoch));
  order_rng.shuffle(order);
  Rng rng = Rng::derive(seed, "bench-data", static_cast<uint64_t>(index));
  std::vector<pretext::Sample> samples;
  for (int64_t k = 0; k < images_per_batch; ++k) {
    pretext::Sample s;
    s.index = order[static_cast<size_t>((index * images_per_batch + k) % n)];
    s.image = set.image(s.index);
    if (task.needs_negative()) {
      int64_t other = rng.uniform_int(0, n - 2);
      s.negative = set.image(other >= s.index ? other + 1 : other);
    }
    samples.push_back(std::move(s));
  }
  return task.make_batch(samples, rng, /*training=*/true);
}

}  // namespace

DataBenchResult run_data_bench(const DataBenchOptions& o) {
  check(o.batch >= 1 && o.batches >= 1, "bench data: --batch and --batches must be >= 1");
  check(!o.workers.empty(), "bench data: --workers needs at least one count");
  for (int w : o.workers) check(w >= 0 && w <= 256, "bench data: worker counts must be in 0..256, got {}", w);
  check(o.prefetch >= 1, "bench data: --prefetch must be >= 1, got {}", o.prefetch);
  DataBenchResult result;
  WorkDir work(o.work_dir);

  result.data_dir = o.dataset;
  if (result.data_dir.empty()) {
    synth::Ct3dOptions synth;
    synth.out = work.path() + "/synth_ct";
    synth.cases = o.cases;
    synth.size = o.synth_size;
    synth.seed = o.seed;
    if (!fs::exists(synth.out + "/dataset.json")) synth::write_ct3d(synth);
    result.data_dir = synth.out;
  }
  check(fs::exists(result.data_dir), "bench data: --dataset {} does not exist", result.data_dir);
  result.cache_dir = cache::is_cache_dir(result.data_dir) ? result.data_dir : work.path() + "/cache";
  const auto prepare_start = Clock::now();
  const cache::Cache cache = cache::open_or_prepare_cache(result.data_dir, result.cache_dir,
                                                          nlohmann::json::object(), o.data_dim);
  result.prepare_s = std::chrono::duration<double>(Clock::now() - prepare_start).count();

  data::ImageSetOptions set_options;
  set_options.spatial_dims = o.data_is_3d ? 3 : 2;
  set_options.preload = o.preload;
  const data::ImageSet set = data::ImageSet::from_cache(cache, set_options);
  check(set.size() >= 2, "bench data: {} holds {} image(s); at least 2 are needed", cache.dir, set.size());
  result.images = set.size();

  const auto task = pretext::make_task(
      o.task, bench_task_spec(o.task, set_options.spatial_dims, set.channels(), set.side(), o.sets));

  const auto make = [&](int64_t epoch, int64_t index, uint64_t seed) {
    return make_task_batch(*task, set, o.batch, epoch, index, seed);
  };
  {
    const train::Batch probe = make(0, 0, o.seed);
    result.samples_per_batch = probe.size;
    result.batch = batch_shapes(probe);
  }
  for (const int workers : o.workers) {
    train::ThreadedBatchSource source(/*batches_per_epoch=*/0, make, workers, o.prefetch);
    const auto start = Clock::now();
    source.start_epoch(0, o.seed);
    for (int64_t b = 0; b < o.batches; ++b) source.next();
    DataBenchRow row;
    row.workers = workers;
    row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.batches_per_s = static_cast<double>(o.batches) / row.seconds;
    row.samples_per_s = row.batches_per_s * static_cast<double>(result.samples_per_batch);
    log::info("bench data {}: {} worker(s): {:.2f} batches/s ({:.1f} samples/s)", o.task, workers, row.batches_per_s,
              row.samples_per_s);
    result.rows.push_back(row);
  }
  result.peak_rss_mb = peak_rss_mb();
  return result;
}

nlohmann::ordered_json to_json(const DataBenchOptions& o, const DataBenchResult& r) {
  nlohmann::ordered_json j;
  j["side"] = "medssl";
  j["case"] = fmt::format("data task={} data_dim={} {} batch={}", o.task, o.data_dim, o.data_is_3d ? "3d" : "2d",
                          o.batch);
  j["data_dir"] = r.data_dir;
  j["prepare_s"] = r.prepare_s;
  j["images"] = r.images;
  j["preload"] = o.preload;
  j["samples_per_batch"] = r.samples_per_batch;
  j["batch"] = r.batch;
  j["batches"] = o.batches;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : r.rows)
    rows.push_back({{"workers", row.workers}, {"seconds", row.seconds}, {"batches_per_s", row.batches_per_s},
                    {"samples_per_s", row.samples_per_s}});
  j["rows"] = rows;
  j["peak_rss_mb"] = r.peak_rss_mb;
  return j;
}

}  // namespace medssl::bench
