// A checkpoint is untrusted input: files that would run code in Python's torch.load are refused naming the global
// (and run nothing), damaged files are refused naming the file and the tensor, and weights that cannot initialise a
// model (NaN, shapes no rule adapts) are refused before the model is touched.
#include <gtest/gtest.h>

#include <filesystem>

#include "medssl/models/unet_encoder.h"
#include "medssl/weights/transfer.h"
#include "medssl/weights/weights_file.h"
#include "testkit/testkit.h"

namespace medssl::weights {
namespace {

namespace fs = std::filesystem;
using testkit::error_of;

models::UNetEncoder small_encoder(int64_t filters = 4) {
  return models::UNetEncoder(models::UNetEncoderOptions().spatial_dims(2).enc_filters(filters).num_layers(2));
}

TEST(HostileCheckpoints, DisallowedGlobalsAreRefusedAndNeverRun) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-hostile");
  // Each payload really runs in Python's own torch.load (checked below), so refusing it is what protects the user.
  auto r = testkit::run_python(
      "import torch, os, builtins, collections\n"
      "d = '" + dir.path() + "'\n"
      "class System:\n"
      "    def __init__(self, marker): self.marker = marker\n"
      "    def __reduce__(self): return (os.system, ('touch ' + self.marker,))\n"
      "class Eval:\n"
      "    def __init__(self, marker): self.marker = marker\n"
      "    def __reduce__(self): return (builtins.eval, (\"open('%s', 'w').close()\" % self.marker,))\n"
      "sd = collections.OrderedDict(w=torch.randn(3), b=torch.zeros(2))\n"
      "torch.save({'state_dict': sd, 'hook': System(d + '/ran_system')}, d + '/system.pt')\n"
      "torch.save({'state_dict': sd, 'hook': Eval(d + '/ran_eval')}, d + '/eval.pt')\n"
      "torch.save({'state_dict': sd, 'hook': System(d + '/ran_legacy')}, d + '/legacy.pt',\n"
      "           _use_new_zipfile_serialization=False)\n"
      "hidden = collections.OrderedDict(w=torch.randn(3))\n"
      "hidden._metadata = {'': System(d + '/ran_metadata')}  # inside the state dict's own _metadata\n"
      "torch.save(hidden, d + '/metadata.pt')\n"
      "torch.load(d + '/system.pt')  # Python runs the payloads (torch 1.13: weights_only is off by default)\n"
      "torch.load(d + '/eval.pt')\n"
      "assert os.path.exists(d + '/ran_system') and os.path.exists(d + '/ran_eval')\n"
      "os.remove(d + '/ran_system'); os.remove(d + '/ran_eval')\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"system.pt", "posix.system"}, {"eval.pt", "builtins.eval"}, {"legacy.pt", "posix.system"},
      {"metadata.pt", "posix.system"}};
  for (const auto& [file, global] : cases) {
    const std::string path = dir.file(file);  // C++17 lambdas cannot capture a structured binding (clang rejects it)
    const std::string msg = error_of([&] { read_weights_file(path); });
    EXPECT_NE(msg.find(dir.file(file)), std::string::npos) << msg;
    EXPECT_NE(msg.find("refers to the Python global " + global), std::string::npos) << msg;
    EXPECT_NE(msg.find("untrusted"), std::string::npos) << msg;
  }
  for (const auto* marker : {"ran_system", "ran_eval", "ran_legacy", "ran_metadata"})
    EXPECT_FALSE(fs::exists(dir.file(marker))) << marker;
}

TEST(HostileCheckpoints, StorageTooSmallTruncatedAndNonZipFilesNameFileAndTensor) {
  if (!testkit::python_has("torch")) GTEST_SKIP() << "python3 torch not available";
  testkit::TempDir dir("medssl-damaged");
  // A valid file whose storage record is rewritten 40 bytes long: the tensor's shape needs 400.
  auto r = testkit::run_python(
      "import torch, zipfile\n"
      "d = '" + dir.path() + "'\n"
      "torch.save({'encoder.w': torch.zeros(10, 10), 'encoder.b': torch.zeros(3)}, d + '/ok.pt')\n"
      "src = zipfile.ZipFile(d + '/ok.pt')\n"
      "with zipfile.ZipFile(d + '/small.pt', 'w', zipfile.ZIP_STORED) as out:\n"
      "    for info in src.infolist():\n"
      "        data = src.read(info.filename)\n"
      "        if info.filename.endswith('data/0') and len(data) == 400: data = data[:40]\n"
      "        if info.filename.endswith('data/1') and len(data) == 400: data = data[:40]\n"
      "        out.writestr(info, data)\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto msg = error_of([&] { read_weights_file(dir.file("small.pt")); });
  EXPECT_NE(msg.find(dir.file("small.pt")), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"encoder.w\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("reaches past the end of its storage"), std::string::npos) << msg;

  const std::string whole = testkit::read_text(dir.file("ok.pt"));
  testkit::write_text(dir.file("cut.pt"), whole.substr(0, whole.size() - 200));
  msg = error_of([&] { read_weights_file(dir.file("cut.pt")); });
  EXPECT_NE(msg.find(dir.file("cut.pt")), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or corrupt"), std::string::npos) << msg;

  testkit::write_text(dir.file("notes.pt"), "weights: see the wiki\n");
  msg = error_of([&] { read_weights_file(dir.file("notes.pt")); });
  EXPECT_NE(msg.find(dir.file("notes.pt")), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a PyTorch file"), std::string::npos) << msg;
}

TEST(HostileCheckpoints, NaNWeightsAndUnadaptableShapesAreRefusedBeforeTheModelChanges) {
  testkit::TempDir dir("medssl-unfit");
  auto source = small_encoder();
  StateDict tensors = state_dict(*source);
  tensors.at("down1.conv1.weight")[0][0][0][0] = std::nan("");
  write_torch_save(tensors, dir.file("nan.pt"));
  auto target = small_encoder();
  const StateDict before = state_dict(*target);
  TransferOptions options;
  options.label = "--init-weights";
  auto msg = error_of([&] { transfer_weights(*target, dir.file("nan.pt"), options); });
  EXPECT_NE(msg.find(dir.file("nan.pt")), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"down1.conv1.weight\" holds 1 NaN or infinite value(s)"), std::string::npos) << msg;

  // Another encoder width: every conv has other output channels, which no rule adapts.
  write_torch_save(state_dict(*small_encoder(8)), dir.file("wide.pt"));
  msg = error_of([&] { transfer_weights(*target, dir.file("wide.pt"), options); });
  EXPECT_NE(msg.find(dir.file("wide.pt")), std::string::npos) << msg;
  EXPECT_NE(msg.find("down0.conv1.weight: file [8, 1, 3, 3] vs model [4, 1, 3, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no rule adapts"), std::string::npos) << msg;

  for (const auto& [name, t] : state_dict(*target)) EXPECT_TRUE(torch::equal(t, before.at(name))) << name;
}

}  // namespace
}  // namespace medssl::weights
