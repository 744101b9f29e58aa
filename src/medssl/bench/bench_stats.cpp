#include "medssl/bench/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "medssl/core/error.h"

namespace medssl::bench {

std::vector<int64_t> parse_sizes(const std::string& text, const std::string& what, size_t min_dims, size_t max_dims) {
  std::vector<int64_t> sizes;
  std::stringstream parts(text);
  std::string part;
  const auto describe = [&] {
    return min_dims == max_dims ? std::to_string(min_dims) : fmt::format("{} to {}", min_dims, max_dims);
  };
  while (std::getline(parts, part, 'x')) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(!part.empty() && used == part.size() && value >= 1,
          "{}: '{}' is not a list of positive sizes joined by 'x' (e.g. 1x64x64x64); bad part '{}'", what, text, part);
    sizes.push_back(value);
  }
  check(!text.empty() && text.back() != 'x' && sizes.size() >= min_dims && sizes.size() <= max_dims,
        "{}: '{}' must have {} sizes joined by 'x'", what, text, describe());
  return sizes;
}

std::string format_sizes(const std::vector<int64_t>& sizes) {
  std::string out;
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? "x" : "") + std::to_string(sizes[i]);
  return out;
}

double quantile(std::vector<double> values, double q) {
  check(!values.empty(), "quantile of an empty list of timings");
  check(q >= 0.0 && q <= 1.0, "quantile {} is outside [0, 1]", q);
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (position - static_cast<double>(lo));
}

TimeStats time_stats(const std::vector<double>& seconds) {
  check(!seconds.empty(), "no timed steps to summarise");
  TimeStats s;
  s.n = static_cast<int64_t>(seconds.size());
  s.median = quantile(seconds, 0.5);
  s.p10 = quantile(seconds, 0.1);
  s.p90 = quantile(seconds, 0.9);
  s.mean = std::accumulate(seconds.begin(), seconds.end(), 0.0) / static_cast<double>(seconds.size());
  s.min = *std::min_element(seconds.begin(), seconds.end());
  s.max = *std::max_element(seconds.begin(), seconds.end());
  return s;
}

namespace {
// A "Vm...:   123456 kB" line of /proc/self/status, in MiB; 0 if absent (not Linux, or a restricted /proc).
double status_field_mb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream rest(line.substr(field.size() + 1));
    double kib = 0.0;
    rest >> kib;
    return kib / 1024.0;
  }
  return 0.0;
}
}  // namespace

double rss_mb() { return status_field_mb("VmRSS"); }
double peak_rss_mb() { return status_field_mb("VmHWM"); }

}  // namespace medssl::bench
