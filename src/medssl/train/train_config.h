#pragma once
// The training keys shared by every command that trains (pretrain, finetune, study): optimiser, schedule, clipping,
// epochs, validation cadence, early stopping, NaN policy, device, AMP, seed, loader threads. Names follow the
// reference configs where they exist (lr, epochs, batch_size, clipnorm, clipvalue); defaults reproduce its Keras
// setup (Adam, epsilon 1e-7, constant learning rate).
#include "medssl/config/config.h"
#include "medssl/train/trainer.h"

namespace medssl::train {

/// The shared keys; commands include() this schema into theirs.
const config::Schema& training_schema();

/// TrainerOptions from a validated config holding the training_schema keys. `run_dir` and `steps_per_epoch` from
/// the arguments; the monitor / manifest / frozen prefixes are left for the caller.
TrainerOptions trainer_options_from(const config::Config& config, const std::string& run_dir, double default_lr);

/// Loader settings from the same config.
struct LoaderSettings {
  int workers = 2;
  int prefetch = 4;
};
LoaderSettings loader_settings_from(const config::Config& config);

}  // namespace medssl::train
