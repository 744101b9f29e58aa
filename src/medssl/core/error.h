#pragma once
// medssl reports every user-facing problem (bad file, bad config key, NaN loss) as medssl::Error. The CLI catches it,
// prints the message (which names the file, key or step) and exits non-zero; nothing is ever reported by crashing.
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace medssl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Throws medssl::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

/// Throws medssl::Error unless `condition` holds.
template <typename... Args>
void check(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace medssl
