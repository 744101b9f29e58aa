#pragma once
// A progress line in the llama.cpp spirit: what is running, how far, how fast, how long is left. On a terminal it
// redraws one line in place; when stderr is not a TTY (CI, log files) it prints a plain line at most every
// `plain_interval_s` seconds and at the end, so logs stay readable.
#include <chrono>
#include <cstdint>
#include <string>

namespace medssl {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it", double plain_interval_s = 10.0);
  ~Progress();

  /// Advances by `n` units; `status` is free text shown after the counters (e.g. "loss 0.4213").
  void advance(int64_t n = 1, const std::string& status = "");
  /// Sets a status text without advancing.
  void set_status(const std::string& status);
  /// Prints the final line (idempotent; also called by the destructor).
  void finish();

  double elapsed_s() const;
  double rate() const;  ///< units per second so far

  /// Formats seconds as "1h02m", "3m05s" or "12.3s".
  static std::string format_duration(double seconds);

 private:
  void draw(bool force);
  std::string label_, unit_, status_;
  int64_t total_, done_ = 0;
  double plain_interval_s_;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// Wall-clock seconds since construction (for "done in 12.3s" messages and timings in reports).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  void reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// True when stderr is a terminal (progress lines redraw in place).
bool stderr_is_tty();

}  // namespace medssl
