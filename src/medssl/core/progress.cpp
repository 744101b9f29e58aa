#include "medssl/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>

#include "medssl/core/log.h"

namespace medssl {

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total, std::string unit, double plain_interval_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), plain_interval_s_(plain_interval_s),
      tty_(stderr_is_tty()), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double Progress::rate() const {
  double e = elapsed_s();
  return e > 0 ? static_cast<double>(done_) / e : 0.0;
}

std::string Progress::format_duration(double s) {
  if (s < 0 || s != s) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<long long>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

void Progress::advance(int64_t n, const std::string& status) {
  done_ += n;
  if (!status.empty()) status_ = status;
  draw(false);
}

void Progress::set_status(const std::string& status) {
  status_ = status;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (log::level() > log::Level::info) return;
  draw(true);
  if (tty_) std::fputc('\n', stderr);
  std::fflush(stderr);
}

void Progress::draw(bool force) {
  if (log::level() > log::Level::info) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  double min_interval = tty_ ? 0.1 : plain_interval_s_;
  if (!force && since < min_interval && done_ != total_) return;
  if (!force && !tty_ && done_ == total_) return;  // the final plain line comes from finish()
  last_draw_ = now;
  double r = rate();
  std::string counts = total_ > 0 ? fmt::format("{}/{} {}", done_, total_, unit_) : fmt::format("{} {}", done_, unit_);
  std::string pct = total_ > 0 ? fmt::format("{:3.0f}% ", 100.0 * static_cast<double>(done_) / static_cast<double>(total_)) : "";
  std::string eta = (total_ > 0 && r > 0 && done_ < total_)
                        ? " eta " + format_duration(static_cast<double>(total_ - done_) / r)
                        : " " + format_duration(elapsed_s());
  std::string line = fmt::format("{} {}{} | {:.2f} {}/s{}{}{}", label_, pct, counts, r, unit_, eta,
                                 status_.empty() ? "" : " | ", status_);
  if (tty_) {
    std::fprintf(stderr, "\r\033[2K%s", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace medssl
