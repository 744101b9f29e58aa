#include "testkit/testkit.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace medssl::testkit {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + tag + "-XXXXXX";
  std::string buf = pattern;
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = buf;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("MEDSSL_KEEP_TEST_FILES")) fs::remove_all(path_, ec);
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  return r;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

CommandResult run_cli(const std::string& args) { return run_command(std::string(MEDSSL_CLI) + " " + args); }

std::string synth_ct(const TempDir& dir, int cases, int unlabelled, int size, int seed) {
  const std::string ds = dir.file("ct");
  const auto r = run_cli("synth ct3d --out " + shell_quote(ds) + " --cases " + std::to_string(cases) + " --unlabelled " +
                         std::to_string(unlabelled) + " --size " + std::to_string(size) + " --seed " + std::to_string(seed));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return ds;
}

CommandResult run_python(const std::string& code) {
  return run_command(std::string(MEDSSL_PYTHON) + " -c " + shell_quote(code));
}

bool python_has(const std::string& modules) {
  std::istringstream ss(modules);
  std::string m, imports;
  while (ss >> m) imports += "import " + m + "\n";
  return run_python(imports).exit_code == 0;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace medssl::testkit
