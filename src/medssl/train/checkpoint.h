#pragma once
// Training checkpoints: everything a killed run needs to continue bit-for-bit (model parameters and buffers,
// optimiser state, schedule step, the torch CPU generator and, where CUDA is available, the CUDA generators, the
// trainer's medssl::Rng, the batch source position, loop counters, best metric) plus the run's config and a
// free-form manifest. Written with one atomic rename, so
// RUN_DIR/checkpoints/last.pt is always either the previous or the new complete checkpoint.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "medssl/core/rng.h"
#include "medssl/core/torch_pch.h"

namespace medssl::train {

/// The loop state stored next to the tensors. Counters are 0-based: `epoch` is the epoch in progress (or the next
/// one when `step_in_epoch` == 0) and `step_in_epoch` the number of its steps already done.
struct TrainingState {
  int64_t epoch = 0;
  int64_t step_in_epoch = 0;
  int64_t global_step = 0;
  int64_t schedule_step = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();  ///< NaN: none yet
  int64_t best_epoch = -1;
  int64_t evals_without_improvement = 0;
  int64_t skipped_steps = 0;       ///< steps dropped by nan_policy skip
  std::string rng_state;           ///< medssl::Rng (std::mt19937_64) state, see rng_state_string
  std::string data_state;          ///< BatchSource::state()
  std::string epoch_accumulators;  ///< the trainer's partial-epoch sums (JSON), so a resumed epoch logs the same row
  std::string config_json;         ///< the run's configuration, verbatim
  std::string manifest_json;       ///< free-form JSON from the caller (method, data set, git commit, ...)
};

/// What a checkpoint file contains besides the model (which is loaded into a module directly).
struct Checkpoint {
  TrainingState state;
  torch::Tensor torch_cpu_rng_state;  ///< at::Generator::get_state() of the default CPU generator (uint8)
  /// get_state() of each CUDA device's default generator when the checkpoint was written on a machine with CUDA;
  /// empty for CPU-only runs and for checkpoints written before medssl stored it.
  std::vector<torch::Tensor> torch_cuda_rng_states;
  bool has_optimizer = false;
};

/// Writes `path` atomically. `optimizer` may be null (weights-only checkpoint); `torch_cpu_rng_state` undefined means
/// "capture the current default CPU generator".
void save_checkpoint(const std::string& path, const torch::nn::Module& model, const torch::optim::Optimizer* optimizer,
                     const TrainingState& state, torch::Tensor torch_cpu_rng_state = {});

/// Loads `path` into `model` (strict: every parameter/buffer must be present with the same shape, and no extra
/// ones) and, when given, `optimizer`. Does NOT touch the global torch generator: call restore_torch_rng with the
/// returned state to do so. Throws medssl::Error naming the file for a missing, truncated or corrupt file, and listing
/// missing / unexpected / mis-shaped keys for a model mismatch.
Checkpoint load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer);

/// Reads the loop state of a checkpoint without touching any model (e.g. to decide the freeze state before building
/// the optimiser that load_optimizer_state fills).
Checkpoint read_checkpoint_state(const std::string& path);

/// Loads only the optimiser state of `path` into `optimizer`.
void load_optimizer_state(const std::string& path, torch::optim::Optimizer& optimizer);

/// Reads only the named model tensors of a checkpoint (e.g. to take an encoder out of a pretext run).
std::map<std::string, torch::Tensor> read_checkpoint_tensors(const std::string& path);

/// Default CPU generator state (copy) and its restoration.
torch::Tensor capture_torch_rng();
void restore_torch_rng(const torch::Tensor& state);

/// The default generator states of all CUDA devices (copies); empty when CUDA is not available. save_checkpoint
/// stores them.
std::vector<torch::Tensor> capture_torch_cuda_rng();
/// Restores what capture_torch_cuda_rng returned (Checkpoint::torch_cuda_rng_states). Empty: nothing to do. Without
/// CUDA, or with fewer devices than were saved, the rest is skipped with a warning (the run continues, but CUDA random
/// streams such as dropout on the GPU no longer replay the original run).
void restore_torch_cuda_rng(const std::vector<torch::Tensor>& states);

/// Text form of a medssl::Rng (the standard library's stream format of std::mt19937_64) and back.
std::string rng_state_string(Rng& rng);
void restore_rng_state(Rng& rng, const std::string& state);

}  // namespace medssl::train
