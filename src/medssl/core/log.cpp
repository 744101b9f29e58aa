#include "medssl/core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace medssl::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
}  // namespace

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }

void write(Level l, const std::string& message) {
  static const char* prefixes[] = {"[debug] ", "", "warning: ", "error: ", ""};
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s\n", prefixes[static_cast<int>(l)], message.c_str());
  std::fflush(stderr);
}

}  // namespace medssl::log
