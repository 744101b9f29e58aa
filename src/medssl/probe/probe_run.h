#pragma once
// `medssl probe`: how linearly decodable a pretrained encoder's features are, against the same encoder randomly
// initialised (the check of issues 4 and 5: "a linear probe on the learned features beats the same probe on a
// randomly initialised encoder").
//
//   pretrain config (RUN_DIR/config.json) --task_spec_from_config--> the run's encoder (pretext::build_encoder),
//   loaded strictly from RUN_DIR/encoder.pt (or, for --pretrained none, randomly initialised with torch seeded from
//   the run's `seed` as `medssl pretrain` seeds it)
//   labelled data set --prepared with the config's `prepare` keys and data_dim (the pretraining's preprocessing)-->
//   items (volumes, or slices for a 2D run) --split BY CASE (test_fraction)--> crops (crop_features.h) -->
//   frozen features (pretext::encode_flat) --> logistic regression (linear_probe.h) --> OUT/probe.json.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace medssl::probe {

struct ProbeRequest {
  std::string pretrained = "none";  ///< a `medssl pretrain` run folder, or "none" (random init)
  std::string config_path;          ///< pretrain config; default RUN_DIR/config.json
  std::vector<std::string> sets;    ///< --set overrides of the pretrain config
  std::string dataset;              ///< labelled data set (MSD / nnU-Net layout) or a prepared cache of one
  std::string out_dir;              ///< probe.json (and cache/ unless cache_dir)
  std::string cache_dir;            ///< where the data set is prepared; default OUT/cache
  std::string checkpoint = "last";  ///< last (encoder.pt) | best (encoder_best.pt)
  int64_t crops = 512;              ///< crops drawn in all (train + test)
  int64_t crop_side = 0;            ///< 0 = the run's data_dim (the input size the encoder was trained on)
  double test_fraction = 0.25;      ///< share of the CASES held out for testing
  bool balanced = true;             ///< class-balanced crop draws
  double l2 = 1e-3;
  int64_t iterations = 200;
  uint64_t seed = 0;                ///< crops and split (the random init follows the config's `seed`)
};

/// Runs the probe and writes OUT/probe.json atomically; returns its content.
nlohmann::json run_probe(const ProbeRequest& request);

}  // namespace medssl::probe
