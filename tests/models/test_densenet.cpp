// DenseNet-121 (2D and 3D): shapes, torchvision's parameter count and state-dict names, numerical parity with
// torchvision through a saved state dict, and that it can learn (tiny overfit).
#include <gtest/gtest.h>

#include <sstream>

#include "medssl/core/error.h"
#include "medssl/models/densenet.h"
#include "medssl/models/layers.h"
#include "medssl/weights/state_dict_io.h"
#include "testkit/testkit.h"

namespace medssl::models {
namespace {

std::string shape_key(const torch::Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s;
}

TEST(DenseNet, Shapes2D) {
  torch::NoGradGuard no_grad;
  DenseNet net(DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(5));
  net->eval();
  auto x = torch::randn({2, 3, 64, 64});
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({2, 5}));
  EXPECT_EQ(net->forward_features(x).sizes(), torch::IntArrayRef({2, 1024}));
  EXPECT_EQ(net->out_features(), 1024);
  DenseNet features_only(DenseNetOptions().spatial_dims(2).in_channels(1).pooling("max"));
  features_only->eval();
  EXPECT_EQ(features_only->forward(torch::randn({1, 1, 48, 40})).sizes(), torch::IntArrayRef({1, 1024}));
  EXPECT_EQ(features_only->named_modules().find("classifier"), nullptr);
}

TEST(DenseNet, Shapes3D) {
  torch::NoGradGuard no_grad;
  DenseNet net(DenseNetOptions().spatial_dims(3).in_channels(2).num_classes(3));
  net->eval();
  auto x = torch::randn({1, 2, 32, 32, 32});
  EXPECT_EQ(net->forward(x).sizes(), torch::IntArrayRef({1, 3}));
  EXPECT_EQ(net->forward_features(x).sizes(), torch::IntArrayRef({1, 1024}));
  EXPECT_THROW(net->forward(torch::randn({1, 2, 8, 8, 8})), Error);  // too small for 3 transitions
  EXPECT_THROW(net->forward(torch::randn({1, 2, 32, 32})), Error);     // 2D input to a 3D net
}

TEST(DenseNet, ParameterCountAsTorchvision) {
  DenseNet net(DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(1000));
  const int64_t n = count_parameters(*net);
  std::cout << "DenseNet-121 2D (1000 classes) parameters: " << n << "\n";
  EXPECT_EQ(n, 7978856);
  EXPECT_EQ(weights::state_dict(*net).size(), 727u);
}

// torchvision's densenet121 state dict, "name shape" per line, from the Python peer.
std::map<std::string, std::string> torchvision_densenet121_keys() {
  auto r = testkit::run_python(
      "import torchvision\n"
      "for k, v in torchvision.models.densenet121().state_dict().items():\n"
      "    print(k, ','.join(str(s) for s in v.shape))\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::string> keys;
  std::istringstream lines(r.output);
  std::string name, shape;
  while (lines >> name) {
    shape.clear();
    // A 0-dim tensor (num_batches_tracked) prints an empty shape: the next token is already a name.
    if (lines.peek() == ' ') lines.get();
    if (lines.peek() != '\n') lines >> shape;
    keys[name] = shape;
  }
  return keys;
}

TEST(DenseNet, StateDictNamesAndShapesEqualTorchvision) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "python3 torch/torchvision not available";
  auto reference = torchvision_densenet121_keys();
  ASSERT_EQ(reference.size(), 727u);
  DenseNet net(DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(1000));
  std::map<std::string, std::string> ours;
  for (const auto& [name, t] : weights::state_dict(*net)) ours[name] = shape_key(t);
  EXPECT_EQ(ours, reference);

  // The 3D twin: the same names; every conv kernel gains one axis.
  DenseNet net3d(DenseNetOptions().spatial_dims(3).in_channels(3).num_classes(1000));
  auto sd3 = weights::state_dict(*net3d);
  ASSERT_EQ(sd3.size(), reference.size());
  for (const auto& [name, shape] : reference) {
    ASSERT_TRUE(sd3.count(name)) << name;
    const auto& t = sd3.at(name);
    if (name.find("conv") != std::string::npos) EXPECT_EQ(t.dim(), 5) << name;
    else EXPECT_EQ(shape_key(t), shape) << name;
  }
}

TEST(DenseNet, TorchvisionInitialisation) {
  DenseNet net(DenseNetOptions().spatial_dims(2).num_classes(10));
  auto params = net->named_parameters();
  EXPECT_TRUE(torch::equal(params["features.norm0.weight"], torch::ones({64})));
  EXPECT_TRUE(torch::equal(params["features.norm0.bias"], torch::zeros({64})));
  EXPECT_TRUE(torch::equal(params["classifier.bias"], torch::zeros({10})));
  // kaiming_normal (fan_in, gain sqrt 2): conv0 has fan_in 3*49.
  EXPECT_NEAR(params["features.conv0.weight"].std().item<double>(), std::sqrt(2.0 / 147.0), 0.01);
}

TEST(DenseNet, OutputsMatchTorchvisionThroughSavedStateDict) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "python3 torch/torchvision not available";
  testkit::TempDir dir("medssl-densenet-parity");
  torch::manual_seed(2024);
  DenseNet net(DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(1000));
  {
    // Non-trivial BN parameters and running statistics, so that eval-mode BN actually transforms.
    torch::NoGradGuard no_grad;
    for (auto& item : net->named_buffers()) {
      if (item.key().find("running_mean") != std::string::npos) item.value().uniform_(-0.3, 0.3);
      if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 1.5);
      if (item.key().find("num_batches_tracked") != std::string::npos) item.value().fill_(17);
    }
    for (auto& item : net->named_parameters()) {
      if (item.key().find("norm") == std::string::npos) continue;
      if (item.key().find(".weight") != std::string::npos) item.value().uniform_(0.7, 1.3);
      if (item.key().find(".bias") != std::string::npos) item.value().uniform_(-0.2, 0.2);
    }
  }
  net->eval();
  auto x = torch::randn({2, 3, 64, 64});
  torch::Tensor ours;
  {
    torch::NoGradGuard no_grad;
    ours = net->forward(x);
  }
  weights::save_state_dict(*net, dir.file("densenet121.pt"));
  weights::save_tensors({{"x", x}}, dir.file("input.pt"));
  auto r = testkit::run_python(
      "import torch, torchvision\n"
      "d = '" + dir.path() + "'\n"
      "m = torchvision.models.densenet121()\n"
      "sd = torch.load(d + '/densenet121.pt')\n"
      "assert isinstance(sd, dict), type(sd)\n"
      "m.load_state_dict(sd, strict=True)\n"
      "assert int(m.features.norm0.num_batches_tracked) == 17\n"
      "m.eval()\n"
      "with torch.no_grad():\n"
      "    x = torch.load(d + '/input.pt')['x']\n"
      "    y = m(x)\n"
      "# two entries: LibTorch 1.13's unpickler cannot read a one-entry dict (pickle SETITEM)\n"
      "torch.save({'x': x, 'y': y}, d + '/output.pt')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto theirs = weights::load_state_dict_file(dir.file("output.pt")).at("y");
  ASSERT_EQ(theirs.sizes(), ours.sizes());
  const double max_abs_diff = (theirs - ours).abs().max().item<double>();
  std::cout << "DenseNet-121 medssl vs torchvision: max abs diff " << max_abs_diff << " (output max abs "
            << ours.abs().max().item<double>() << ")\n";
  EXPECT_LT(max_abs_diff, 1e-4);
  EXPECT_GT(ours.std().item<double>(), 1e-3);  // a meaningful, non-constant output was compared
}

// Two classes told apart by where a bright blob sits; a small DenseNet must memorise 4 images.
void expect_densenet_overfits(int dims, int64_t size) {
  torch::manual_seed(11);
  std::vector<int64_t> shape{4, 1};
  for (int d = 0; d < dims; ++d) shape.push_back(size);
  auto x = torch::randn(shape) * 0.3;
  auto y = torch::tensor({0, 1, 0, 1}, torch::kLong);
  for (int64_t i = 0; i < 4; ++i) {
    auto xi = x[i][0];
    const int64_t lo = y[i].item<int64_t>() == 0 ? 2 : size / 2;
    for (int d = 0; d < dims; ++d) xi = xi.narrow(d, lo, size / 4);
    xi.add_(1.5);
  }
  DenseNet net(DenseNetOptions()
                   .spatial_dims(dims)
                   .in_channels(1)
                   .num_classes(2)
                   .growth_rate(8)
                   .block_config({2, 2, 2})
                   .num_init_features(16));
  net->train();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(3e-3));
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  std::cout << dims << "D DenseNet overfit: loss " << first << " -> " << last << "\n";
  EXPECT_LT(last, 0.1);
  EXPECT_LT(last, 0.3 * first);
}

TEST(DenseNet, Overfits2DTwoClasses) { expect_densenet_overfits(2, 32); }
TEST(DenseNet, Overfits3DTwoClasses) { expect_densenet_overfits(3, 16); }

TEST(DenseNet, BadOptionsThrow) {
  EXPECT_THROW(DenseNet(DenseNetOptions().spatial_dims(1)), Error);
  EXPECT_THROW(DenseNet(DenseNetOptions().pooling("sum")), Error);
  EXPECT_THROW(DenseNet(DenseNetOptions().block_config({})), Error);
}

}  // namespace
}  // namespace medssl::models
