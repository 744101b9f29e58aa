#pragma once
// Shared by the libFuzzer targets (fuzz/fuzz_*.cpp): a private scratch folder for the files a reader needs, the
// memory limit every target runs under, and the rule they all enforce: medssl::Error is the one allowed way to reject
// an input. Any other exception (std::out_of_range, nlohmann's type_error, ...) means a user would see an unclear
// message, so it is reported as a finding (abort, with the exception's type and text), like a crash or a leak.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>

#include "medssl/core/error.h"
#include "medssl/core/log.h"

namespace medssl::fuzz {

/// A folder of this process, under /dev/shm when it exists (writes cost no disk I/O), removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::error_code ec;
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    std::string pattern = base + "/medssl-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
      std::perror("medssl fuzz: mkdtemp");
      std::abort();
    }
    static const std::string kept = pattern;
    std::atexit([] {
      std::error_code e;
      std::filesystem::remove_all(kept, e);
    });
    return pattern;
  }();
  return dir;
}

inline std::string scratch_file(const std::string& name) { return scratch_dir() + "/" + name; }

/// Writes bytes to `path` directly (no fsync: the fuzz loop rewrites it thousands of times).
inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "medssl fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

/// The limits of every target: medssl refuses to allocate more than 64 MiB for one input (so libFuzzer's
/// -malloc_limit_mb catches any allocation that bypasses the check), and logs only errors.
inline void init_target() {
  setenv("MEDSSL_MAX_ALLOC", "64M", /*overwrite=*/0);
  log::set_level(log::Level::error);
}

/// Runs `f`; a medssl::Error is an accepted rejection, any other exception aborts with its type and message.
template <typename F>
void run_one(F&& f) {
  try {
    f();
  } catch (const medssl::Error&) {
    // the input was rejected with a message: what medssl promises
  } catch (const std::exception& e) {
    std::fprintf(stderr, "medssl fuzz: FINDING: exception other than medssl::Error: %s: %s\n", typeid(e).name(),
                 e.what());
    std::abort();
  }
}

/// Aborts with `what` unless `condition` holds (a broken invariant of an accepted input).
inline void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "medssl fuzz: FINDING: invariant broken: %s\n", what);
    std::abort();
  }
}

}  // namespace medssl::fuzz
