// The PyTorch peers (bench/peer/) must build the same networks and batches as `medssl bench`, or the comparison of
// bench/compare.sh means nothing: parameter counts and batch shapes of both sides, case by case.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "medssl/bench/bench_network.h"
#include "medssl/models/layers.h"
#include "testkit/testkit.h"

using namespace medssl;
using json = nlohmann::json;

namespace {

struct Case {
  std::string model, task;
  std::vector<int64_t> input;
  int64_t batch;
  std::vector<std::string> sets;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"unet2d", "", {1, 32, 32}, 2, {}},
      {"densenet121_2d", "", {3, 32, 32}, 2, {}},
      {"unetr", "", {1, 32, 32, 32}, 1, {}},
      {"", "rotation", {1, 16, 16, 16}, 2, {"enc_filters=4", "num_layers=2"}},
      {"", "rpl", {1, 24, 24, 24}, 2, {"enc_filters=4", "num_layers=1", "patch_jitter=2"}},
      {"", "jigsaw", {1, 24, 24}, 2, {"enc_filters=4", "num_layers=1"}},
      {"", "exemplar", {1, 16, 16}, 2, {"enc_filters=4", "num_layers=2", "code_size=32"}},
      {"", "cpc", {1, 32, 32, 32}, 1, {"enc_filters=4", "num_layers=2", "patches_per_side=4", "code_size=32"}},
      {"", "cpc", {1, 48, 48}, 1, {"enc_filters=4", "num_layers=2", "patches_per_side=5", "code_size=32"}},
      {"", "simsiam", {1, 32, 32}, 2, {"enc_filters=4", "num_layers=2", "projection_dim=64",
                                       "projection_hidden_dim=64", "prediction_hidden_dim=16"}},
  };
  return all;
}

std::string python_list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

TEST(BenchPeerParity, PeerNetworksHaveMedsslsParameterCountsAndBatchShapes) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "/usr/bin/python3 lacks torch/torchvision";
  std::string code = "import sys, json\nsys.path.insert(0, '" + std::string(MEDSSL_SOURCE_DIR) +
                     "/bench/peer')\nimport train_step as ts, peer_models as pm\n";
  for (const auto& c : cases()) {
    std::string params = "{";
    for (const auto& kv : c.sets) {
      const auto eq = kv.find('=');
      params += "'" + kv.substr(0, eq) + "': '" + kv.substr(eq + 1) + "',";
    }
    params += "}";
    code += c.model.empty() ? "m, b, _, n = ts.build_task('" + c.task + "', " + python_list(c.input) + ", " +
                                  std::to_string(c.batch) + ", " + params + ")\n"
                            : "m, b, _, n = ts.build_model('" + c.model + "', " + python_list(c.input) + ", " +
                                  std::to_string(c.batch) + ")\n";
    code += "print(json.dumps({'params': pm.count_parameters(m), 'samples': n, "
            "'batch': {k: list(v.shape) for k, v in b.items()}}))\n";
  }
  const auto r = testkit::run_python(code);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  for (const auto& c : cases()) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << r.output;
    const json peer = json::parse(line);
    bench::NetworkRequest request;
    request.model = c.model;
    request.task = c.task;
    request.input = c.input;
    request.batch = c.batch;
    request.sets = c.sets;
    const auto net = bench::build_bench_network(request);
    const std::string what = net.label + " " + python_list(c.input);
    EXPECT_EQ(peer["params"].get<int64_t>(), models::count_parameters(*net.module)) << what;
    EXPECT_EQ(peer["samples"].get<int64_t>(), net.batch.size) << what;
    const json shapes = bench::batch_shapes(net.batch);  // named: items() of a temporary would dangle
    for (const auto& [name, shape] : shapes.items()) {
      if (name == "fell_back") continue;  // the reference IoU sampler's bookkeeping, not a network input
      ASSERT_TRUE(peer["batch"].contains(name)) << what << " tensor " << name << " missing in the peer: " << line;
      EXPECT_EQ(peer["batch"][name].get<std::vector<int64_t>>(), shape.get<std::vector<int64_t>>())
          << what << " tensor " << name;
    }
  }
}
