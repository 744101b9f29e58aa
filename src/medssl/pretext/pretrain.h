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
// (save_checkpoint_every_n_epochs), pretrain.json.
#include <string>

#include <nlohmann/json.hpp>

#include "medssl/config/config.h"

namespace medssl::pretext {

/// Every key `medssl pretrain --config` accepts (reference keys plus medssl's; see docs/config-reference.md).
const config::Schema& pretrain_schema();

struct PretrainRequest {
  config::Config config;
  std::string out_dir;
  bool resume = false;             ///< continue RUN_DIR/checkpoints/last.pt
  std::string init_weights;        ///< optional weights file to start from (strict unless allow_partial)
  bool allow_partial = false;
};

/// Runs the pretraining; returns the summary written to RUN_DIR/pretrain.json.
nlohmann::json run_pretraining(const PretrainRequest& request);

}  // namespace medssl::pretext
