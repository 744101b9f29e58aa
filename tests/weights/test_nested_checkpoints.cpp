// Checkpoints as Python training code writes them: the state_dict() OrderedDict with _metadata, nested in training
// dicts ({"state_dict"}, {"model"}, {"net"}, {"model": {"state_dict"}}), teacher/student pairs, DataParallel's
// "module." names, float16 / bfloat16, one shared storage with non-contiguous views: each loads into a medssl model.
#include <gtest/gtest.h>

#include "medssl/models/unet_encoder.h"
#include "medssl/weights/transfer.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

using testkit::error_of;

models::UNetEncoder small_encoder() {
  return models::UNetEncoder(models::UNetEncoderOptions().spatial_dims(2).enc_filters(4).num_layers(2));
}

void expect_loaded(const torch::nn::Module& model, const StateDict& expected, double tolerance,
                   const std::string& what) {
  for (const auto& [name, t] : state_dict(model)) {
    ASSERT_TRUE(expected.count(name)) << what << ": " << name;
    const auto want = expected.at(name).to(t.scalar_type());
    EXPECT_TRUE(tolerance == 0 ? torch::equal(t, want) : torch::allclose(t, want, tolerance, tolerance))
        << what << ": " << name;
  }
}

TEST(NestedCheckpoints, PythonTrainingCheckpointsLoadIntoAMedsslModel) {
  if (!testkit::python_has("torch numpy")) GTEST_SKIP() << "python3 torch / numpy not available";
  testkit::TempDir dir("medssl-nested");
  auto reference = small_encoder();
  reference->train();
  reference->forward(torch::rand({2, 1, 16, 16}));  // BatchNorm statistics and num_batches_tracked (int64)
  const StateDict expected = state_dict(*reference);
  write_torch_save(expected, dir.file("reference.pt"));
  auto r = testkit::run_python(
      "import torch, collections, numpy\n"
      "d = '" + dir.path() + "'\n"
      "ref = torch.load(d + '/reference.pt', weights_only=True)\n"
      "def ordered(items):\n"
      "    od = collections.OrderedDict(items)\n"
      "    od._metadata = collections.OrderedDict({'': {'version': 1}, 'down0': {'version': 2}})  # as state_dict()\n"
      "    return od\n"
      "sd = ordered(ref.items())\n"
      "torch.save(sd, d + '/plain.pt')\n"
      "torch.save({'epoch': 3, 'state_dict': sd, 'optimizer': {'state': {0: {'step': torch.tensor(4.)}},\n"
      "            'param_groups': [{'lr': 0.1, 'params': [0]}]}}, d + '/state_dict.pt')\n"
      "torch.save({'model': sd}, d + '/model.pt')\n"
      "torch.save({'net': sd, 'best_acc': numpy.float64(0.9), 'arch': 'unet'}, d + '/net.pt')\n"
      "torch.save({'model': {'state_dict': sd, 'step': 7}}, d + '/deep.pt')\n"
      "teacher = ordered((k, v + 1 if v.is_floating_point() else v) for k, v in ref.items())\n"
      "torch.save({'student': sd, 'teacher': teacher, 'epoch': 3}, d + '/dino.pt')\n"
      "torch.save(ordered(('module.' + k, v) for k, v in ref.items()), d + '/data_parallel.pt')\n"
      "torch.save(ordered((k, v.half() if v.is_floating_point() else v) for k, v in ref.items()), d + '/half.pt')\n"
      "torch.save(ordered((k, v.bfloat16() if v.is_floating_point() else v) for k, v in ref.items()), d + '/bf16.pt')\n"
      "floats = [(k, v if v.dim() < 2 else v.transpose(0, 1).contiguous()) for k, v in ref.items()\n"
      "          if v.is_floating_point()]\n"
      "big = torch.cat([v.flatten() for k, v in floats])  # one storage for every float tensor\n"
      "views, at = {}, 0\n"
      "for k, v in floats:\n"
      "    n = v.numel(); t = big[at:at + n].view(v.shape); at += n\n"
      "    views[k] = t if t.dim() < 2 else t.transpose(0, 1)  # kernels: non-contiguous views into the storage\n"
      "assert not views['down0.conv2.weight'].is_contiguous()\n"
      "views.update((k, v) for k, v in ref.items() if not v.is_floating_point())\n"
      "torch.save(ordered(views.items()), d + '/shared.pt')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::vector<std::pair<std::string, std::string>> files = {
      {"plain.pt", ""}, {"state_dict.pt", "state_dict"}, {"model.pt", "model"}, {"net.pt", "net"},
      {"deep.pt", "model/state_dict"}, {"data_parallel.pt", ""}, {"shared.pt", ""}};
  for (const auto& [name, entry] : files) {
    const WeightsFile file = read_weights_file(dir.file(name));
    EXPECT_EQ(file.entry, entry) << name;
    EXPECT_EQ(file.tensors.size(), expected.size()) << name;
    auto model = small_encoder();
    const auto report = transfer_weights(*model, file, TransferOptions());
    EXPECT_EQ(report.matched.size(), expected.size()) << name;
    expect_loaded(*model, expected, 0, name);
  }
  for (const auto& [name, tolerance] : {std::pair<std::string, double>{"half.pt", 2e-3}, {"bf16.pt", 2e-2}}) {
    const WeightsFile file = read_weights_file(dir.file(name));
    EXPECT_EQ(file.tensors.at("down0.conv1.weight").scalar_type(), name == "half.pt" ? torch::kHalf : torch::kBFloat16);
    EXPECT_EQ(file.tensors.at("down0.norm1.num_batches_tracked").scalar_type(), torch::kLong);
    auto model = small_encoder();
    transfer_weights(*model, file, TransferOptions());
    expect_loaded(*model, expected, tolerance, name);
  }

  // Teacher and student: which one is meant is the user's call.
  const auto msg = error_of([&] { read_weights_file(dir.file("dino.pt")); });
  EXPECT_NE(msg.find("several state dicts"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"student\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"teacher\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("--entry"), std::string::npos) << msg;
  ReadWeightsOptions teacher;
  teacher.entry = "teacher";
  const WeightsFile file = read_weights_file(dir.file("dino.pt"), teacher);
  EXPECT_EQ(file.candidates.size(), 2u);
  EXPECT_TRUE(torch::equal(file.tensors.at("down0.conv1.weight"), expected.at("down0.conv1.weight") + 1));
  teacher.entry = "ema";
  EXPECT_NE(error_of([&] { read_weights_file(dir.file("dino.pt"), teacher); }).find("no state dict at entry \"ema\""),
            std::string::npos);
}

}  // namespace
}  // namespace medssl::weights
