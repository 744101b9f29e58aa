// libFuzzer target: the LibTorch-free part of the torch.save reader (weights/torch_save_pickle.h), i.e. everything a
// hostile weights file reaches before a tensor is allocated: the restricted unpickler, persistent ids, finding the
// state dict, the legacy layout and each tensor's bounds in its storage. Input: a whole legacy-format file (if it
// starts with the legacy magic number) or the data.pkl record of a zip-format file. The zip container itself is
// LibTorch's (PyTorchStreamReader) and is fuzzed only by fuzz_weights_file, in the full clang build (MEDSSL_FUZZ).
#include <functional>

#include "fuzz_support.h"
#include "medssl/weights/torch_save_pickle.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  medssl::fuzz::init_target();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace medssl::weights::torch_save;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string path = "input.pt";
  medssl::fuzz::run_one([&] {
    if (is_legacy_format(bytes)) {
      const LegacyContents contents = read_legacy_layout(bytes, path);
      for (const auto& [key, storage] : contents.storages)
        medssl::fuzz::require(storage.byte_offset + static_cast<size_t>(storage.numel) * storage.storage->element_bytes <=
                                  bytes.size(),
                              "legacy storages lie inside the file");
      for (const auto& t : contents.dict.tensors) check_tensor_in_storage(t, contents.storages.at(t.storage_key).numel, path);
      return;
    }
    const PickledStateDict dict = read_state_dict_pickle(bytes, path);
    for (const auto& t : dict.tensors) {
      medssl::fuzz::require(t.storage != nullptr && t.sizes.size() == t.strides.size(), "complete tensor records");
      // Zip records can have any size: try the record sizes a damaged archive could give.
      const int64_t numel = static_cast<int64_t>(std::hash<std::string>{}(t.storage_key) % 4097);
      check_tensor_in_storage(t, numel, path);
    }
  });
  return 0;
}
