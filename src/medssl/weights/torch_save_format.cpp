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
#include <unordered_map>
#include <vector>

#include "medssl/core/atomic_file.h"
#include "medssl/core/error.h"
#include "medssl/weights/torch_save_storage.h"

namespace medssl::weights {
namespace {

// ------------------------------------------------------------------------------------------------ Python values

struct PyValue;
using Py = std::shared_ptr<PyValue>;

/// A storage as referenced by a tensor: which record / legacy block, its element type, and (legacy storage views) the
/// element offset of the view inside the root storage.
struct StorageRef {
  std::string key;
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t element_offset = 0;
};

/// A tensor not yet materialised: the storages of the legacy format come after the pickle that references them.
struct TensorRef {
  StorageRef storage;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

struct PyValue {
  enum class Kind {
    none, boolean, integer, floating, string, bytes, list, tuple, dict, global, object, storage, tensor
  };
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0.0;
  std::string text;                         ///< string / bytes content; "module.name" of a global or object's class
  std::vector<Py> items;                    ///< list, tuple
  std::vector<std::pair<Py, Py>> entries;   ///< dict, in insertion order
  StorageRef storage;
  TensorRef tensor;
};

Py make(PyValue::Kind kind) {
  auto v = std::make_shared<PyValue>();
  v->kind = kind;
  return v;
}
Py make_int(int64_t i) {
  auto v = make(PyValue::Kind::integer);
  v->integer = i;
  return v;
}
Py make_text(PyValue::Kind kind, std::string text) {
  auto v = make(kind);
  v->text = std::move(text);
  return v;
}
Py make_sequence(PyValue::Kind kind, std::vector<Py> items) {
  auto v = make(kind);
  v->items = std::move(items);
  return v;
}

std::string describe(const Py& v) {
  switch (v->kind) {
    case PyValue::Kind::none: return "None";
    case PyValue::Kind::boolean: return "a bool";
    case PyValue::Kind::integer: return "an int";
    case PyValue::Kind::floating: return "a float";
    case PyValue::Kind::string: return "a str";
    case PyValue::Kind::bytes: return "bytes";
    case PyValue::Kind::list: return fmt::format("a list of {}", v->items.size());
    case PyValue::Kind::tuple: return fmt::format("a tuple of {}", v->items.size());
    case PyValue::Kind::dict: return fmt::format("a dict of {} entries", v->entries.size());
    case PyValue::Kind::global: return "the Python name " + v->text;
    case PyValue::Kind::object: return "a Python object of class " + v->text;
    case PyValue::Kind::storage: return "a storage";
    case PyValue::Kind::tensor: return "a tensor";
  }
  return "a value";
}

// ------------------------------------------------------------------------------------------------ unpickler

/// Runs the pickle virtual machine over data[pos...] up to STOP, for the opcodes of protocols 2 to 5. Globals are
/// never imported: calling one yields a dict (OrderedDict), a tensor (the torch rebuild functions) or an opaque object.
class Unpickler {
 public:
  using PersistentLoad = std::function<Py(const Py& pid)>;

  Unpickler(const std::string& path, std::string_view data, size_t pos, PersistentLoad persistent_load)
      : path_(path), data_(data), pos_(pos), persistent_load_(std::move(persistent_load)) {}

  Py load();
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void corrupt(const std::string& why) const {
    fail("'{}' is not a readable torch.save file: {} (pickle byte {})", path_, why, pos_);
  }
  std::string_view take(uint64_t n) {
    if (n > data_.size() - pos_) corrupt("unexpected end of data (truncated file?)");
    auto out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  template <typename T>
  T little_endian() {  // every supported host is little-endian, like the format
    T value;
    std::memcpy(&value, take(sizeof(T)).data(), sizeof(T));
    return value;
  }
  std::string line() {
    auto end = data_.find('\n', pos_);
    if (end == std::string_view::npos) corrupt("unterminated GLOBAL name");
    std::string out(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }
  Py pop() {
    if (stack_.size() <= floor()) corrupt("stack underflow");
    Py v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Py& top() {
    if (stack_.size() <= floor()) corrupt("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Py> pop_mark() {
    if (marks_.empty()) corrupt("MARK expected");
    std::vector<Py> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Py& container(PyValue::Kind kind, const char* op) {
    Py& target = top();
    if (target->kind != kind) corrupt(fmt::format("{} on {}", op, describe(target)));
    return target;
  }
  void memo_put(uint64_t id) { memo_[id] = top(); }
  Py memo_get(uint64_t id) {
    auto it = memo_.find(id);
    if (it == memo_.end()) corrupt(fmt::format("memo entry {} not found", id));
    return it->second;
  }
  Py call(const Py& callable, const Py& args);
  Py rebuild_tensor(const std::vector<Py>& args);

  const std::string& path_;
  std::string_view data_;
  size_t pos_;
  PersistentLoad persistent_load_;
  std::vector<Py> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Py> memo_;
};

Py Unpickler::rebuild_tensor(const std::vector<Py>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  using K = PyValue::Kind;
  if (args.size() < 4 || args[0]->kind != K::storage || args[1]->kind != K::integer || args[2]->kind != K::tuple ||
      args[3]->kind != K::tuple)
    corrupt("malformed tensor record");
  auto t = make(K::tensor);
  t->tensor.storage = args[0]->storage;
  t->tensor.offset = args[1]->integer;
  for (const auto& s : args[2]->items) {
    if (s->kind != K::integer) corrupt("non-integer tensor size");
    t->tensor.sizes.push_back(s->integer);
  }
  for (const auto& s : args[3]->items) {
    if (s->kind != K::integer) corrupt("non-integer tensor stride");
    t->tensor.strides.push_back(s->integer);
  }
  if (t->tensor.sizes.size() != t->tensor.strides.size()) corrupt("tensor sizes and strides differ in length");
  return t;
}

Py Unpickler::call(const Py& callable, const Py& args) {
  using K = PyValue::Kind;
  if (callable->kind != K::global) return make_text(K::object, "(result of calling " + describe(callable) + ")");
  const std::string& name = callable->text;
  const std::vector<Py> no_args;
  const std::vector<Py>& a = args->kind == K::tuple ? args->items : no_args;
  if (name == "collections.OrderedDict" || name == "builtins.dict") {
    auto d = make(K::dict);
    if (!a.empty() && a[0]->kind == K::list)  // OrderedDict([(key, value), ...])
      for (const auto& pair : a[0]->items)
        if (pair->kind == K::tuple && pair->items.size() == 2) d->entries.emplace_back(pair->items[0], pair->items[1]);
    return d;
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != K::tensor) corrupt("malformed nn.Parameter record");
    return a[0];
  }
  if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
    // Tensor subclasses: (function, class, args, state) -> the tensor the inner function rebuilds.
    if (a.size() < 3) corrupt("malformed tensor subclass record");
    return call(a[0], a[2]);
  }
  if (name.rfind("torch.", 0) == 0 && name.find("_rebuild") != std::string::npos)
    fail("'{}' holds a tensor stored with {} (quantised, sparse, nested or other special tensor), which medssl cannot "
         "read; save dense tensors (e.g. {{k: v.dequantize().to_dense()}})", path_, name);
  return make_text(K::object, name);
}

Py Unpickler::load() {
  using K = PyValue::Kind;
  for (;;) {
    const auto op = static_cast<uint8_t>(take(1)[0]);
    switch (op) {
      case 0x80: {  // PROTO
        const auto protocol = static_cast<uint8_t>(take(1)[0]);
        if (protocol > 5) corrupt(fmt::format("unsupported pickle protocol {}", protocol));
        break;
      }
      case 0x95: take(8); break;  // FRAME: only a read-ahead hint
      case '.': {                 // STOP
        Py result = pop();
        if (!stack_.empty() || !marks_.empty()) corrupt("unbalanced stack at STOP");
        return result;
      }
      case '(': marks_.push_back(stack_.size()); break;
      case '}': stack_.push_back(make(K::dict)); break;
      case ']': stack_.push_back(make(K::list)); break;
      case ')': stack_.push_back(make(K::tuple)); break;
      case 0x8f: stack_.push_back(make(K::list)); break;  // EMPTY_SET (a set is kept as a list)
      case 'd': {                                          // DICT
        auto items = pop_mark();
        if (items.size() % 2) corrupt("odd number of items for DICT");
        auto d = make(K::dict);
        for (size_t i = 0; i < items.size(); i += 2) d->entries.emplace_back(items[i], items[i + 1]);
        stack_.push_back(d);
        break;
      }
      case 'l': stack_.push_back(make_sequence(K::list, pop_mark())); break;
      case 0x91: stack_.push_back(make_sequence(K::list, pop_mark())); break;  // FROZENSET
      case 't': stack_.push_back(make_sequence(K::tuple, pop_mark())); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        std::vector<Py> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        stack_.push_back(make_sequence(K::tuple, std::move(items)));
        break;
      }
      case 'N': stack_.push_back(make(K::none)); break;
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        auto b = make(K::boolean);
        b->boolean = op == 0x88;
        stack_.push_back(b);
        break;
      }
      case 'J': stack_.push_back(make_int(little_endian<int32_t>())); break;   // BININT
      case 'K': stack_.push_back(make_int(little_endian<uint8_t>())); break;   // BININT1
      case 'M': stack_.push_back(make_int(little_endian<uint16_t>())); break;  // BININT2
      case 0x8a: case 0x8b: {                                                  // LONG1, LONG4
        const uint64_t n = op == 0x8a ? little_endian<uint8_t>() : little_endian<uint32_t>();
        auto bytes = take(n);
        if (n > 8) {  // too large for int64 (e.g. the legacy format's magic number): kept opaque
          stack_.push_back(make_text(K::object, "builtins.int"));
          break;
        }
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i) u |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(bytes[n - 1]) & 0x80)) u |= ~uint64_t(0) << (8 * n);  // sign
        stack_.push_back(make_int(static_cast<int64_t>(u)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        auto bytes = take(8);
        uint64_t u = 0;
        for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(bytes[i]);
        auto f = make(K::floating);
        std::memcpy(&f->floating, &u, sizeof(double));
        stack_.push_back(f);
        break;
      }
      case 'X': stack_.push_back(make_text(K::string, std::string(take(little_endian<uint32_t>())))); break;
      case 0x8c: stack_.push_back(make_text(K::string, std::string(take(little_endian<uint8_t>())))); break;
      case 0x8d: stack_.push_back(make_text(K::string, std::string(take(little_endian<uint64_t>())))); break;
      case 'T': {  // BINSTRING (Python 2 str)
        const int32_t n = little_endian<int32_t>();
        if (n < 0) corrupt("negative string length");
        stack_.push_back(make_text(K::string, std::string(take(static_cast<uint64_t>(n)))));
        break;
      }
      case 'U': stack_.push_back(make_text(K::string, std::string(take(little_endian<uint8_t>())))); break;
      case 'B': stack_.push_back(make_text(K::bytes, std::string(take(little_endian<uint32_t>())))); break;
      case 'C': stack_.push_back(make_text(K::bytes, std::string(take(little_endian<uint8_t>())))); break;
      case 0x8e: case 0x96:  // BINBYTES8, BYTEARRAY8
        stack_.push_back(make_text(K::bytes, std::string(take(little_endian<uint64_t>()))));
        break;
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = line();
        std::string name = line();
        stack_.push_back(make_text(K::global, module + "." + name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Py name = pop(), module = pop();
        if (name->kind != K::string || module->kind != K::string) corrupt("STACK_GLOBAL without strings");
        stack_.push_back(make_text(K::global, module->text + "." + name->text));
        break;
      }
      case 'R': {  // REDUCE
        Py args = pop();
        Py callable = pop();
        stack_.push_back(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        pop();
        Py cls = pop();
        stack_.push_back(make_text(K::object, cls->kind == K::global ? cls->text : "(unknown class)"));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();
        pop();
        Py cls = pop();
        stack_.push_back(make_text(K::object, cls->kind == K::global ? cls->text : "(unknown class)"));
        break;
      }
      case 'b': pop(); break;  // BUILD: instance state (e.g. the state dict's _metadata) is not needed
      case 'q': memo_put(little_endian<uint8_t>()); break;
      case 'r': memo_put(little_endian<uint32_t>()); break;
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'h': stack_.push_back(memo_get(little_endian<uint8_t>())); break;
      case 'j': stack_.push_back(memo_get(little_endian<uint32_t>())); break;
      case 's': {  // SETITEM
        Py value = pop(), key = pop();
        container(K::dict, "SETITEM")->entries.emplace_back(key, value);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_mark();
        if (items.size() % 2) corrupt("odd number of items for SETITEMS");
        Py& d = container(K::dict, "SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) d->entries.emplace_back(items[i], items[i + 1]);
        break;
      }
      case 'a': {  // APPEND
        Py value = pop();
        container(K::list, "APPEND")->items.push_back(value);
        break;
      }
      case 'e': case 0x90: {  // APPENDS, ADDITEMS
        auto items = pop_mark();
        Py& list = container(K::list, op == 'e' ? "APPENDS" : "ADDITEMS");
        list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case 'Q': stack_.push_back(persistent_load_(pop())); break;  // BINPERSID
      case '0': pop(); break;
      case '1': pop_mark(); break;
      case '2': stack_.push_back(top()); break;
      default: corrupt(fmt::format("unsupported pickle opcode 0x{:02x}", op));
    }
  }
}

// ------------------------------------------------------------------------------------------------ storages, tensors

/// Interprets torch.save's persistent ids ('storage', StorageClass, key, location, numel[, view_metadata]) and
/// remembers each storage's element type (the legacy format needs it to read the storages after the pickle).
class StorageTable {
 public:
  explicit StorageTable(const std::string& path) : path_(path) {}

  Py load(const Py& pid) {
    using K = PyValue::Kind;
    const auto& p = pid->items;
    if (pid->kind != K::tuple || p.size() < 5 || p[0]->kind != K::string || p[0]->text != "storage" ||
        p[2]->kind != K::string)
      fail("'{}': unsupported torch.save persistent id ({}); only storages are supported", path_, describe(pid));
    if (p[1]->kind != K::global || !torch_save::storage_types().count(p[1]->text))
      fail("'{}': unsupported storage type {}", path_, p[1]->kind == K::global ? p[1]->text : describe(p[1]));
    auto storage = make(K::storage);
    storage->storage.key = p[2]->text;
    storage->storage.dtype = torch_save::storage_types().at(p[1]->text);
    if (p.size() > 5 && p[5]->kind == K::tuple) {  // legacy storage view: (view_key, offset, size)
      if (p[5]->items.size() < 2 || p[5]->items[1]->kind != K::integer) fail("'{}': malformed storage view", path_);
      storage->storage.element_offset = p[5]->items[1]->integer;
    }
    auto [it, inserted] = dtypes_.emplace(storage->storage.key, storage->storage.dtype);
    check(inserted || it->second == storage->storage.dtype,
          "'{}': storage {} is used with two element types ({} and {}), which medssl cannot read", path_,
          storage->storage.key, c10::toString(it->second), c10::toString(storage->storage.dtype));
    return storage;
  }

  const std::map<std::string, c10::ScalarType>& dtypes() const { return dtypes_; }

 private:
  const std::string& path_;
  std::map<std::string, c10::ScalarType> dtypes_;
};

torch::Tensor tensor_from_bytes(const char* data, size_t nbytes, c10::ScalarType dtype, const std::string& path,
                                const std::string& key) {
  const size_t element = c10::elementSize(dtype);
  check(nbytes % element == 0, "'{}': storage {} has {} bytes, not a multiple of its element size {} (corrupt)", path,
        key, nbytes, element);
  auto t = torch::empty({static_cast<int64_t>(nbytes / element)}, torch::TensorOptions().dtype(dtype));
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, nbytes);
  return t;
}

/// The tensor a TensorRef describes, as a view of its (1-D) storage; bounds are checked against the storage.
torch::Tensor materialise(const TensorRef& ref, const torch::Tensor& storage, const std::string& path,
                          const std::string& name) {
  const int64_t offset = ref.offset + ref.storage.element_offset;
  bool empty = false;
  __int128 last = offset;
  for (size_t d = 0; d < ref.sizes.size(); ++d) {
    check(ref.sizes[d] >= 0 && ref.strides[d] >= 0, "'{}': tensor \"{}\" has a negative size or stride (corrupt)",
          path, name);
    if (ref.sizes[d] == 0) empty = true;
    else last += static_cast<__int128>(ref.sizes[d] - 1) * ref.strides[d];
  }
  if (empty) return torch::empty(ref.sizes, storage.options());
  check(offset >= 0 && last < storage.numel(),
        "'{}': tensor \"{}\" reaches past the end of its storage ({} elements; corrupt or truncated file)", path, name,
        storage.numel());
  return storage.as_strided(ref.sizes, ref.strides, offset);
}

// ------------------------------------------------------------------------------------------------ the state dict

bool is_tensor_dict(const Py& v) {
  if (v->kind != PyValue::Kind::dict || v->entries.empty()) return false;
  for (const auto& [key, value] : v->entries)
    if (key->kind != PyValue::Kind::string || value->kind != PyValue::Kind::tensor) return false;
  return true;
}

/// The dict of tensors in the saved object and where it was, or an error that says what the file holds instead.
std::pair<Py, std::string> find_state_dict(const Py& root, const std::string& path) {
  using K = PyValue::Kind;
  if (root->kind == K::object && root->text.rfind("torch.nn.", 0) == 0)
    fail("'{}' holds a pickled Python module ({}), not a state dict: in Python, save model.state_dict() instead of "
         "the model",
         path, root->text);
  check(root->kind == K::dict, "'{}' holds {}, not a state dict (a dict of name -> tensor)", path, describe(root));
  check(!root->entries.empty(), "'{}' holds an empty dict, not a state dict", path);
  if (is_tensor_dict(root)) return {root, ""};
  for (const auto& wanted : state_dict_entry_names())
    for (const auto& [key, value] : root->entries)
      if (key->kind == K::string && key->text == wanted && is_tensor_dict(value)) return {value, wanted};
  for (const auto& [key, value] : root->entries) {
    if (key->kind != K::string)
      fail("'{}' holds a dict with a non-string key ({}), not a state dict", path, describe(key));
    if (value->kind != K::tensor)
      fail("'{}' holds a dict that is not a state dict: entry \"{}\" is {}, and none of the entries {} holds a dict "
           "of tensors",
           path, key->text, describe(value), fmt::format("\"{}\"", fmt::join(state_dict_entry_names(), "\", \"")));
  }
  fail("'{}' holds no state dict", path);  // unreachable: a dict of string -> tensor is a state dict
}

StateDict to_state_dict(const Py& dict, const std::function<torch::Tensor(const StorageRef&)>& storage_of,
                        const std::string& path) {
  StateDict out;
  for (const auto& [key, value] : dict->entries)
    out[key->text] = materialise(value->tensor, storage_of(value->tensor.storage), path, key->text);
  return out;
}

TorchSaveContents read_zip(const std::string& path) {
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
  StorageTable storages(path);
  Unpickler unpickler(path, std::string_view(static_cast<const char*>(pickle_ptr.get()), pickle_size), 0,
                      [&](const Py& pid) { return storages.load(pid); });
  auto [dict, entry] = find_state_dict(unpickler.load(), path);

  std::map<std::string, torch::Tensor> loaded;
  auto storage_of = [&](const StorageRef& ref) {
    auto it = loaded.find(ref.key);
    if (it != loaded.end()) return it->second;
    const std::string name = "data/" + ref.key;
    check(reader->hasRecord(name), "'{}' lacks the storage record {} (corrupt)", path, name);
    auto [ptr, size] = record(name);
    auto t = tensor_from_bytes(static_cast<const char*>(ptr.get()), size, ref.dtype, path, ref.key);
    loaded.emplace(ref.key, t);
    return t;
  };
  return {to_state_dict(dict, storage_of, path), false, entry};
}

TorchSaveContents read_legacy(const std::string& path, const std::string& bytes, size_t pos) {
  auto next = [&](const Unpickler::PersistentLoad& persistent_load) {
    Unpickler u(path, bytes, pos, persistent_load);
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
  StorageTable storages(path);
  Py root = next([&](const Py& pid) { return storages.load(pid); });
  Py keys = next(no_persistent);
  check(keys->kind == PyValue::Kind::list, "'{}': malformed legacy storage list ({})", path, describe(keys));

  // The storages follow in the order of the key list: int64 element count, then the raw elements.
  std::map<std::string, torch::Tensor> loaded;
  for (const auto& key : keys->items) {
    check(key->kind == PyValue::Kind::string, "'{}': malformed legacy storage key", path);
    auto dtype = storages.dtypes().find(key->text);
    check(dtype != storages.dtypes().end(), "'{}': storage {} is not referenced by the pickle (corrupt)", path,
          key->text);
    check(bytes.size() - pos >= 8, "'{}' is truncated (storage {} missing)", path, key->text);
    int64_t numel = 0;
    std::memcpy(&numel, bytes.data() + pos, 8);
    pos += 8;
    const size_t element = c10::elementSize(dtype->second);
    check(numel >= 0 && static_cast<uint64_t>(numel) <= (bytes.size() - pos) / element,
          "'{}' is truncated (storage {} needs {} elements, the file ends first)", path, key->text, numel);
    const size_t nbytes = static_cast<size_t>(numel) * element;
    loaded[key->text] = tensor_from_bytes(bytes.data() + pos, nbytes, dtype->second, path, key->text);
    pos += nbytes;
  }
  auto [dict, entry] = find_state_dict(root, path);
  auto storage_of = [&](const StorageRef& ref) {
    auto it = loaded.find(ref.key);
    check(it != loaded.end(), "'{}' lacks the data of storage {} (truncated?)", path, ref.key);
    return it->second;
  };
  return {to_state_dict(dict, storage_of, path), true, entry};
}

}  // namespace

const std::vector<std::string>& state_dict_entry_names() {
  static const std::vector<std::string> names = {"state_dict", "model_state_dict", "model", "module", "net",
                                                 "network"};
  return names;
}

TorchSaveContents read_torch_save(const std::string& path) {
  check(std::filesystem::is_regular_file(path), "weights file '{}' does not exist or is not a file", path);
  const std::string bytes = read_file(path);
  check(!bytes.empty(), "'{}' is empty (truncated?)", path);
  // The legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes).
  static const std::string kLegacyMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);
  if (bytes.compare(0, kLegacyMagic.size(), kLegacyMagic) == 0) return read_legacy(path, bytes, kLegacyMagic.size());
  check(bytes.compare(0, 4, std::string("PK\x03\x04", 4)) == 0,
        "'{}' is not a PyTorch file (neither the zip format of torch.save nor its legacy format)", path);
  return read_zip(path);
}

}  // namespace medssl::weights
