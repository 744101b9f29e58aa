#pragma once
// Internal to medssl_weights (torch_save_pickle.cpp): the Python values a torch.save pickle is made of and the
// restricted pickle virtual machine that builds them. It never imports or executes anything; no LibTorch.
#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "medssl/core/error.h"
#include "medssl/weights/torch_save_pickle.h"

namespace medssl::weights::torch_save {

// ------------------------------------------------------------------------------------------------ Python values

/// A storage as referenced by a tensor: which record / legacy block, its class, and (legacy storage views) the
/// element offset of the view inside the root storage.
struct StorageRef {
  std::string key;
  const StorageClass* storage = nullptr;
  int64_t element_offset = 0;
};

/// A tensor as _rebuild_tensor_v2 describes it.
struct TensorRef {
  StorageRef storage;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

struct PyValue;
using Py = std::shared_ptr<PyValue>;

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

/// Owns every value of one file. A pickle can make a list or dict contain itself (memo + APPEND/SETITEM), which
/// shared pointers alone would leak; the heap empties every container when the file has been read.
class PyHeap {
 public:
  PyHeap() = default;
  PyHeap(const PyHeap&) = delete;
  PyHeap& operator=(const PyHeap&) = delete;
  ~PyHeap() {
    for (auto& v : values_) {
      v->items.clear();
      v->entries.clear();
    }
  }
  Py make(PyValue::Kind kind) {
    auto v = std::make_shared<PyValue>();
    v->kind = kind;
    values_.push_back(v);
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

 private:
  std::vector<Py> values_;
};

/// "None", "a dict of 3 entries", "the Python name torch.FloatStorage", ... for messages.
std::string describe(const Py& v);

// ------------------------------------------------------------------------------------------------ unpickler

/// Tensor subclass records nest one rebuild call inside another; real files nest one or two. The bound keeps a
/// hostile file from recursing until the stack overflows.
constexpr int kMaxRebuildNesting = 32;

/// Runs the pickle virtual machine over data[pos...] up to STOP, for the opcodes of protocols 2 to 5. Globals are
/// never imported: calling one yields a dict (OrderedDict), a tensor (the torch rebuild functions) or an opaque object.
class Unpickler {
 public:
  using PersistentLoad = std::function<Py(const Py& pid)>;

  Unpickler(PyHeap& heap, const std::string& path, std::string_view data, size_t pos, PersistentLoad persistent_load)
      : heap_(heap), path_(path), data_(data), pos_(pos), persistent_load_(std::move(persistent_load)) {}

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
  Py call(const Py& callable, const Py& args, int depth = 0);
  Py rebuild_tensor(const std::vector<Py>& args);

  PyHeap& heap_;
  const std::string& path_;
  std::string_view data_;
  size_t pos_;
  PersistentLoad persistent_load_;
  std::vector<Py> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Py> memo_;
};

}  // namespace medssl::weights::torch_save
