#pragma once
// `--nproc N`: runs N copies of a command on this machine as the ranks of one data-parallel run, the way torchrun
// does on one node. Each copy gets the torchrun variables (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1, MASTER_PORT=a free port) plus MEDSSL_LAUNCHED_BY=medssl, and re-runs the same command line,
// which then joins the process group instead of launching again (distributed_env.h).
//
// Output: rank 0 writes to this process's stdout/stderr directly (progress lines keep redrawing on a terminal); the
// other ranks' output is read through a pipe and printed to stderr line by line as "[rank R] ...".
// Failure: as soon as one rank exits non-zero or is killed, the others get SIGTERM (SIGKILL after a grace period), and
// launch_local throws a medssl::Error naming that rank, its pid and its exit status. If the launcher itself dies, the
// ranks get SIGTERM (Linux parent-death signal), so none is left behind.
//
// Torch-free: it runs before anything in this process touches LibTorch's process groups.
#include <map>
#include <string>
#include <vector>

namespace medssl::train {

struct LocalLaunch {
  std::string executable;           ///< absolute path of the program to run (usually own_executable())
  std::vector<std::string> args;    ///< its arguments (argv[1...]), the same for every rank
  int nproc = 2;
  int master_port = 0;              ///< 0 = pick a free port on 127.0.0.1
  std::map<std::string, std::string> env;  ///< extra variables for every rank
  double grace_s = 10.0;            ///< SIGTERM -> SIGKILL delay when stopping the other ranks
};

/// Runs the ranks and waits for all of them; returns normally only if every rank exited with status 0.
void launch_local(const LocalLaunch& launch);

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0).
int free_local_port();
/// This process's executable (/proc/self/exe) and its command line after argv[0] (/proc/self/cmdline).
std::string own_executable();
std::vector<std::string> own_arguments();

/// The `--nproc N` rule of the training verbs (pretrain, finetune). Returns false, meaning "run the verb in this
/// process", when N <= 1 or when this process already is a rank of a launched run (torchrun, srun or medssl's own
/// launcher; an N that disagrees with an external launcher's WORLD_SIZE is reported and ignored). Otherwise runs N
/// copies of this process's command line, with `--threads cores/N` prepended when `threads` is 0 (all cores) so
/// the ranks do not oversubscribe the machine, and returns true once all of them succeeded (throws if one failed).
bool launch_ranks_if_asked(int nproc, int threads);

/// "exited with status 3" / "was killed by signal 9 (Killed)" for a waitpid() status.
std::string describe_exit_status(int status);

}  // namespace medssl::train
