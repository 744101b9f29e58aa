// libFuzzer target (LibTorch; built only in the full clang build, cmake -DMEDSSL_FUZZ=ON, see docs/reliability.md):
// every weights file medssl reads, whole: torch.save zip and legacy files (read_weights_file, including the zip
// container of LibTorch's PyTorchStreamReader) and medssl training checkpoints (TorchScript archives read by
// LibTorch's deserializer, then read_checkpoint_state). The input is the file.
#include "fuzz_support.h"
#include "medssl/train/checkpoint.h"
#include "medssl/weights/weights_file.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl;
  const std::string path = fuzz::scratch_file("input.pt");
  fuzz::write_bytes(path, std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz::run_one([&] {
    const weights::WeightsFile file = weights::read_weights_file(path);
    for (const auto& [name, t] : file.tensors) fuzz::require(t.defined() && !name.empty(), "named, defined tensors");
  });
  fuzz::run_one([&] { train::read_checkpoint_state(path); });
  return 0;
}
