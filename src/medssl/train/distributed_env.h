#pragma once
// Where this process sits in a data-parallel run, read from the environment the standard launchers set: torchrun /
// torch.distributed.launch (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), SLURM's srun (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID; MASTER_ADDR must still be exported, see docs/distributed.md) and medssl's own
// `--nproc N` launcher (which sets the torchrun variables). No variables: a single process.
//
// Torch-free on purpose: the CLI decides whether to launch children before anything touches LibTorch's c10d.
#include <chrono>
#include <functional>
#include <string>

namespace medssl::train {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;                 ///< torchrun's default
  std::chrono::seconds timeout{1800};      ///< rendezvous and every collective (MEDSSL_DIST_TIMEOUT_S)
  std::string launcher = "none";           ///< none | torchrun | slurm | medssl --nproc (torchrun's variables)

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }
  /// "rank 1/4 (local 1) via torchrun, rendezvous 10.0.0.1:29500" for logs.
  std::string describe() const;
};

/// Reads the variables through `getenv` (the real environment by default; tests pass a map). Throws medssl::Error
/// naming the variable when one is malformed or inconsistent (e.g. RANK >= WORLD_SIZE, RANK without WORLD_SIZE).
/// SLURM variables count only inside an srun job step (SLURM_STEP_ID set): a batch script that merely runs inside
/// an allocation with --ntasks > 1 is a single process.
DistributedEnv distributed_env_from(const std::function<const char*(const char*)>& getenv);
DistributedEnv distributed_env();

}  // namespace medssl::train
