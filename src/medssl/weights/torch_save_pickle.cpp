// What a torch.save file holds, read before any tensor exists: storages from the persistent ids, the state dict in
// the saved object, the legacy layout and every tensor's bounds. No LibTorch (see torch_save_pickle.h): fuzzed in CI
// by fuzz/fuzz_torch_save_pickle.cpp.
#include "medssl/weights/torch_save_pickle.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <limits>
#include <utility>

#include "medssl/core/error.h"
#include "medssl/weights/torch_save_unpickler.h"

namespace medssl::weights {
namespace torch_save {
namespace {

// ------------------------------------------------------------------------------------------------ storages

/// Interprets torch.save's persistent ids ('storage', StorageClass, key, location, numel[, view_metadata]) and
/// remembers each storage's class (the legacy format needs it to read the storages after the pickle).
class StorageTable {
 public:
  StorageTable(PyHeap& heap, const std::string& path) : heap_(heap), path_(path) {}

  Py load(const Py& pid) {
    using K = PyValue::Kind;
    const auto& p = pid->items;
    if (pid->kind != K::tuple || p.size() < 5 || p[0]->kind != K::string || p[0]->text != "storage" ||
        p[2]->kind != K::string)
      fail("'{}': unsupported torch.save persistent id ({}); only storages are supported", path_, describe(pid));
    const StorageClass* cls = p[1]->kind == K::global ? find_storage_class(p[1]->text) : nullptr;
    if (!cls) fail("'{}': unsupported storage type {}", path_, p[1]->kind == K::global ? p[1]->text : describe(p[1]));
    auto storage = heap_.make(K::storage);
    storage->storage.key = p[2]->text;
    storage->storage.storage = cls;
    if (p.size() > 5 && p[5]->kind == K::tuple) {  // legacy storage view: (view_key, offset, size)
      if (p[5]->items.size() < 2 || p[5]->items[1]->kind != K::integer) fail("'{}': malformed storage view", path_);
      storage->storage.element_offset = p[5]->items[1]->integer;
    }
    auto [it, inserted] = classes_.emplace(storage->storage.key, cls);
    check(inserted || it->second->dtype == cls->dtype,
          "'{}': storage {} is used with two element types ({} and {}), which medssl cannot read", path_,
          storage->storage.key, it->second->dtype, cls->dtype);
    return storage;
  }

  const std::map<std::string, const StorageClass*>& classes() const { return classes_; }

 private:
  PyHeap& heap_;
  const std::string& path_;
  std::map<std::string, const StorageClass*> classes_;
};

// ------------------------------------------------------------------------------------------------ the state dict

bool is_tensor_dict(const Py& v) {
  if (v->kind != PyValue::Kind::dict || v->entries.empty()) return false;
  for (const auto& [key, value] : v->entries)
    if (key->kind != PyValue::Kind::string || value->kind != PyValue::Kind::tensor) return false;
  return true;
}

/// Every dict of tensors reachable from `v` through string-keyed dict entries, at most `depth` levels down.
void collect_candidates(const Py& v, const std::string& where, int depth, std::vector<std::pair<std::string, Py>>& out) {
  if (is_tensor_dict(v)) {
    out.emplace_back(where, v);
    return;
  }
  if (v->kind != PyValue::Kind::dict || depth == 0) return;
  for (const auto& [key, value] : v->entries)
    if (key->kind == PyValue::Kind::string)
      collect_candidates(value, where.empty() ? key->text : where + "/" + key->text, depth - 1, out);
}

std::string candidate_list(const std::vector<std::pair<std::string, Py>>& found) {
  std::vector<std::string> parts;
  for (const auto& [where, dict] : found)
    parts.push_back(fmt::format("\"{}\" ({} tensors)", where.empty() ? "(the saved object)" : where,
                                dict->entries.size()));
  return fmt::format("{}", fmt::join(parts, ", "));
}

/// The error for a saved object that holds no dict of tensors: says what it holds instead.
[[noreturn]] void no_state_dict(const Py& root, const std::string& path) {
  using K = PyValue::Kind;
  if (root->kind == K::object && root->text.rfind("torch.nn.", 0) == 0)
    fail("'{}' holds a pickled Python module ({}), not a state dict: in Python, save model.state_dict() instead of "
         "the model",
         path, root->text);
  check(root->kind == K::dict, "'{}' holds {}, not a state dict (a dict of name -> tensor)", path, describe(root));
  check(!root->entries.empty(), "'{}' holds an empty dict, not a state dict", path);
  for (const auto& [key, value] : root->entries) {
    if (key->kind != K::string)
      fail("'{}' holds a dict with a non-string key ({}), not a state dict", path, describe(key));
    if (value->kind != K::tensor)
      fail("'{}' holds a dict that is not a state dict: entry \"{}\" is {}, and no entry holds a dict of tensors",
           path, key->text, describe(value));
  }
  fail("'{}' holds no state dict", path);  // unreachable: a dict of string -> tensor is a state dict
}

struct Found {
  Py dict;
  std::string entry;
  std::vector<StateDictCandidate> candidates;
};

/// The dict of tensors to read (`wanted`, else the only one, else the preferred entry) and every candidate, or an
/// error that says what the file holds instead.
Found find_state_dict(const Py& root, const std::string& path, const std::string& wanted) {
  std::vector<std::pair<std::string, Py>> found;
  collect_candidates(root, "", 3, found);
  Found out;
  for (const auto& [where, dict] : found) out.candidates.push_back({where, dict->entries.size()});
  auto take = [&](const std::pair<std::string, Py>& f) {
    out.entry = f.first;
    out.dict = f.second;
    return out;
  };
  if (!wanted.empty()) {
    for (const auto& f : found)
      if (f.first == wanted) return take(f);
    if (found.empty()) no_state_dict(root, path);
    fail("'{}' has no state dict at entry \"{}\"; it holds: {}", path, wanted, candidate_list(found));
  }
  if (found.empty()) no_state_dict(root, path);
  if (found.size() == 1) return take(found.front());
  for (const auto& preferred : state_dict_entry_names())
    for (const auto& f : found)
      if (f.first == preferred) return take(f);
  fail("'{}' holds several state dicts: {}; choose one with --entry (e.g. --entry {})", path, candidate_list(found),
       found.front().first);
}

PickledStateDict to_records(const Py& root, const std::string& path, const std::string& wanted) {
  Found found = find_state_dict(root, path, wanted);
  PickledStateDict out;
  out.entry = found.entry;
  out.candidates = found.candidates;
  for (const auto& [key, value] : found.dict->entries) {
    const TensorRef& ref = value->tensor;
    TensorRecord record;
    record.name = key->text;
    record.storage_key = ref.storage.key;
    record.storage = ref.storage.storage;
    check(!__builtin_add_overflow(ref.offset, ref.storage.element_offset, &record.offset),
          "'{}': tensor \"{}\" has an impossible storage offset (corrupt)", path, record.name);
    record.sizes = ref.sizes;
    record.strides = ref.strides;
    out.tensors.push_back(std::move(record));
  }
  return out;
}

}  // namespace

const std::vector<StorageClass>& storage_classes() {
  static const std::vector<StorageClass> classes = {
      {"torch.DoubleStorage", "Double", 8},   {"torch.FloatStorage", "Float", 4},
      {"torch.HalfStorage", "Half", 2},       {"torch.BFloat16Storage", "BFloat16", 2},
      {"torch.LongStorage", "Long", 8},       {"torch.IntStorage", "Int", 4},
      {"torch.ShortStorage", "Short", 2},     {"torch.CharStorage", "Char", 1},
      {"torch.ByteStorage", "Byte", 1},       {"torch.BoolStorage", "Bool", 1},
      {"torch.ComplexFloatStorage", "ComplexFloat", 8},
      {"torch.ComplexDoubleStorage", "ComplexDouble", 16},
      {"torch.UntypedStorage", "Byte", 1}};
  return classes;
}

const StorageClass* find_storage_class(const std::string& name) {
  for (const auto& c : storage_classes())
    if (c.name == name) return &c;
  return nullptr;
}

PickledStateDict read_state_dict_pickle(std::string_view pickle, const std::string& path, const std::string& entry) {
  PyHeap heap;
  StorageTable storages(heap, path);
  Unpickler unpickler(heap, path, pickle, 0, [&](const Py& pid) { return storages.load(pid); });
  return to_records(unpickler.load(), path, entry);
}

bool is_legacy_format(std::string_view bytes) {
  // Protocol 2, LONG1 of 10 bytes holding the magic number, STOP.
  static const std::string_view kLegacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);
  return bytes.substr(0, kLegacyMagic.size()) == kLegacyMagic;
}

LegacyContents read_legacy_layout(std::string_view bytes, const std::string& path, const std::string& entry) {
  check(is_legacy_format(bytes), "'{}' does not start with the legacy torch.save magic number", path);
  size_t pos = 15;
  PyHeap heap;
  auto next = [&](const Unpickler::PersistentLoad& persistent_load) {
    Unpickler u(heap, path, bytes, pos, persistent_load);
    Py value = u.load();
    pos = u.position();
    return value;
  };
  auto no_persistent = [&](const Py&) -> Py { fail("'{}': unexpected persistent id in a legacy header", path); };
  Py version = next(no_persistent);
  check(version->kind == PyValue::Kind::integer && version->integer == 1001,
        "'{}': unsupported legacy torch.save protocol version ({})", path,
        version->kind == PyValue::Kind::integer ? std::to_string(version->integer) : describe(version));
  Py sys_info = next(no_persistent);
  if (sys_info->kind == PyValue::Kind::dict)
    for (const auto& [key, value] : sys_info->entries)
      if (key->text == "little_endian" && value->kind == PyValue::Kind::boolean)
        check(value->boolean, "'{}' was saved on a big-endian machine, which medssl cannot read", path);
  StorageTable storages(heap, path);
  Py root = next([&](const Py& pid) { return storages.load(pid); });
  Py keys = next(no_persistent);
  check(keys->kind == PyValue::Kind::list, "'{}': malformed legacy storage list ({})", path, describe(keys));

  // The storages follow in the order of the key list: int64 element count, then the raw elements.
  LegacyContents out;
  for (const auto& key : keys->items) {
    check(key->kind == PyValue::Kind::string, "'{}': malformed legacy storage key", path);
    auto cls = storages.classes().find(key->text);
    check(cls != storages.classes().end(), "'{}': storage {} is not referenced by the pickle (corrupt)", path,
          key->text);
    check(bytes.size() - pos >= 8, "'{}' is truncated (storage {} missing)", path, key->text);
    int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    const size_t element = cls->second->element_bytes;
    check(numel >= 0 && static_cast<uint64_t>(numel) <= (bytes.size() - pos) / element,
          "'{}' is truncated (storage {} needs {} elements, the file ends first)", path, key->text, numel);
    out.storages[key->text] = LegacyStorage{cls->second, pos, numel};
    pos += static_cast<size_t>(numel) * element;
  }
  out.dict = to_records(root, path, entry);
  for (const auto& t : out.dict.tensors)
    check(out.storages.count(t.storage_key), "'{}' lacks the data of storage {} (truncated?)", path, t.storage_key);
  return out;
}

bool check_tensor_in_storage(const TensorRecord& t, int64_t storage_numel, const std::string& path) {
  check(t.sizes.size() == t.strides.size(), "'{}': tensor \"{}\" has {} sizes but {} strides (corrupt)", path, t.name,
        t.sizes.size(), t.strides.size());
  bool empty = false;
  int64_t numel = 1;
  bool numel_overflows = false;
  constexpr __int128 kInt64Max = std::numeric_limits<int64_t>::max();
  __int128 last = t.offset;
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    check(t.sizes[d] >= 0 && t.strides[d] >= 0, "'{}': tensor \"{}\" has a negative size or stride (corrupt)", path,
          t.name);
    if (t.sizes[d] == 0) empty = true;
    else last += static_cast<__int128>(t.sizes[d] - 1) * t.strides[d];  // each term < 2^126
    if (last > kInt64Max) last = kInt64Max;  // already out of any storage; saturating keeps the sum from overflowing
    numel_overflows = numel_overflows || __builtin_mul_overflow(numel, t.sizes[d], &numel);
  }
  if (empty) return true;
  check(!numel_overflows, "'{}': tensor \"{}\" has more elements than fit in 64 bits (corrupt)", path, t.name);
  check(t.offset >= 0 && last < storage_numel,
        "'{}': tensor \"{}\" reaches past the end of its storage ({} elements; corrupt or truncated file)", path,
        t.name, storage_numel);
  return false;
}

}  // namespace torch_save

const std::vector<std::string>& state_dict_entry_names() {
  static const std::vector<std::string> names = {"state_dict", "model_state_dict", "model", "module", "net",
                                                 "network"};
  return names;
}

}  // namespace medssl::weights
