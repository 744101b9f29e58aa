#pragma once
// Minimal leveled logging to stderr (stdout stays clean for machine-readable output such as `info --json`).
#include <fmt/format.h>
#include <string>

namespace medssl::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

void set_level(Level level);
Level level();
void write(Level level, const std::string& message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { if (level() <= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(a)...)); }
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { if (level() <= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(a)...)); }
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { if (level() <= Level::warn) write(Level::warn, fmt::format(f, std::forward<Args>(a)...)); }
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { write(Level::error, fmt::format(f, std::forward<Args>(a)...)); }

}  // namespace medssl::log
