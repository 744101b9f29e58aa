#pragma once
// `medssl bench data`: batches per second of the pretraining data pipeline alone, with 0..N loader threads.
//
// The pipeline is the one `medssl pretrain` runs: a data set on disk (by default a synthetic MSD CT phantom set written
// for the run) is prepared into a cache once (decode NIfTI, reorient, window/normalise, resize: timed as
// `prepare_s`), read back as an ImageSet (kept in RAM, or with `preload` off read and decoded from its cache file on
// every access), and each batch is the pretext task's make_batch over `batch` images in a seeded shuffled order, built
// by a train::ThreadedBatchSource with `workers` threads. Timed: `batches` consecutive next() calls after
// start_epoch, i.e. the steady rate at which a trainer that never waits itself could be fed.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medssl::bench {

struct DataBenchOptions {
  std::string task = "rotation";
  std::string dataset;        ///< raw data set or prepare cache; empty = write a synthetic CT set into work_dir
  std::string work_dir;       ///< synthetic data and cache; empty = a temporary folder, removed afterwards
  int cases = 8;              ///< synthetic cases
  int synth_size = 64;        ///< synthetic in-plane size
  int64_t data_dim = 64;      ///< side the images are prepared to (the task's data_dim)
  bool data_is_3d = true;     ///< false: 2D slices of the volumes (or 2D pictures)
  int64_t batch = 4;          ///< images per batch
  int64_t batches = 16;       ///< batches timed per worker count
  std::vector<int> workers{0, 1, 2};
  int prefetch = 4;
  bool preload = true;
  std::vector<std::string> sets;  ///< `medssl pretrain` config overrides key=value for the task
  uint64_t seed = 0;
};

struct DataBenchRow {
  int workers = 0;
  double seconds = 0.0;
  double batches_per_s = 0.0;
  double samples_per_s = 0.0;
};

struct DataBenchResult {
  std::string data_dir, cache_dir;
  double prepare_s = 0.0;
  int64_t images = 0;
  int64_t samples_per_batch = 0;
  nlohmann::ordered_json batch;  ///< tensor name -> shape
  std::vector<DataBenchRow> rows;
  double peak_rss_mb = 0.0;
};

DataBenchResult run_data_bench(const DataBenchOptions& options);

nlohmann::ordered_json to_json(const DataBenchOptions& options, const DataBenchResult& result);

}  // namespace medssl::bench
