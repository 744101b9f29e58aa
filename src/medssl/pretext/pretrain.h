#pragma once
// `medssl pretrain`: one self-supervised pretraining run, end to end.
//
//   data_dir (MSD / nnU-Net / APTOS / folder, or a `prepare` cache) --prepare--> cache (RUN_DIR/cache by default)
//   --ImageSet (3D volumes, or 2D slices of them, or 2D pictures)--> split by case (train_val_split, 90/10 like the
//   reference) --task.make_batch in loader threads--> Trainer (Adam eps 1e-7, checkpoints, resume, metrics)
//   --> RUN_DIR/encoder.pt (the transferable encoder, "encoder." names) + RUN_DIR/pretrain.json (summary).
//
// Files in RUN_DIR: config.json (the resolved config), metrics.csv / metrics.jsonl, checkpoints/{last,best}.pt,
// encoder.pt, encoder_best.pt (encoder of the best validation epoch), snapshots/encoder_epoch_NNN.pt
// (save_checkpoint_every_n_epochs), pretrain.json; every encoder file carries the run's manifest (embedded, and as
// STEM.manifest.json; pretext/pretrain_manifest.h), and --init-weights writes transfer.json.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "medssl/config/config.h"
#include "medssl/pretext/task.h"

namespace medssl::train {
class ProcessGroup;
}

namespace medssl::pretext {

/// Every key `medssl pretrain --config` accepts (reference keys plus medssl's; see docs/config-reference.md).
const config::Schema& pretrain_schema();

struct PretrainRequest {
  config::Config config;
  std::string out_dir;
  bool resume = false;             ///< continue RUN_DIR/checkpoints/last.pt
  /// Optional weights file to start from (weights/transfer.h; the report goes to RUN_DIR/transfer.json): the
  /// encoder must be filled completely (min_match), the task head where it fits.
  std::string init_weights;
  bool allow_partial = false;      ///< --allow-partial: min_match 0 (still an error if nothing at all is loaded)
  std::vector<std::string> maps;   ///< --map OLD=NEW name maps of the transfer
  double min_match = 1.0;          ///< --min-match: fraction of the encoder's tensors that must be loaded
  std::string entry;               ///< --entry: the nested state dict of a torch.save file
  /// A multi-process run (train/distributed.h; null = one process): every rank calls run_pretraining, each trains
  /// on its shard of every global batch of batch_size samples, rank 0 alone writes the run's files.
  std::shared_ptr<train::ProcessGroup> distributed;
};

/// The TaskSpec (encoder, encoder options, task parameters) that the validated pretrain config `c` describes for
/// images with `spatial_dims` dims and `in_channels` channels: what run_pretraining builds its task from, and what
/// `medssl probe` rebuilds the run's encoder from.
TaskSpec task_spec_from_config(const config::Config& c, int spatial_dims, int64_t in_channels);

/// Runs the pretraining; returns the summary written to RUN_DIR/pretrain.json.
nlohmann::json run_pretraining(const PretrainRequest& request);

}  // namespace medssl::pretext
