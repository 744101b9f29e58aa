#pragma once
// Helpers of the crash-safety tests (test_cli_crash_safety.cpp): start the CLI in the background, SIGKILL it at a
// chosen moment, and check that every file a killed run left behind is complete (parses with medssl's own readers).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "medssl/data/cache/tensor_file.h"
#include "medssl/io/csv.h"
#include "medssl/io/image2d.h"
#include "medssl/io/nifti.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

namespace medssl::crash_test {
namespace fs = std::filesystem;

/// Starts `medssl ARGS` (already shell-quoted) in the background with its output in `log`; the pid is medssl's own.
inline pid_t start_cli(const std::string& args, const std::string& log) {
  const std::string command =
      "exec " + std::string(MEDSSL_CLI) + " " + args + " > " + testkit::shell_quote(log) + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

/// Waits up to `ms` milliseconds for `pid` to exit; if it still runs then, SIGKILLs it. Returns true if it was
/// killed, false if it had exited by itself (then `exit_code` is its status).
inline bool kill_after(pid_t pid, int ms, int* exit_code = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return true;
}

inline bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Checks that every file under `dir` is complete, with the reader medssl itself uses for its kind. Temporaries
/// ("<name>.tmp-<pid>-<n>", what a killed atomic write leaves) are never read by medssl and are skipped. Returns the
/// number of files checked.
inline int expect_all_files_complete(const std::string& dir, const std::string& when) {
  int checked = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const std::string path = it->path().string(), name = it->path().filename().string();
    if (name.find(".tmp-") != std::string::npos || name.rfind(".medssl-write-probe", 0) == 0) continue;
    const std::string error = testkit::error_of([&] {
      if (has_suffix(name, ".json")) {
        (void)nlohmann::json::parse(testkit::read_text(path));
      } else if (has_suffix(name, ".jsonl")) {
        const std::string text = testkit::read_text(path);
        if (!text.empty() && text.back() != '\n') throw std::runtime_error("last line not terminated");
        size_t start = 0;
        for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
          (void)nlohmann::json::parse(text.substr(start, end - start));
      } else if (has_suffix(name, ".csv")) {
        (void)io::read_csv(path);
      } else if (has_suffix(name, ".pt")) {
        (void)weights::read_weights_file(path);
      } else if (has_suffix(name, ".nii.gz") || has_suffix(name, ".nii")) {
        (void)io::read_nifti(path);
      } else if (has_suffix(name, ".png")) {
        (void)io::read_image2d(path);
      } else if (has_suffix(name, ".bin")) {
        (void)cache::read_tensor_file(path);
      } else if (has_suffix(name, ".svg")) {
        if (testkit::read_text(path).find("</svg>") == std::string::npos) throw std::runtime_error("no </svg>");
      } else if (has_suffix(name, ".md") || has_suffix(name, ".log")) {
        if (testkit::read_text(path).empty()) throw std::runtime_error("empty");
      }
    });
    EXPECT_EQ(error, "") << when << ": " << path << " is incomplete or corrupt";
    ++checked;
  }
  return checked;
}

/// The rows of metrics.jsonl without the timing columns (names ending in "_s", and data_wait_frac), which differ
/// between runs.
inline std::vector<nlohmann::json> metric_rows(const std::string& run) {
  std::vector<nlohmann::json> rows;
  const std::string text = testkit::read_text(run + "/metrics.jsonl");
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    nlohmann::json row = nlohmann::json::parse(text.substr(start, end - start));
    for (auto it = row.begin(); it != row.end();)
      it = has_suffix(it.key(), "_s") || it.key() == "data_wait_frac" ? row.erase(it) : std::next(it);
    rows.push_back(row);
  }
  return rows;
}

/// Every tensor of two weights files is equal (same names, shapes, values).
inline void expect_same_weights(const std::string& a, const std::string& b) {
  const auto x = weights::read_weights_file(a).tensors, y = weights::read_weights_file(b).tensors;
  ASSERT_EQ(x.size(), y.size()) << a << " vs " << b;
  for (const auto& [name, t] : x) {
    ASSERT_TRUE(y.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, y.at(name))) << a << " vs " << b << ": " << name;
  }
}

}  // namespace medssl::crash_test
