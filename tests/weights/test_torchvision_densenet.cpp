// torch.save(torchvision.models.densenet121().state_dict()) from Python: all 727 entries (an OrderedDict with
// _metadata, which LibTorch's own pickle_load cannot read) load into medssl's DenseNet-121, which then gives
// torchvision's outputs on the same input.
#include <gtest/gtest.h>

#include <iostream>

#include "medssl/models/densenet.h"
#include "medssl/weights/transfer.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

TEST(TorchvisionDenseNet, PythonStateDictLoadsWithAll727EntriesAndGivesTorchvisionsOutputs) {
  if (!testkit::python_has("torch torchvision")) GTEST_SKIP() << "python3 torch/torchvision not available";
  testkit::TempDir dir("medssl-tv-densenet");
  auto r = testkit::run_python(
      "import torch, torchvision\n"
      "d = '" + dir.path() + "'\n"
      "torch.manual_seed(7)\n"
      "m = torchvision.models.densenet121()\n"
      "m.train()\n"
      "with torch.no_grad():\n"
      "    m(torch.rand(4, 3, 64, 64))  # running statistics away from 0 / 1\n"
      "m.eval()\n"
      "sd = m.state_dict()\n"
      "assert type(sd).__name__ == 'OrderedDict' and hasattr(sd, '_metadata') and len(sd) == 727\n"
      "torch.save(sd, d + '/dn.pt')\n"
      "x = torch.rand(2, 3, 64, 64)\n"
      "with torch.no_grad():\n"
      "    y = m(x)\n"
      "torch.save({'x': x, 'y': y}, d + '/io.pt')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const WeightsFile file = read_weights_file(dir.file("dn.pt"));
  EXPECT_EQ(file.tensors.size(), 727u);
  EXPECT_EQ(file.entry, "");
  EXPECT_TRUE(file.manifest.is_null());
  for (const auto* name : {"features.conv0.weight", "features.denseblock4.denselayer16.conv2.weight",
                           "features.transition3.norm.running_var", "features.norm5.num_batches_tracked",
                           "classifier.weight"})
    EXPECT_TRUE(file.tensors.count(name)) << name;

  models::DenseNet net(models::DenseNetOptions().spatial_dims(2).in_channels(3).num_classes(1000));
  const auto report = transfer_weights(*net, file, TransferOptions());
  EXPECT_EQ(report.matched.size(), 727u);
  EXPECT_TRUE(report.adapted.empty() && report.skipped.empty() && report.missing.empty());
  net->eval();
  const StateDict io = read_weights_file(dir.file("io.pt")).tensors;
  torch::NoGradGuard no_grad;
  const auto ours = net->forward(io.at("x"));
  const double diff = (ours - io.at("y")).abs().max().item<double>();
  std::cout << "torchvision DenseNet-121 -> medssl: max abs output difference " << diff << "\n";
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(ours.std().item<double>(), 1e-3);  // a non-constant output was compared
}

}  // namespace
}  // namespace medssl::weights
