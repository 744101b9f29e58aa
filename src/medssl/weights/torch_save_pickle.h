#pragma once
// The LibTorch-free half of reading torch.save files (torch_save_format.h is the public API): the restricted
// unpickler, the interpretation of torch.save's persistent ids, finding the state dict in the saved object, the layout
// of the legacy format and the bounds of every tensor inside its storage. Everything a hostile file can reach before
// a single tensor is allocated lives here, without LibTorch, so that it compiles in seconds and is fuzzed in CI
// (fuzz/fuzz_torch_save_pickle.cpp). torch_save_format.cpp adds the zip container (LibTorch's PyTorchStreamReader)
// and builds the tensors from the byte ranges found here.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace medssl::weights {

/// The dict entries preferred, in this order, when a training-checkpoint dict holds several dicts of tensors (also
/// declared in torch_save_format.h).
const std::vector<std::string>& state_dict_entry_names();

/// A dict of tensors found in the saved object: where ("" = the object itself; "teacher", "model/state_dict") and
/// how many tensors it holds.
struct StateDictCandidate {
  std::string entry;
  size_t tensors = 0;
};

namespace torch_save {

/// A storage class torch.save names in its persistent ids, e.g. {"torch.FloatStorage", "Float", 4}. `dtype` is
/// LibTorch's name of the element type (c10::toString); tests check this table against torch_save_storage.h.
struct StorageClass {
  std::string name;
  std::string dtype;
  size_t element_bytes = 0;
};
/// Every storage class medssl reads.
const std::vector<StorageClass>& storage_classes();
/// The entry for `name`, or nullptr.
const StorageClass* find_storage_class(const std::string& name);

/// One tensor of the state dict as the pickle describes it. Its elements live in storage `storage_key`.
struct TensorRecord {
  std::string name;
  std::string storage_key;
  const StorageClass* storage = nullptr;
  int64_t offset = 0;  ///< element offset into the storage (a legacy storage view's own offset included)
  std::vector<int64_t> sizes, strides;
};

/// The state dict found in the pickle, in the order of the file.
struct PickledStateDict {
  std::vector<TensorRecord> tensors;
  std::string entry;  ///< "" = the saved object itself; else its path in the saved dict, e.g. "state_dict"
  std::vector<StateDictCandidate> candidates;  ///< every dict of tensors in the saved object (the chosen one too)
};

/// Interprets data.pkl of a zip-format file. The state dict is the saved dict of tensors itself, or one nested in it
/// (up to 3 levels: "state_dict", "teacher", "model/module"): `entry` chooses one by its path; without it the only
/// one is taken, else the first of state_dict_entry_names(), else it is an error listing the candidates. Throws
/// medssl::Error naming `path` for a corrupt pickle, a Python global a state dict does not use
/// (pickle_globals.h), a pickled module, or an object without a state dict.
PickledStateDict read_state_dict_pickle(std::string_view pickle, const std::string& path,
                                        const std::string& entry = "");

/// True if `bytes` starts like the legacy format (pickled magic number 0x1950a86a20f9469cfc6c).
bool is_legacy_format(std::string_view bytes);

/// Where a legacy storage's elements are in the file.
struct LegacyStorage {
  const StorageClass* storage = nullptr;
  size_t byte_offset = 0;  ///< of the first element
  int64_t numel = 0;
};
struct LegacyContents {
  PickledStateDict dict;
  std::map<std::string, LegacyStorage> storages;  ///< by storage key
};
/// Interprets a whole legacy-format file: magic, protocol version, system info, the pickled object, the storage key
/// list and the storages after it (each checked to lie inside `bytes`).
LegacyContents read_legacy_layout(std::string_view bytes, const std::string& path, const std::string& entry = "");

/// Checks that `tensor` lies inside a storage of `storage_numel` elements, that its sizes and strides are
/// non-negative and that its element count fits in int64. Returns true if the tensor is empty (a size is 0), in which
/// case the storage is never touched. Throws medssl::Error naming `path` and the tensor.
bool check_tensor_in_storage(const TensorRecord& tensor, int64_t storage_numel, const std::string& path);

}  // namespace torch_save
}  // namespace medssl::weights
