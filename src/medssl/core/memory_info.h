#pragma once
// How much memory this process may still use, for decisions such as "does the whole cache fit in RAM"
// (data/loader/image_set.h). Linux: MemAvailable of /proc/meminfo, capped by the cgroup memory limit (v2
// memory.max minus memory.current, or v1 memory.limit_in_bytes minus usage) when there is one.
#include <cstdint>
#include <optional>

namespace medssl {

/// Bytes available to this process now, or nullopt if the system does not say.
std::optional<uint64_t> available_memory_bytes();

}  // namespace medssl
