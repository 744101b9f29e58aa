#include "medssl/core/memory_info.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace medssl {
namespace {

/// The first number in a file ("max" and missing files give nullopt).
std::optional<uint64_t> number_in(const std::string& path) {
  std::ifstream in(path);
  uint64_t value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

std::optional<uint64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

std::optional<uint64_t> cgroup_headroom() {
  auto headroom = [](std::optional<uint64_t> limit, std::optional<uint64_t> used) -> std::optional<uint64_t> {
    if (!limit || *limit >= (uint64_t{1} << 60)) return std::nullopt;  // v1 writes "no limit" as a huge number
    return *limit - std::min(*limit, used.value_or(0));
  };
  if (auto v2 = headroom(number_in("/sys/fs/cgroup/memory.max"), number_in("/sys/fs/cgroup/memory.current"))) return v2;
  return headroom(number_in("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
                  number_in("/sys/fs/cgroup/memory/memory.usage_in_bytes"));
}

}  // namespace

std::optional<uint64_t> available_memory_bytes() {
  std::optional<uint64_t> system = mem_available(), group = cgroup_headroom();
  if (system && group) return std::min(*system, *group);
  return system ? system : group;
}

}  // namespace medssl
