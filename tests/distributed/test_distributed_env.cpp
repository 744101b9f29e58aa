// Reading the launcher environment: torchrun's variables, srun's, neither; malformed or inconsistent values are
// errors naming the variable.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "medssl/train/distributed_env.h"
#include "testkit/testkit.h"

namespace medssl::train {
namespace {

DistributedEnv env_of(const std::map<std::string, std::string>& vars) {
  return distributed_env_from([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_for(const std::map<std::string, std::string>& vars) {
  return testkit::error_of([&] { env_of(vars); });
}

TEST(DistributedEnv, NoVariablesIsOneProcess) {
  const auto e = env_of({});
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.rank, 0);
  EXPECT_TRUE(e.is_main());
  EXPECT_EQ(e.timeout.count(), 1800);
}

TEST(DistributedEnv, TorchrunVariables) {
  const auto e = env_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.1.2.3"},
                         {"MASTER_PORT", "29611"}, {"MEDSSL_DIST_TIMEOUT_S", "90"}});
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "10.1.2.3");
  EXPECT_EQ(e.master_port, 29611);
  EXPECT_EQ(e.timeout.count(), 90);
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_FALSE(e.is_main());
  EXPECT_NE(e.describe().find("rank 3/8"), std::string::npos) << e.describe();
}

TEST(DistributedEnv, DefaultsOfOptionalVariables) {
  const auto e = env_of({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "node7"}});
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_EQ(e.local_rank, 1);  // no LOCAL_RANK: one machine assumed
  EXPECT_FALSE(env_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).distributed());
}

TEST(DistributedEnv, SlurmInsideAnSrunStep) {
  const auto e = env_of({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                         {"MASTER_ADDR", "gpu01"}});
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "gpu01");
  // torchrun's variables win over SLURM's (torchrun started inside an allocation).
  const auto t = env_of({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"RANK", "1"},
                         {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "a"}});
  EXPECT_EQ(t.launcher, "torchrun");
  EXPECT_EQ(t.world_size, 4);
}

TEST(DistributedEnv, ABatchScriptOfAnAllocationIsOneProcess) {
  EXPECT_FALSE(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_ID", "17"}}).distributed());
}

TEST(DistributedEnv, BadValuesNameTheVariable) {
  EXPECT_NE(error_for({{"RANK", "x"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}).find("RANK='x'"), std::string::npos);
  EXPECT_NE(error_for({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}}).find("RANK='2'"), std::string::npos);
  EXPECT_NE(error_for({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(error_for({{"RANK", "1"}}).find("WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(error_for({{"WORLD_SIZE", "2"}}).find("RANK is not set"), std::string::npos);
  EXPECT_NE(error_for({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(error_for({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "70000"}})
                .find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(error_for({{"MEDSSL_DIST_TIMEOUT_S", "0"}}).find("MEDSSL_DIST_TIMEOUT_S"), std::string::npos);
  EXPECT_NE(error_for({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}}).find("scontrol"),
            std::string::npos);
}

}  // namespace
}  // namespace medssl::train
