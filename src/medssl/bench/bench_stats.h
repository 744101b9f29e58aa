#pragma once
// What every `medssl bench` measurement reports, kept free of LibTorch so it is cheap to test: shape arguments
// ("1x64x64x64"), step-time statistics (median / p10 / p90 with numpy's linear interpolation, the same rule as the
// Python peers' bench/peer/peer_common.py), and the process' memory (resident set now and at its peak, from /proc).
#include <cstdint>
#include <string>
#include <vector>

namespace medssl::bench {

/// "1x64x64x64" -> {1, 64, 64, 64}. `what` names the option in the error. `min_dims`/`max_dims` bound the count.
/// Throws medssl::Error for empty parts, non-numbers, values < 1 or a wrong count.
std::vector<int64_t> parse_sizes(const std::string& text, const std::string& what, size_t min_dims, size_t max_dims);

/// {1, 64, 64, 64} -> "1x64x64x64".
std::string format_sizes(const std::vector<int64_t>& sizes);

struct TimeStats {
  double median = 0.0, p10 = 0.0, p90 = 0.0, mean = 0.0, min = 0.0, max = 0.0;
  int64_t n = 0;
};

/// The q-quantile (0..1) of `values` by linear interpolation between closest ranks (numpy.percentile's default).
/// Throws medssl::Error for an empty list or q outside [0, 1].
double quantile(std::vector<double> values, double q);

/// Median, p10, p90, mean, min, max of `seconds` (at least one value).
TimeStats time_stats(const std::vector<double>& seconds);

/// Resident set size of this process in MiB: now (VmRSS) and the peak so far (VmHWM), from /proc/self/status.
/// 0 where the kernel does not report them.
double rss_mb();
double peak_rss_mb();

}  // namespace medssl::bench
