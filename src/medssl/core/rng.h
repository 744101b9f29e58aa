#pragma once
// Seeded random numbers for everything that is not a LibTorch kernel (crop offsets, augmentations, synthetic data).
// Each consumer derives its own stream from (seed, purpose, index) with `Rng::derive`, so results do not depend on
// thread scheduling or on how many draws another component made.
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace medssl {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}

  /// A new independent stream for (this seed, a purpose label, an index): stable across runs and platforms.
  static Rng derive(uint64_t seed, std::string_view purpose, uint64_t index = 0) {
    uint64_t h = 1469598103934665603ULL ^ seed;  // FNV-1a over the purpose, mixed with seed and index
    for (char c : purpose) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h ^= index + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return Rng(splitmix(h));
  }

  /// Uniform integer in [lo, hi] (both inclusive).
  int64_t uniform_int(int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    return lo + static_cast<int64_t>(next_u64() % static_cast<uint64_t>(hi - lo + 1));
  }
  /// Uniform real in [lo, hi).
  double uniform(double lo = 0.0, double hi = 1.0) { return lo + (hi - lo) * (next_u64() >> 11) * 0x1.0p-53; }
  double normal(double mean = 0.0, double stddev = 1.0) {
    std::normal_distribution<double> d(mean, stddev);
    return d(engine_);
  }
  bool bernoulli(double p) { return uniform() < p; }
  uint64_t next_u64() { return engine_(); }

  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(uniform_int(0, static_cast<int64_t>(i) - 1))]);
  }

  std::mt19937_64& engine() { return engine_; }

 private:
  static uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  std::mt19937_64 engine_;
};

}  // namespace medssl
