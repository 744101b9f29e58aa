#pragma once
// Data-parallel training over PyTorch's own distributed engine, c10d: a process group (Gloo for CPU tensors, NCCL for
// CUDA tensors when LibTorch was built with it) that the trainer uses to start every rank from rank 0's weights,
// average gradients after each backward pass, keep buffers (BatchNorm running statistics) equal, synchronise
// BatchNorm batch statistics (models/sync_batch_norm.h) and agree on control decisions (skip a non-finite step, stop
// early). Every call here is a collective: all ranks make the same calls in the same order.
//
// Rendezvous: rank 0 hosts a c10d::TCPStore at MASTER_ADDR:MASTER_PORT, every rank connects to it, and Gloo/NCCL
// exchange their addresses through it (the same mechanism as torch.distributed's env:// init). The c10d headers stay
// in distributed.cpp, the one file that differs between LibTorch 1.13 (ProcessGroup) and 2.x (Backend).
//
// Failures: a peer that dies makes the pending collective on the others fail at once (the connection closes);
// a peer that hangs makes it fail after the timeout (MEDSSL_DIST_TIMEOUT_S, default 30 min). Either way the caller
// gets a medssl::Error naming this rank and the operation, never a silent hang.
#include <memory>
#include <string>
#include <vector>

#include "medssl/core/torch_pch.h"
#include "medssl/train/distributed_env.h"

namespace medssl::train {

class ProcessGroup {
 public:
  /// Joins the run `env` describes (env.distributed() must hold). `device` is the training device of the config
  /// (cpu | cuda | cuda:N): CUDA devices use NCCL when medssl was built with it, else Gloo through host copies.
  static std::shared_ptr<ProcessGroup> join(const DistributedEnv& env, const std::string& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  bool is_main() const { return env_.rank == 0; }
  const DistributedEnv& env() const { return env_; }
  const std::string& backend() const { return backend_; }  ///< gloo | nccl
  /// The device this rank trains on: "cuda" becomes cuda:LOCAL_RANK (one GPU per local rank); others unchanged.
  std::string rank_device(const std::string& device) const;

  /// In place: `t` becomes the sum of every rank's `t` (same shape and dtype everywhere). `what` names the operation
  /// in error messages.
  void all_reduce_sum_(torch::Tensor& t, const std::string& what);
  /// In place: `t` takes rank `root`'s values.
  void broadcast_(torch::Tensor& t, int root, const std::string& what);
  /// Every tensor takes rank `root`'s values; packed into one flat buffer per dtype (one collective each).
  void broadcast_tensors_(const std::vector<torch::Tensor>& tensors, int root, const std::string& what);
  /// grad := the mean of the ranks' gradients, through one flat buffer per dtype (reused across steps). A gradient
  /// missing on some ranks counts as zero there; one missing on every rank stays undefined (as it would in one process).
  void average_gradients(const std::vector<torch::Tensor>& parameters);
  /// Returns when every rank has called it.
  void barrier(const std::string& what);

 private:
  struct Impl;
  ProcessGroup(DistributedEnv env, std::string backend, std::unique_ptr<Impl> impl);
  DistributedEnv env_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
};

/// Joins the run the environment describes (distributed_env()), or returns nullptr for a single process.
std::shared_ptr<ProcessGroup> join_from_environment(const std::string& device);
/// join_from_environment for a training verb: ranks other than 0 also lower logging to warnings and errors (rank 0
/// alone reports progress and results).
std::shared_ptr<ProcessGroup> join_training_ranks(const std::string& device);

/// Copies rank 0's parameters and/or buffers into every rank's `module` (the start of a run; buffers every step).
void broadcast_module_state(ProcessGroup& group, torch::nn::Module& module, bool parameters, bool buffers);

}  // namespace medssl::train
