#pragma once
// Passing small tensors to a Python peer (/usr/bin/python3 with torch / sklearn / scipy) and reading its results:
// tensors go in as literals (exact: 17 significant digits), results come back one printed vector per line.
// One interpreter start per test (importing torch alone takes seconds): a missing module is detected from the run
// itself instead of a separate python_has probe.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "medssl/core/torch_pch.h"
#include "testkit/testkit.h"

namespace medssl::test {

namespace detail {
inline std::string literal_values(const torch::Tensor& t, bool& integral) {
  integral = !torch::isFloatingType(t.scalar_type()) && t.scalar_type() != torch::kBool;
  const auto flat = t.detach().to(torch::kCPU, integral ? torch::kLong : torch::kFloat64).flatten().contiguous();
  std::string out = "[";
  for (int64_t i = 0; i < flat.numel(); ++i) {
    if (i) out += ",";
    out +=
        integral ? fmt::format("{}", flat.data_ptr<int64_t>()[i]) : fmt::format("{:.17g}", flat.data_ptr<double>()[i]);
  }
  return out + "]";
}
}  // namespace detail

/// `torch.tensor([...], dtype=torch.float64).reshape(...)` (int64 for integer tensors); the code must import torch.
inline std::string py_tensor(const torch::Tensor& t) {
  bool integral = false;
  const auto values = detail::literal_values(t, integral);
  return fmt::format("torch.tensor({}, dtype=torch.{}).reshape([{}])", values, integral ? "int64" : "float64",
                     fmt::join(t.sizes(), ","));
}

/// `np.array([...], dtype=np.float64).reshape(...)` (int64 for integer tensors), for numpy-only peers.
inline std::string py_array(const torch::Tensor& t) {
  bool integral = false;
  const auto values = detail::literal_values(t, integral);
  return fmt::format("np.array({}, dtype=np.{}).reshape([{}])", values, integral ? "int64" : "float64",
                     fmt::join(t.sizes(), ","));
}

/// Python code printing `expr` (number, list, numpy array or CPU torch tensor) as one line of floats.
inline std::string py_print(const std::string& expr) {
  return "print(' '.join(repr(float(v)) for v in np.asarray(" + expr + ", dtype=np.float64).ravel()))\n";
}

struct PeerResult {
  bool unavailable = false;  ///< a module the peer imports is not installed: skip the test
  std::string output;
  std::vector<torch::Tensor> lines;  ///< one float64 vector per printed line ("nan"/"inf" allowed)
};

/// Runs `code` (after `import numpy as np`); a failure other than a missing module fails the calling test.
inline PeerResult run_peer(const std::string& code) {
  PeerResult result;
  const auto r = testkit::run_python("import numpy as np\n" + code);
  result.output = r.output;
  if (r.exit_code != 0 && r.output.find("ModuleNotFoundError") != std::string::npos) {
    result.unavailable = true;
    return result;
  }
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream values(line);
    std::vector<double> v;
    std::string word;
    while (values >> word) v.push_back(std::stod(word));
    result.lines.push_back(torch::tensor(v, torch::kFloat64));
  }
  return result;
}

}  // namespace medssl::test

/// Runs the peer into `var` (a PeerResult) and skips the test if the peer's modules are missing.
#define MEDSSL_RUN_PEER(var, code)                                       \
  const ::medssl::test::PeerResult var = ::medssl::test::run_peer(code); \
  if (var.unavailable) GTEST_SKIP() << "Python peer modules missing: " << var.output
