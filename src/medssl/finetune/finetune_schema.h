#pragma once
// The keys `medssl finetune --config` accepts: the reference's finetuning keys (healthml.md section 6: epochs_*,
// exp_splits, repetitions, loss, scores, prediction_architecture, num_classes, ...) plus medssl's (split sizes,
// patch size, cache, evaluation options) plus the shared training keys (train_config.h).
#include "medssl/config/config.h"

namespace medssl::finetune {

/// Every key of a finetuning config, with defaults (`medssl finetune --help-config` prints them).
const config::Schema& finetune_schema();

}  // namespace medssl::finetune
