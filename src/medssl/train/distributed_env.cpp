#include "medssl/train/distributed_env.h"

#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>
#include <optional>

#include "medssl/core/error.h"

namespace medssl::train {

namespace {

using Getenv = std::function<const char*(const char*)>;

std::optional<std::string> value_of(const Getenv& getenv, const char* name) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// A whole-string decimal integer in [lo, hi]; anything else names the variable.
long long integer_of(const std::string& text, const char* name, long long lo, long long hi) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  check(errno == 0 && end != text.c_str() && *end == '\0' && v >= lo && v <= hi,
        "environment variable {}='{}' is not an integer in [{}, {}]", name, text, lo, hi);
  return v;
}

int int_var(const Getenv& getenv, const char* name, int fallback, long long lo, long long hi) {
  auto v = value_of(getenv, name);
  return v ? static_cast<int>(integer_of(*v, name, lo, hi)) : fallback;
}

constexpr long long kMaxWorld = 1 << 20;

}  // namespace

std::string DistributedEnv::describe() const {
  if (!distributed()) return "single process";
  return fmt::format("rank {}/{} (local rank {}) via {}, rendezvous {}:{}", rank, world_size, local_rank, launcher,
                     master_addr, master_port);
}

DistributedEnv distributed_env_from(const Getenv& getenv) {
  DistributedEnv env;
  env.timeout = std::chrono::seconds(int_var(getenv, "MEDSSL_DIST_TIMEOUT_S", 1800, 1, 7 * 24 * 3600));

  const auto world = value_of(getenv, "WORLD_SIZE");
  const auto rank = value_of(getenv, "RANK");
  // SLURM counts only inside an srun step: the batch script of an allocation with --ntasks 4 also sees
  // SLURM_NTASKS=4 but is one process, and waiting there for three peers would hang.
  const bool slurm_step = !world && !rank && value_of(getenv, "SLURM_STEP_ID") && value_of(getenv, "SLURM_NTASKS");
  if (world || rank) {
    check(world.has_value(), "environment variable RANK is set ({}) but WORLD_SIZE is not; a launcher sets both", *rank);
    env.world_size = static_cast<int>(integer_of(*world, "WORLD_SIZE", 1, kMaxWorld));
    if (env.world_size == 1) return env;
    check(rank.has_value(), "environment variable WORLD_SIZE is {} but RANK is not set; a launcher sets both",
          env.world_size);
    env.rank = static_cast<int>(integer_of(*rank, "RANK", 0, env.world_size - 1));
    env.local_rank = int_var(getenv, "LOCAL_RANK", env.rank, 0, env.world_size - 1);
    const auto by = value_of(getenv, "MEDSSL_LAUNCHED_BY");
    env.launcher = by && *by == "medssl" ? "medssl --nproc" : "torchrun";
  } else if (slurm_step) {
    env.world_size = int_var(getenv, "SLURM_NTASKS", 1, 1, kMaxWorld);
    if (env.world_size == 1) return env;
    const auto procid = value_of(getenv, "SLURM_PROCID");
    check(procid.has_value(), "SLURM_NTASKS is {} but SLURM_PROCID is not set (launch with srun)", env.world_size);
    env.rank = static_cast<int>(integer_of(*procid, "SLURM_PROCID", 0, env.world_size - 1));
    env.local_rank = int_var(getenv, "SLURM_LOCALID", 0, 0, env.world_size - 1);
    env.launcher = "slurm";
  } else {
    return env;
  }

  const auto addr = value_of(getenv, "MASTER_ADDR");
  check(addr.has_value(),
        "a {}-process run ({}) needs MASTER_ADDR, the address of the host running rank 0 (under SLURM: export "
        "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)); see docs/distributed.md",
        env.world_size, env.launcher);
  env.master_addr = *addr;
  env.master_port = int_var(getenv, "MASTER_PORT", 29500, 1, 65535);
  return env;
}

DistributedEnv distributed_env() {
  return distributed_env_from([](const char* name) { return std::getenv(name); });
}

}  // namespace medssl::train
