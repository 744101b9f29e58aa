#pragma once
// A caching CPU allocator for LibTorch tensors: large blocks are kept after free and handed out again for requests
// of the same size class, instead of going back to the operating system.
//
// Why: glibc serves every allocation above 32 MiB with mmap and unmaps it on free (its adaptive threshold stops at
// 32 MiB), so a training step re-faults every large activation, gradient and oneDNN buffer page by page, each time.
// On the benchmark VM a first touch costs ~0.65 s per GiB against ~0.06 s for memory already mapped, and one 3D UNet
// step at 64^3 (batch 2) faulted in about 2 GiB: a third of the step. A training loop allocates the same sizes every
// step, so after the first step every large request is served from the cache and nothing is faulted in again.
// (jemalloc and glibc tunables were measured too: jemalloc still purged, and glibc without mmap kept the speed but
// fragmented its heap to +50 % peak memory; see bench/RESULTS.md.)
//
// Size classes: 8 per power of two; a request takes the smallest cached block of at least its class and at most twice
// it. Blocks below 1 MiB bypass the cache (glibc reuses those well).
// Footprint: a miss first releases the largest cached blocks until in-use + cached + the new block stays within 1/16
// above the most ever in use at once, so the cache holds little a step could not use (peak RSS close to without it).
// Bound: when a request misses and the cache already holds more than `limit` bytes (MEDSSL_CPU_CACHE_LIMIT_MB,
// default half the physical memory), every cached block is released first, so changing shapes cannot grow it without
// end. MEDSSL_CPU_CACHING_ALLOCATOR=0 leaves LibTorch's default allocator in place.
#include <cstdint>

namespace medssl {

struct CpuCacheStats {
  int64_t cached_bytes = 0;  ///< held in the cache, free
  int64_t in_use_bytes = 0;  ///< handed out in large blocks and not yet freed
  int64_t peak_in_use_bytes = 0;  ///< the most ever handed out at once (the footprint's bound, see below)
  int64_t hits = 0, misses = 0, releases = 0;
  int64_t trimmed = 0;  ///< cached blocks released so that a miss does not raise the footprint above that peak
};

/// Makes the caching allocator LibTorch's CPU allocator (idempotent; tensors allocated before keep their own
/// deleter). Returns false if MEDSSL_CPU_CACHING_ALLOCATOR=0 disabled it.
bool install_caching_cpu_allocator();
bool caching_cpu_allocator_installed();
CpuCacheStats caching_cpu_allocator_stats();
/// Frees every cached (unused) block.
void release_cached_cpu_memory();

}  // namespace medssl
