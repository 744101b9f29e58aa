#include "medssl/weights/torch_save_format.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/weights/torch_save_pickle.h"
#include "medssl/weights/torch_save_storage.h"

namespace medssl::weights {
namespace {

using torch_save::TensorRecord;

torch::Tensor tensor_from_bytes(const char* data, size_t nbytes, c10::ScalarType dtype, const std::string& path,
                                const std::string& key) {
  const size_t element = c10::elementSize(dtype);
  check(nbytes % element == 0, "'{}': storage {} has {} bytes, not a multiple of its element size {} (corrupt)", path,
        key, nbytes, element);
  auto t = torch::empty({static_cast<int64_t>(nbytes / element)}, torch::TensorOptions().dtype(dtype));
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, nbytes);
  return t;
}

c10::ScalarType dtype_of(const TensorRecord& t) { return torch_save::storage_types().at(t.storage->name); }

/// The tensor a record describes, as a view of its (1-D) storage; its bounds are checked first
/// (torch_save::check_tensor_in_storage), so a storage too small for the shape is an error naming the tensor.
torch::Tensor materialise(const TensorRecord& t, const torch::Tensor& storage, const std::string& path) {
  if (torch_save::check_tensor_in_storage(t, storage.numel(), path)) return torch::empty(t.sizes, storage.options());
  return storage.as_strided(t.sizes, t.strides, t.offset);
}

StateDict to_state_dict(const torch_save::PickledStateDict& dict,
                        const std::function<torch::Tensor(const TensorRecord&)>& storage_of, const std::string& path) {
  StateDict out;
  for (const auto& t : dict.tensors) {
    check(!out.count(t.name), "'{}': the state dict holds \"{}\" twice (corrupt)", path, t.name);
    out[t.name] = materialise(t, storage_of(t), path);
  }
  return out;
}

TorchSaveContents read_zip(const std::string& path, const std::string& entry) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    fail("'{}' is truncated or corrupt (unreadable zip archive: {})", path, e.what_without_backtrace());
  }
  auto record = [&](const std::string& name) {
    try {
      return reader->getRecord(name);
    } catch (const c10::Error& e) {
      fail("'{}': cannot read the record {} of the zip archive (truncated or corrupt?): {}", path, name,
           e.what_without_backtrace());
    }
  };
  check(reader->hasRecord("data.pkl"), "'{}' is a zip archive without data.pkl: not a torch.save file", path);
  if (reader->hasRecord("byteorder")) {
    auto [ptr, size] = record("byteorder");
    const std::string order(static_cast<const char*>(ptr.get()), size);
    check(order == "little", "'{}' was saved on a {}-endian machine, which medssl cannot read", path, order);
  }
  auto [pickle_ptr, pickle_size] = record("data.pkl");
  const auto dict = torch_save::read_state_dict_pickle(
      std::string_view(static_cast<const char*>(pickle_ptr.get()), pickle_size), path, entry);

  std::map<std::string, torch::Tensor> loaded;
  auto storage_of = [&](const TensorRecord& t) {
    auto it = loaded.find(t.storage_key);
    if (it != loaded.end()) {
      check(it->second.scalar_type() == dtype_of(t), "'{}': storage {} is used with two element types (corrupt)",
            path, t.storage_key);
      return it->second;
    }
    const std::string name = "data/" + t.storage_key;
    check(reader->hasRecord(name), "'{}' lacks the storage record {} (corrupt)", path, name);
    auto [ptr, size] = record(name);
    auto storage = tensor_from_bytes(static_cast<const char*>(ptr.get()), size, dtype_of(t), path, t.storage_key);
    loaded.emplace(t.storage_key, storage);
    return storage;
  };
  TorchSaveContents contents;
  contents.tensors = to_state_dict(dict, storage_of, path);
  contents.entry = dict.entry;
  contents.candidates = dict.candidates;
  if (reader->hasRecord(kManifestRecord)) {
    auto [ptr, size] = record(kManifestRecord);
    contents.manifest_json.assign(static_cast<const char*>(ptr.get()), size);
  }
  return contents;
}

TorchSaveContents read_legacy(const std::string& path, const std::string& bytes, const std::string& entry) {
  const auto layout = torch_save::read_legacy_layout(bytes, path, entry);
  std::map<std::string, torch::Tensor> loaded;
  for (const auto& [key, storage] : layout.storages)
    loaded[key] = tensor_from_bytes(bytes.data() + storage.byte_offset,
                                    static_cast<size_t>(storage.numel) * storage.storage->element_bytes,
                                    torch_save::storage_types().at(storage.storage->name), path, key);
  auto storage_of = [&](const TensorRecord& t) { return loaded.at(t.storage_key); };  // present: read_legacy_layout
  TorchSaveContents contents;
  contents.tensors = to_state_dict(layout.dict, storage_of, path);
  contents.legacy_format = true;
  contents.entry = layout.dict.entry;
  contents.candidates = layout.dict.candidates;
  return contents;
}

}  // namespace

TorchSaveContents read_torch_save(const std::string& path, const std::string& entry) {
  check(std::filesystem::is_regular_file(path), "weights file '{}' does not exist or is not a file", path);
  const std::string bytes = read_file(path);
  check(!bytes.empty(), "'{}' is empty (truncated?)", path);
  if (torch_save::is_legacy_format(bytes)) return read_legacy(path, bytes, entry);
  check(bytes.compare(0, 4, std::string("PK\x03\x04", 4)) == 0,
        "'{}' is not a PyTorch file (neither the zip format of torch.save nor its legacy format)", path);
  return read_zip(path, entry);
}

}  // namespace medssl::weights
