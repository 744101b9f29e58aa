#pragma once
// Shared helpers for medssl tests: temporary directories, running commands (the CLI, the Python peers), small files.
#include <functional>
#include <stdexcept>
#include <string>

#include "medssl_test_paths.h"

namespace medssl::testkit {

/// A fresh directory under $TMPDIR (or /tmp), removed when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "medssl-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  ///< the process's exit status, or 128+signal if it was killed
  std::string output;  ///< stdout and stderr together
};

/// Runs a shell command and captures its output.
CommandResult run_command(const std::string& command);

/// Runs the medssl CLI with the given arguments (already shell-quoted where needed).
CommandResult run_cli(const std::string& args);

/// Writes an MSD-layout CT phantom data set with `medssl synth ct3d` to dir/"ct" and returns its path; a failure of
/// the command is a test failure (EXPECT), so the caller's next step reports the missing data set.
std::string synth_ct(const TempDir& dir, int cases, int unlabelled, int size, int seed);

/// Runs a Python snippet with Debian's /usr/bin/python3 (the peers); returns its result.
CommandResult run_python(const std::string& code);

/// True if /usr/bin/python3 can import every module in the space-separated list.
bool python_has(const std::string& modules);

/// Runs `f` and returns the message of the medssl::Error (or other std::exception) it throws, "" if it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

/// Quotes a string for a POSIX shell.
std::string shell_quote(const std::string& s);

void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

}  // namespace medssl::testkit
